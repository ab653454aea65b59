#pragma once
// Synchronized batch normalization: batch_norm's training statistics over the examples of every
// rank of a data-parallel job, not only this rank's (PyTorch's nn.SyncBatchNorm; Ioffe & Szegedy
// 2015, Algorithm 1, over the global batch). `train.sync_batch_norm`, docs/distributed.md.
//
// While a SyncBatchNorm scope is alive on a thread, ops::batch_norm in training mode (only) calls
// sync_batch_norm with its communicator. The forward pass sums each channel's values, squares and
// count over the ranks (one MPI_Allreduce of 2C + 1 doubles) and normalizes with the global mean
// and biased variance; the backward pass sums sum(dy) and sum(dy * x_hat) over the ranks (2C
// doubles) for the input's gradient
//   dx = weight / sqrt(var + eps) * (dy - mean_global(dy) - x_hat * mean_global(dy * x_hat)),
// while weight and bias get this rank's sums (the data-parallel reduction adds the ranks'). Every
// rank must run the same batch norms in the same order, forward and backward. Evaluation (eval
// mode: the running statistics) is never synchronized.
//
//   { SyncBatchNorm scope(Communicator::world()); loss = model.forward(part).loss; loss.backward();
//   }

#include "framework/communicator.h"
#include "framework/tensor.h"

namespace heed::ops {

class SyncBatchNorm {
 public:
  explicit SyncBatchNorm(const Communicator& comm);
  ~SyncBatchNorm();
  SyncBatchNorm(const SyncBatchNorm&) = delete;
  SyncBatchNorm& operator=(const SyncBatchNorm&) = delete;
  /// The communicator of this thread's innermost scope, or nullptr.
  static const Communicator* active();

 private:
  const Communicator* outer_;
};

/// batch_norm's training mode (framework/ops/batch_norm.h: shapes, running statistics' update
/// with the global count) with the statistics of every rank of `comm`. Throws heed::Error when
/// the ranks together have one value per channel or fewer.
Tensor sync_batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, const Communicator& comm,
                       float momentum, float eps);

}  // namespace heed::ops

#pragma once
// Batch normalization (Ioffe & Szegedy 2015, Algorithm 1) through oneDNN's
// batch_normalization_forward (training and inference) and batch_normalization_backward,
// cached per shape: PyTorch's F.batch_norm.

#include "framework/tensor.h"

namespace heed::ops {

/// x [batch, channels, *] (2-D to 5-D) -> the same shape,
///   y = (x - mean) / sqrt(var + eps) * weight + bias          (per channel; eq. in Alg. 1)
/// Training: mean and the biased var over batch and * are the batch's, and when running_mean and
/// running_var [channels] are given they are updated in place as PyTorch does,
///   running_mean = (1 - momentum) * running_mean + momentum * mean,
///   running_var  = (1 - momentum) * running_var  + momentum * var * n / (n - 1)   (unbiased),
/// with n = batch * prod(*). Eval (training false): running_mean and running_var are used instead
/// and left alone. weight and bias [channels] are both given (affine) or both undefined.
/// Inside a SyncBatchNorm scope (framework/ops/sync_batch_norm.h), training takes the statistics
/// of every rank's batch. Throws heed::Error naming the shapes on a channel mismatch, on missing
/// running statistics in eval, and (as PyTorch) when training sees only one value per channel.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, float momentum = 0.1f,
                  float eps = 1e-5f);

}  // namespace heed::ops

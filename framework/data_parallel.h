#pragma once
// DataParallel: one optimizer step's gradient over a global batch cut into micro-batches and
// spread over the ranks of a job (framework/communicator.h), equal to the gradient one process
// takes over the whole batch. docs/distributed.md.
//
// The global batch (train.batch_size examples in the loader's order, the same on every rank) is
// cut into K = train.micro_batches consecutive parts, the first n % K of them one example larger;
// rank r of N computes parts [r K / N, (r + 1) K / N), one after the other: forward, then
// backward of the part's loss times its count (examples, or real tokens for a token model: the
// part's sum), its gradient set aside. The step's gradient is the sum over all K parts divided by
// the total count: the mean over the global batch whatever K and N are, up to the order of the
// additions. (K = 1 on one rank is the plain step, which never comes here.)
//
// Randomness: dropout and every layer that samples from the run's generator draw, for part k of
// step s, from a stream keyed by (the run's generator's state, s, k), so a part's masks are the
// same on whichever rank computes it. The run's generator itself does not move during a step: it
// still draws each epoch's data order as it does without micro-batches (for a model that draws
// nothing else, the same order).
//
// Reduction: each rank's sum by MPI_Iallreduce in buckets of consecutive parameters, from the last
// to the first, each started as soon as the last part's backward pass has made its gradients final
// (autograd's GradReadyHook), in bucket order on every rank, so that communication overlaps the
// rest of the backward pass as in PyTorch's DDP (the order of additions is MPI's). Or, with
// `deterministic`, after the backward pass, a fold in part order: rank 0 adds its parts' gradients
// one by one and sends the sum to rank 1, which adds its own and passes it on; the last rank sends
// the result to all. That is the order in which one process adds its K parts, so with the same K, N
// ranks and one process end bit for bit equal (tests/framework/test_distributed.cpp). It costs N
// sequential hops, and each part's gradient kept apart.
//
// What is not the single-process computation: batch normalization normalizes each part by its
// own statistics (unless `sync_batch_norm`: then, with one part per rank, by the global batch's,
// except in a last batch smaller than the rank count), and every rank's running statistics (all
// float buffers: also a REINFORCE baseline) are rank 0's after each step, as PyTorch's
// DistributedDataParallel does by default (broadcast_buffers).
//
// A model that carries its state across batches (data.carry_state: row r of each batch continues
// stream r) is given, per part, its rows of that state, and leaves its rows of the next; after
// each step the ranks exchange their rows, so that every rank holds the whole state, which
// checkpoints and evaluations read as on one process (carry_state()).
//
//   DataParallel parallel(world, micro_batches, deterministic, sync_bn, model, gen, params);
//   parallel.broadcast_state();  // every rank starts from rank 0's parameters
//   ParallelStep s = parallel.step(dataset, loader.next_indices(), step, stop_requested(), ms);
//   if (s.finite) optimizer.step();   // params' gradients are the global batch's mean

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "framework/communicator.h"
#include "framework/data.h"
#include "framework/model.h"
#include "framework/random.h"

namespace heed {

/// What one step agreed on over every rank.
struct ParallelStep {
  double loss = 0;   // the model's loss over the global batch (total over total count)
  double count = 0;  // examples or real tokens in the global batch
  std::map<std::string, Metric> metrics;  // totals over the global batch
  bool finite = true;      // every part's loss was finite; else no gradient was reduced or set
  bool stop = false;       // some rank was asked to stop (a signal)
  int64_t elapsed_ms = 0;  // the longest elapsed time any rank gave
  /// Seconds this rank waited on the others after its last backward pass: the reductions that
  /// the backward pass did not hide, the agreement, the buffers' broadcast (0 on one process).
  double communication_s = 0;
  /// Every rank's communication_s summed over the steps before this one (seconds, rank order):
  /// whether rank 0 waits on a slower rank or every rank on the reduction.
  std::vector<double> waited_s_by_rank;
};

class DataParallel {
 public:
  /// Steps of `model`, whose layers draw from `gen`, for the gradients of `params` (the
  /// optimizer's); with `sync_batch_norm`, batch norms take the statistics of the global batch
  /// (framework/ops/sync_batch_norm.h). Throws heed::Error unless micro_batches >= 1 and a
  /// multiple of comm.size(), and equal to it with sync_batch_norm (parts computed one after the
  /// other cannot share their statistics).
  DataParallel(const Communicator& comm, int64_t micro_batches, bool deterministic,
               bool sync_batch_norm, Model& model, Generator& gen, const StateDict& params);

  /// Part k's examples [first, last) of a batch of n cut into k_parts.
  static std::pair<int64_t, int64_t> part(int64_t n, int64_t k_parts, int64_t k);

  /// Every rank's parameters and float buffers become rank 0's.
  void broadcast_state() const;
  /// Step `step_number` (the run's count of steps before it): computes this rank's parts of the
  /// batch `indices` of `data`, agrees with the other ranks on the totals, the stop request
  /// (`stop`: this rank's) and the elapsed time (`elapsed_ms`: this rank's), and, when every
  /// loss was finite, leaves on each parameter its gradient of the mean loss over the global
  /// batch. Float buffers are rank 0's afterwards.
  ParallelStep step(const Dataset& data, const std::vector<int64_t>& indices, int64_t step_number,
                    bool stop, int64_t elapsed_ms);

  int64_t micro_batches() const { return k_parts_; }

  /// Cuts `carrier`'s carried state among the parts by rows (dimension 1 of every tensor, the
  /// batch's streams, as in PyTorch's h_n [num_layers, batch, hidden]) at every step from now on.
  void carry_state(StateCarryingModel& carrier) { carrier_ = &carrier; }

 private:
  /// A run of consecutive parameters [first, last) whose gradients are reduced in one message.
  struct Bucket {
    size_t first, last;
    size_t waiting;  // its parameters whose gradients are not final yet, this step
  };
  /// This rank's parts of a step: its totals, and the gradients it left in sum_ or parts_.
  struct Local {
    double count = 0, loss_sum = 0;
    std::map<std::string, Metric> metrics;
    bool finite = true;
    std::vector<StateDict> carried;  // each part's state at its end (carry_state)
  };
  // About 1 MiB a bucket: small enough that the first reduction starts early in the backward pass
  // of heed's models (0.1 to 2 M parameters), large enough that a message's latency is small.
  static constexpr int64_t kBucketFloats = 1 << 18;

  void plan();
  /// Parameter i's gradient into `into` (added, or copied over), and off the parameter.
  void fold(size_t i, std::vector<float>& into, bool add);
  void ready(size_t i);
  void finish_buckets();
  void chain_reduce(size_t local_parts);
  Local compute_parts(const Dataset& data, const std::vector<int64_t>& indices,
                      int64_t step_number);
  ParallelStep agree(const Local& local, bool stop, int64_t elapsed_ms) const;
  StateDict gather_carried(const std::vector<StateDict>& parts, int64_t rows) const;

  const Communicator& comm_;
  int64_t k_parts_;
  bool deterministic_, sync_batch_norm_;
  Model& model_;
  StateCarryingModel* carrier_ = nullptr;
  Generator& gen_;
  StateDict params_;
  std::vector<float> sum_;                 // the flat gradient: this rank's, then every rank's
  std::vector<std::vector<float>> parts_;  // deterministic: each local part's gradient apart
  std::vector<int64_t> offsets_;           // parameter i at [offsets_[i], offsets_[i + 1])
  std::unordered_map<const TensorImpl*, size_t> index_;  // a parameter's position
  std::vector<Bucket> buckets_;                          // from the last parameters to the first
  std::vector<size_t> bucket_of_;
  std::vector<bool> folded_;  // this step's, with the overlapped reduction
  size_t next_bucket_ = 0;    // the next bucket to start, in order
  std::unique_ptr<ReductionQueue> queue_;
  std::pair<int, int64_t> stall_{-1, -1};  // HEED_TEST_STALL's rank and step
  double waited_s_ = 0;                    // this rank's communication_s, summed
};

}  // namespace heed

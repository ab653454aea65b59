#pragma once
// Loader: batches of a Dataset in a shuffled order that a resumed run reproduces exactly.
//
// At the start of each epoch the loader draws one 64-bit key from the run's generator and derives
// that epoch's order from it (Fisher-Yates with a generator seeded by the key). Its whole state is
// (key, position in the epoch), saved in checkpoints, so a run resumed mid-epoch serves the
// remaining batches of the same order. Batch i is always examples [i * batch_size, (i + 1) *
// batch_size) of the order, so the position (examples served) says which batch comes next.
//
// Length bucketing (Bucketing) only changes the order, derived from the same key, so the state
// and the checkpoint stay the same.

#include <memory>
#include <vector>

#include "framework/data.h"

namespace heed {

class Generator;

struct LoaderState {
  uint64_t epoch_key = 0;
  int64_t position = 0;  // examples already served this epoch
};

/// Length bucketing, as torchtext's BucketIterator (its `pool` of 100 batches) and OpenNMT-py's
/// `pool_factor` do it: the epoch's shuffled order is cut into pools of `pool_batches` batches,
/// each pool is sorted by example length (Dataset::length; ties keep their shuffled order) and cut
/// into batches, and the batches are shuffled over the whole epoch, the one short batch (if any)
/// staying last. A batch then holds examples of similar length and wastes little padding, while
/// which examples meet and the batch order stay random. Needs a variable-length dataset.
struct Bucketing {
  bool by_length = false;
  int64_t pool_batches = 100;
};

class Loader {
 public:
  /// Throws heed::Error unless batch_size > 0, the dataset is not empty and, with
  /// bucketing.by_length, the dataset is variable-length and pool_batches > 0.
  Loader(std::shared_ptr<Dataset> dataset, int64_t batch_size, bool shuffle, bool drop_last = false,
         Bucketing bucketing = {});

  /// Begins a new epoch: draws the key for its order from `gen`.
  void start_epoch(Generator& gen);
  /// True when the current epoch has no batch left.
  bool epoch_done() const;
  Batch next();
  /// The examples next() would serve (their indices into the dataset), advancing as it does.
  std::vector<int64_t> next_indices();
  int64_t batches_per_epoch() const;

  LoaderState state() const { return state_; }
  /// Restores a saved state; the order is recomputed from its key.
  void restore(const LoaderState& state);

 private:
  void build_order();
  void bucket_order(Generator& gen);
  std::shared_ptr<Dataset> dataset_;
  int64_t batch_size_;
  bool shuffle_, drop_last_;
  Bucketing bucketing_;
  std::vector<int64_t> lengths_;  // each example's, with bucketing
  LoaderState state_;
  std::vector<int64_t> order_;
};

}  // namespace heed

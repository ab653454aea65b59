#pragma once
// Loader: batches of a Dataset in a shuffled order that a resumed run reproduces exactly.
//
// At the start of each epoch the loader draws one 64-bit key from the run's generator and derives
// that epoch's permutation from it (Fisher-Yates with a generator seeded by the key). Its whole
// state is (key, position in the epoch), saved in checkpoints, so a run resumed mid-epoch serves
// the remaining batches of the same permutation.

#include <memory>
#include <vector>

#include "framework/registry.h"

namespace heed {

class Generator;

struct LoaderState {
  uint64_t epoch_key = 0;
  int64_t position = 0;  // examples already served this epoch
};

class Loader {
 public:
  /// Throws heed::Error unless batch_size > 0.
  Loader(std::shared_ptr<Dataset> dataset, int64_t batch_size, bool shuffle,
         bool drop_last = false);

  /// Begins a new epoch: draws the key for its order from `gen`.
  void start_epoch(Generator& gen);
  /// True when the current epoch has no batch left.
  bool epoch_done() const;
  Batch next();
  int64_t batches_per_epoch() const;

  LoaderState state() const { return state_; }
  /// Restores a saved state; the permutation is recomputed from its key.
  void restore(const LoaderState& state);

 private:
  void build_order();
  std::shared_ptr<Dataset> dataset_;
  int64_t batch_size_;
  bool shuffle_, drop_last_;
  LoaderState state_;
  std::vector<int64_t> order_;
};

}  // namespace heed

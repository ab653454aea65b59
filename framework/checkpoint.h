#pragma once
// Checkpoints: one HDF5 file holding everything a run needs to continue exactly where it stopped.
//
// Layout (docs/checkpoint.md): /model/<state_dict key> and /optimizer/<state key> datasets,
// /rng/state (uint64 [4], the run's generator), /progress/{epoch, step, epoch_key, position,
// elapsed_ms}, /recipe (the resolved recipe, JSON text), /train_state (the schedule's and early
// stopping's state, JSON text; format_version 2) and root attributes format="heed-checkpoint",
// format_version=2. Version 1 files (without /train_state) still load, with an empty
// train_state. h5py and h5dump read it as it is.
//
// save_checkpoint writes to a temporary file beside the target, syncs it to disk and renames it
// over the target, so a crash or kill at any moment leaves either the old file or the new one,
// never a half-written one.

#include <array>
#include <string>

#include "framework/module.h"

namespace heed {

namespace h5 {
class File;
}

/// Where a run stands: epochs completed, optimizer steps taken, and the loader's place in the
/// current epoch (its order key and the examples already served).
struct Progress {
  int64_t epoch = 0;
  int64_t step = 0;
  uint64_t epoch_key = 0;
  int64_t position = 0;
  int64_t elapsed_ms = 0;  // training wall time so far, across resumes
  /// True once the current epoch's order key is drawn (position 0 alone cannot tell: a run
  /// stopped right after drawing it must not draw a second key on resume). format_version 3.
  bool epoch_started = false;
  /// The size of metrics.jsonl when the checkpoint was written: a resume cuts the file back to
  /// it, so each logged line appears once. -1 when unknown (format_version 1 and 2).
  int64_t metrics_bytes = -1;
};

struct Checkpoint {
  StateDict model;
  StateDict optimizer;
  std::array<uint64_t, 4> rng{};
  Progress progress;
  std::string recipe;  // JSON text
  /// JSON text: {"schedule": LRScheduler::state_dict(), "early_stopping": ..., ...}; "" in a
  /// version 1 file.
  std::string train_state;
};

/// Writes each tensor as dataset `group/<name>` (float32 or int64, its shape; the names keep their
/// dots). Shared by checkpoints and `heed inspect` files.
void write_tensors(h5::File& file, const std::string& group, const StateDict& tensors);
/// Writes `ckpt` atomically to `path`. Throws heed::Error naming the file on failure, leaving any
/// previous file at `path` intact.
void save_checkpoint(const std::string& path, const Checkpoint& ckpt);
/// Reads a checkpoint. Throws heed::Error naming the file and what is wrong (missing, not HDF5,
/// truncated, not a heed checkpoint, a missing group or dataset).
Checkpoint load_checkpoint(const std::string& path);

}  // namespace heed

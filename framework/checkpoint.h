#pragma once
// Checkpoints: one HDF5 file holding everything a run needs to continue exactly where it stopped.
//
// Layout (docs/checkpoint.md), format_version 3: /model/<state_dict key> and
// /optimizer/<state key> datasets (float32 or int64; /optimizer may be an empty group),
// /rng/state (uint64 [4], the run's generator; with train.seeds also /rng/data_state, the data
// order's), /progress/{epoch, step, epoch_key, position,
// elapsed_ms, epoch_started, metrics_bytes} (int64 scalars), /recipe (the resolved recipe, JSON
// text), /train_state (the schedule's and early stopping's state, JSON text), optionally
// /carried_state/<name> (float32: the state a model carries into its next batch, framework/
// model.h StateCarryingModel; present exactly when the run carries state), optionally
// /averaged_model/<parameter name> (float32: train.weight_average's average, once it holds one)
// and root attributes format="heed-checkpoint", format_version=3. Versions 1 and 2 still load.
//
// save_checkpoint builds the file in memory and writes it with h5::write_atomically: a 512-byte
// heed header with the file's length and CRC-32, then plain HDF5 that h5py and h5dump read as it
// is; a crash or kill at any moment leaves either the old file or the new one. load_checkpoint
// verifies the header, requires every group, and range-checks every value, so a corrupt or
// edited file is an error naming the file and the dataset, never a silently different run.
//
//   save_checkpoint("runs/x/checkpoints/last.h5", ckpt);
//   Checkpoint all = load_checkpoint("runs/x/checkpoints/last.h5");            // --resume
//   Checkpoint w = load_checkpoint(path, CheckpointPart::weights);               // heed eval

#include <array>
#include <optional>
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
  /// The data order's own generator, for a run with train.seeds; nullopt otherwise (no
  /// /rng/data_state dataset).
  std::optional<std::array<uint64_t, 4>> data_rng;
  Progress progress;
  std::string recipe;  // JSON text
  /// JSON text: {"schedule": LRScheduler::state_dict(), "early_stopping": ..., ...}; "" in a
  /// version 1 file.
  std::string train_state;
  /// The state the model carries into the next batch (data.carry_state; empty at an epoch's
  /// start); nullopt for a run that carries none, which writes no /carried_state group.
  std::optional<StateDict> carried_state;
  /// The run's averaged weights by parameter name (train.weight_average, framework/
  /// weight_average.h) once it has averaged any; nullopt otherwise (no /averaged_model group).
  std::optional<StateDict> averaged_model;
};

/// What load_checkpoint reads, and so requires.
enum class CheckpointPart {
  /// Everything a resume needs: /model, /optimizer, /rng/state, every /progress dataset, /recipe
  /// and /train_state (version 3; versions 1 and 2 lack what they never had), and /carried_state
  /// when the file has it.
  all,
  /// /model, and /averaged_model when the file has it (heed eval, init_from, heed show's
  /// parameter table): the other groups are neither read nor required, and the other fields of
  /// the Checkpoint keep their defaults.
  weights,
};

/// Writes each tensor as dataset `group/<name>` (float32 or int64, its shape; the names keep their
/// dots). Shared by checkpoints and `heed inspect` files.
void write_tensors(h5::File& file, const std::string& group, const StateDict& tensors);
/// Writes `ckpt` atomically to `path` (format_version 3). Throws heed::Error naming the file,
/// leaving any previous file at `path` intact, on a failed write (disk full, permission) and on
/// values load_checkpoint would refuse (a negative step, an all-zero generator state, ...);
/// tensors are written as they are, finite or not.
void save_checkpoint(const std::string& path, const Checkpoint& ckpt);
/// Reads a checkpoint, or the `part` of it asked for. Throws heed::Error naming the file and
/// what is wrong: missing, empty, truncated, checksum mismatch (a file heed wrote and something
/// changed), neither heed nor HDF5, not a heed checkpoint, a format_version other than 1 to 3,
/// a missing group or dataset, a tensor neither float32 nor int64, a float tensor of /model or
/// /optimizer holding NaN or infinity, a progress value out of range (step, epoch, position,
/// elapsed_ms negative; metrics_bytes below -1; epoch_started not 0 or 1; a position inside an
/// epoch not started), /rng/state not 4 words or all zero, /recipe or /train_state not a JSON
/// object, a float tensor of /carried_state or /averaged_model holding NaN or infinity (their names
/// and shapes are the model's to check). A file without the heed header (written by h5py, say to
/// convert weights) is read without the checksum but with every other check.
Checkpoint load_checkpoint(const std::string& path, CheckpointPart part = CheckpointPart::all);

}  // namespace heed

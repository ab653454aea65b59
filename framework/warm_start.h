#pragma once
// Warm start: a run's model begins from the weights of another file instead of its initializer
// (fine-tuning, a longer run from a short one's result). The recipe's top-level key
//
//   "init_from": "runs/short/checkpoints/last.h5"
//   "init_from": {"path": "pretrained.h5", "strict": false}
//
// names an HDF5 file whose /model group holds the state dict, one dataset per key: a heed
// checkpoint, or a file written by h5py from a PyTorch state_dict (docs/recipes.md, "init_from").
// Only the weights are taken; the optimizer, schedule and data position start fresh. The path is
// relative to the working directory.
//
// strict (the default) loads through Module::load_state_dict: every parameter and buffer must be
// there with its shape, or nothing is loaded and the error lists the missing, unexpected and
// mis-shaped keys. strict false loads what matches by name, shape and dtype and reports every key
// it skipped with the reason.
//
//   const WarmStartReport report = warm_start({"pretrained.h5", false}, model);
//   report.to_json();  // {"kind": "init_from", "path": ..., "loaded": 10, "skipped": [...]}

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "framework/config.h"
#include "framework/module.h"

namespace heed {

/// The recipe's "init_from".
struct InitFrom {
  std::string path;
  bool strict = true;
  /// Reads "init_from" of the recipe's root (a path, or {"path", "strict"}); nullopt when absent.
  /// Throws heed::Error naming "init_from" (or "init_from.<key>") on a wrong type or unknown key.
  static std::optional<InitFrom> from_config(const Config& root);
};

/// A key warm start did not load, and why ("not in the file", "not in the model", "shape [10, 64]
/// in the file, [5, 64] in the model").
struct SkippedKey {
  std::string key, reason;
};

/// What warm_start did; to_json() is the line `heed train` writes to metrics.jsonl.
struct WarmStartReport {
  std::string path;
  bool strict = true;
  int64_t loaded = 0;  // tensors copied into the model
  std::vector<SkippedKey> skipped;
  /// {"kind": "init_from", "step": 0, "path", "strict", "loaded", "skipped": [{"key", "reason"}]}
  nlohmann::json to_json() const;
};

/// The tensors of `path`'s /model group, keyed as a state dict: float32 or int64 datasets, their
/// names the keys (nested groups join with "."). Reads a heed checkpoint through load_checkpoint,
/// with its checks. Throws heed::Error naming the file (and, for a relative path, the working
/// directory it is relative to) when it is missing, not HDF5, has no /model group, or holds a
/// dataset of another type.
StateDict read_model_weights(const std::string& path);

/// Copies the weights of `from.path` into `model` (see the top of this file). Prints one line to
/// `log` per key it skipped when not strict. Throws heed::Error starting with "init_from <path>:"
/// when the file cannot be read or, when strict, does not match the model (nothing is changed).
WarmStartReport warm_start(const InitFrom& from, Module& model, std::ostream& log);

/// The Trainer's one call after it builds the model: reads the recipe's "init_from" and applies it
/// when the run starts from scratch, i.e. when `run_dir` holds no checkpoints/last.h5 (a resumed
/// run, `heed eval` and `heed inspect` restore that checkpoint, which has the weights, and must
/// not need the init_from file any more). Skip lines go to stderr. Returns the report's JSON for
/// metrics.jsonl, or null when nothing was applied.
nlohmann::json apply_init_from(const Config& root, Module& model, const std::string& run_dir);

}  // namespace heed

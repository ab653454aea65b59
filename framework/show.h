#pragma once
// `heed show PATH`: what a checkpoint holds, for a person (a text report) or a script (--json),
// without building the model or reading any data (docs/checkpoint.md, "Looking into a
// checkpoint").
//
// PATH is a checkpoint file or a run directory (then its checkpoints/last.h5). The run directory
// (PATH, or the folder above a file inside a run's checkpoints/) adds summary.json's status and
// the last evaluation of metrics.jsonl at or before the checkpoint's step.
//
//   const nlohmann::json report = describe_checkpoint("runs/quick");
//   std::cout << format_checkpoint_report(report);
//
// The report's keys: file, format_version, run {dir, status, steps} (when known), progress {epoch,
// step, position, elapsed_s}, metrics {last_eval, best_eval, early_stopping} (those known),
// recipe {description, data, model, encoder | layers, optimizer, lr, schedule, epochs,
// batch_size, seed, init_from}, model {tensors: [{name, shape, dtype, numel, norm}], count,
// elements, float32_elements, int64_elements}, optimizer {count, elements, states {name: {count,
// elements}}, step}.

#include <nlohmann/json.hpp>
#include <string>

namespace heed {

/// The report of the checkpoint `path` names (see above). Throws heed::Error naming the file when
/// the checkpoint is missing or unreadable (load_checkpoint's errors), and naming the run when a
/// run directory has no checkpoints/last.h5. A missing or corrupt summary.json or metrics.jsonl is
/// not an error: what cannot be read is left out.
nlohmann::json describe_checkpoint(const std::string& path);

/// The report as aligned text: a header of progress, metrics and recipe, a table of the model's
/// tensors (name, shape, dtype, elements, L2 norm), the totals and a line on the optimizer state.
std::string format_checkpoint_report(const nlohmann::json& report);

}  // namespace heed

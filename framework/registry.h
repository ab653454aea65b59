#pragma once
// The registries: framework/ declares what the trainer needs, and each folder implements it as one
// explicit list (layers/registry.cpp, optim/registry.cpp, datasets/registry.cpp), so framework/
// never includes a concrete layer, optimizer or dataset, and no static-initialization trick can be
// dropped by the linker.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "framework/config.h"
#include "framework/data.h"
#include "framework/error.h"
#include "framework/model.h"
#include "framework/optimizer.h"

namespace heed {

class Generator;

/// One registered name with its one-line description and options, for `heed list`.
struct RegistryEntry {
  std::string kind, name, description, options;
};

/// What `heed list` adds to an option Config::describe recorded, where the recorded default or
/// range alone would mislead: `fallback` (if not empty) replaces the printed default (a default
/// derived from the run, "the run's length", rather than describe()'s placeholder), and `text`
/// is added after the range ("0: no dev split"). A note on a key describe() did not record (one
/// the code reads only when present, such as warmup's "after") adds it.
struct OptionNote {
  std::string key, fallback, text;
};

/// `docs` with `notes` applied, in the order the code reads the keys (added keys last).
inline std::vector<OptionDoc> with_notes(std::vector<OptionDoc> docs,
                                         const std::vector<OptionNote>& notes) {
  for (const OptionNote& n : notes) {
    auto it =
        std::find_if(docs.begin(), docs.end(), [&](const OptionDoc& d) { return d.key == n.key; });
    if (it == docs.end()) it = docs.insert(docs.end(), OptionDoc{n.key, "", ""});
    if (!n.fallback.empty()) it->fallback = n.fallback;
    if (!n.text.empty()) it->constraint += (it->constraint.empty() ? "" : "; ") + n.text;
  }
  return docs;
}

/// The entry of `entries` (each with an `about.name`) named `name`; throws heed::RecipeError
/// naming the recipe path, the nearest valid name and all of them otherwise.
template <class Entry>
const Entry& find_entry(const std::vector<Entry>& entries, const std::string& name,
                        const std::string& what, const std::string& path) {
  std::vector<std::string> names;
  for (const Entry& e : entries) {
    if (e.about.name == name) return e;
    names.push_back(e.about.name);
  }
  throw unknown_name_error(what, path, name, names);
}

/// The `about` of every entry, for `heed list`.
template <class Entry>
std::vector<RegistryEntry> abouts(const std::vector<Entry>& entries) {
  std::vector<RegistryEntry> out;
  for (const Entry& e : entries) out.push_back(e.about);
  return out;
}

/// The batch sizes a run serves its data in (train.batch_size, train.eval_batch_size). A dataset
/// laid out as streams (DataInfo::carry_state) cuts its train split into `train` streams and its
/// dev and test splits into `eval` streams; the others ignore them.
struct BatchSizes {
  int64_t train = 0, eval = 0;  // 0: not given, which a dataset laid out as streams refuses
};

/// From the recipe's "data" section; an error names the section's path.
DataSplits build_dataset(const Config& config, const BatchSizes& batch_sizes = {});
/// The "data" section checked as build_dataset checks it, and the DataInfo it would give, without
/// reading any data: what validation needs to build the model (tests, --dry-run's checks).
DataInfo dataset_info(const Config& config);
/// From the recipe's "model" section.
std::shared_ptr<Model> build_model(const Config& config, const DataInfo& info, Generator& gen);
/// "loss" and the names of the metrics `model` returns (e.g. "accuracy"), from one forward on a
/// batch of two zero examples in eval mode (`gen` is left as it was, and a StateCarryingModel
/// carries no state afterwards, as after build_model), and for a SequenceTransducer the error
/// rates of its decoded outputs ("per", "wer"): what an evaluation reports besides the trainer's
/// own counters, for checking a watched metric when the recipe is read.
std::vector<std::string> model_metric_names(Model& model, const DataInfo& info, Generator& gen);
/// From the recipe's "optimizer" section, over the model's named parameters.
std::unique_ptr<Optimizer> build_optimizer(const Config& config, const StateDict& params);

/// From the recipe's "schedule" section (an object, a list, or absent for a constant lr) over
/// `optimizer`'s groups; `total_steps` and `total_epochs` are the run's length, the defaults of
/// T_max and total_steps (optim/registry.cpp, docs/optim.md). With `metrics` (the numbers an
/// evaluation reports), reduce_on_plateau's metric must be one of them.
std::unique_ptr<LRScheduler> build_scheduler(const Config& root, Optimizer& optimizer,
                                             int64_t total_steps, int64_t total_epochs,
                                             const std::vector<std::string>& metrics = {});

/// From the recipe's "train.early_stopping" object (optim/registry.cpp, docs/optim.md). With
/// `metrics` (the numbers an evaluation reports), the watched metric must be one of them.
std::unique_ptr<EarlyStopping> build_early_stopping(const Config& config,
                                                    const std::vector<std::string>& metrics = {});

std::vector<RegistryEntry> list_datasets();
/// Every model with the options its reader records (Config::describe): layers/registry.cpp.
std::vector<RegistryEntry> list_models();
/// The parts models are assembled from, kind by kind (encoders, poolings, attention variants,
/// alignments, the image classifier's layers), each with the options its own from_config reads
/// (Config::describe): layers/registry.cpp.
std::vector<RegistryEntry> list_parts();
std::vector<RegistryEntry> list_optimizers();
std::vector<RegistryEntry> list_schedules();

}  // namespace heed

// Every committed recipe, mutated one value at a time: each leaf replaced by a bad value in turn,
// and an unknown key added to each object. Each mutant is validated as `heed train --dry-run`
// validates it (train options, data options, model built and probed, optimizer, schedule, early
// stopping, output), with the data section's DataInfo instead of the data itself, so that
// thousands of mutants take seconds. Nothing may crash, and every rejection must name the
// mutated key's path or a path that encloses it.

#include <doctest/doctest.h>
#include <omp.h>

#include <chrono>
#include <filesystem>
#include <map>

#include "framework/files.h"
#include "framework/random.h"
#include "framework/recipe.h"
#include "framework/registry.h"
#include "framework/trainer.h"
#include "optim/early_stopping.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"

namespace fs = std::filesystem;
using namespace heed;

namespace {

// Fashion-MNIST's training set, the length the trainer's schedules count with.
constexpr int64_t kTrainExamples = 60000;

// The run's length in steps as the trainer computes it, saturating instead of overflowing on
// mutated epochs or batch sizes.
int64_t total_steps(const TrainOptions& o, const Config& data) {
  const int64_t limit = data.json().value("max_train_samples", int64_t{0});
  const int64_t examples = limit > 0 ? std::min(limit, kTrainExamples) : kTrainExamples;
  const int64_t batches = examples / o.batch_size + (examples % o.batch_size != 0);
  int64_t steps = 0;
  if (__builtin_mul_overflow(o.epochs, batches, &steps)) steps = kMaxCount;
  return o.max_steps > 0 ? std::min(o.max_steps, steps) : steps;
}

// What a recipe file's mutants share, most of them changing one other section: models already
// built from a model section (its JSON and the data shape; the optimizer needs only the
// parameters), and the DataInfo of a data section (reading CMUdict or the text corpus again for
// each mutant took most of the test's time).
struct ModelCache {
  std::map<std::string, std::shared_ptr<Model>> models;
  std::map<std::string, DataInfo> infos;
};

std::shared_ptr<Model> cached_model(const Config& config, const DataInfo& info, Generator& gen,
                                    ModelCache& cache) {
  const std::string key = config.json().dump() + shape_str(info.input_shape);
  auto it = cache.models.find(key);
  if (it == cache.models.end())
    it = cache.models.emplace(key, build_model(config, info, gen)).first;
  return it->second;
}

// Unread keys of a data section met before were refused then (a rejection is never cached).
DataInfo cached_info(const Config& data, ModelCache& cache) {
  const std::string key = data.json().dump();
  auto it = cache.infos.find(key);
  if (it == cache.infos.end()) it = cache.infos.emplace(key, dataset_info(data)).first;
  return it->second;
}

// What the Trainer's constructor checks, without reading the data.
void validate(const nlohmann::json& recipe, ModelCache& cache) {
  const Config root(recipe, "");
  root.get<std::string>("description", "");
  const Config train = root.child("train");
  const TrainOptions options = TrainOptions::from_config(train);
  const Config data = root.child("data");
  const DataInfo info = cached_info(data, cache);
  Generator gen(options.seed);
  const std::shared_ptr<Model> model = cached_model(root.child("model"), info, gen, cache);
  const auto optimizer = build_optimizer(root.child("optimizer"), model->named_parameters());
  // An evaluation reports the model's metrics and the trainer's counters.
  std::vector<std::string> metrics = model_metric_names(*model, info, gen);
  metrics.insert(metrics.end(), {"epoch", "step", "samples", "elapsed_s"});
  build_scheduler(root, *optimizer, total_steps(options, data), options.epochs, metrics);
  if (train.has("early_stopping")) build_early_stopping(train.child("early_stopping"), metrics);
  const Config output = root.child("output");
  output.get<std::string>("dir", "");
  output.finish();
  root.finish();
}

// A leaf (or an object) of a recipe file: its dotted path (list elements by index, as errors
// print them) and the steps of that path.
struct Leaf {
  std::string path;
  std::vector<std::string> keys;  // the path's steps
};

void collect(const nlohmann::json& v, std::vector<std::string>& keys, std::vector<Leaf>& leaves,
             std::vector<Leaf>& objects) {
  auto join = [](const std::vector<std::string>& k) {
    std::string p;
    for (size_t i = 0; i < k.size(); ++i) p += (i ? "." : "") + k[i];
    return p;
  };
  if (v.is_object()) objects.push_back({join(keys), keys});
  if (v.is_object() || v.is_array()) {
    size_t i = 0;
    for (const auto& [key, child] : v.items()) {
      keys.push_back(v.is_array() ? std::to_string(i++) : key);
      collect(child, keys, leaves, objects);
      keys.pop_back();
    }
    return;
  }
  leaves.push_back({join(keys), keys});
}

nlohmann::json& at(nlohmann::json& v, const std::vector<std::string>& keys) {
  nlohmann::json* node = &v;
  for (const std::string& k : keys) node = node->is_array() ? &(*node)[std::stoul(k)] : &(*node)[k];
  return *node;
}

// True when `message` names `path` or one of its enclosing paths, in quotes.
bool names_path(const std::string& message, const std::string& path) {
  std::string p = path;
  while (!p.empty()) {
    if (message.find("\"" + p + "\"") != std::string::npos) return true;
    const size_t dot = p.rfind('.');
    p = dot == std::string::npos ? "" : p.substr(0, dot);
  }
  return false;
}

struct Counts {
  int64_t mutants = 0, accepted = 0, rejected = 0, named_exactly = 0, named_enclosing = 0;
};

// Validates one mutant; a rejection must name `path` (or an enclosing path).
void check_mutant(const nlohmann::json& mutant, const fs::path& file, const std::string& path,
                  const std::string& what, ModelCache& cache, Counts& counts) {
  ++counts.mutants;
  std::string message;
  try {
    validate(resolve_recipe(mutant, file.string()), cache);
    ++counts.accepted;
    return;
  } catch (const Error& e) {
    message = e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK(file.filename().string()
               << ": " << path << " = " << what << " threw a non-heed exception: " << e.what());
    return;
  }
  ++counts.rejected;
  const bool exact = message.find("\"" + path + "\"") != std::string::npos;
  counts.named_exactly += exact;
  counts.named_enclosing += !exact && names_path(message, path);
  CHECK_MESSAGE(names_path(message, path), file.filename().string(), ": ", path, " = ", what,
                " was rejected without naming it: ", message);
}

}  // namespace

TEST_CASE("recipe mutations: every bad value is refused by its path or accepted, never a crash") {
  const std::vector<nlohmann::json> bad = {-1,
                                           0,
                                           std::numeric_limits<int64_t>::max(),
                                           1e12,
                                           1e300,
                                           "a string",
                                           nullptr,
                                           true,
                                           nlohmann::json::array(),
                                           nlohmann::json::object()};
  // Tiny probes: one thread spends nothing waiting on the others (the recipes say threads 1 too).
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto started = std::chrono::steady_clock::now();
  Counts counts;
  int files = 0;
  for (const auto& entry :
       fs::recursive_directory_iterator(fs::path(HEED_SOURCE_DIR) / "recipes")) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    const nlohmann::json original =
        parse_recipe_text(files::read(entry.path().string()), entry.path().string());
    std::vector<std::string> keys;
    std::vector<Leaf> leaves, objects;
    collect(original, keys, leaves, objects);
    ModelCache cache;  // per file: the unmutated model section is the one that repeats
    for (const Leaf& leaf : leaves)
      for (const nlohmann::json& value : bad) {
        nlohmann::json mutant = original;
        at(mutant, leaf.keys) = value;
        check_mutant(mutant, entry.path(), leaf.path, value.dump(), cache, counts);
      }
    for (const Leaf& object : objects) {
      nlohmann::json mutant = original;
      at(mutant, object.keys)["unknown_key"] = 1;
      const std::string path = object.path.empty() ? "unknown_key" : object.path + ".unknown_key";
      check_mutant(mutant, entry.path(), path, "(added)", cache, counts);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE(files, " recipes, ", counts.mutants, " mutants: ", counts.accepted, " accepted, ",
          counts.rejected, " rejected (", counts.named_exactly, " naming the mutated key, ",
          counts.named_enclosing, " an enclosing path), ", seconds, " s");
  omp_set_num_threads(threads);
  CHECK(files >= 29);
  CHECK(counts.rejected == counts.named_exactly + counts.named_enclosing);
}

// fuzz_recipe: the input is a recipe file as `heed train RECIPE --set ... --dry-run` reads it:
// heed::load_recipe (JSON, includes, --set overrides), then the Trainer's constructor, which
// validates every section and builds the model, optimizer and schedule (what --dry-run checks)
// from Fashion-MNIST's shapes, and loads init_from's weights. The dataset is a fake of eight
// examples (workspace.h) and init_from a checkpoint of another model: data.path and init_from are
// pointed at them, so the fuzzer cannot make heed read arbitrary files.
//
// Input format: the recipe's bytes up to the first NUL byte; after it, each NUL-separated chunk
// is one --set override ("train.epochs=3"). The recipe is written as input.json beside a copy of
// the repository's recipes (flattened, with each folder name linking back to the copy), so the
// includes of the committed recipes resolve ("fashion_mnist/rows_lstm.json",
// "rows_attention.json").
//
// heed::Error is the expected outcome of a bad recipe; anything else (a crash, a sanitizer report,
// another exception type such as nlohmann::json's or std::bad_alloc, a leak, a timeout, a malloc
// beyond -malloc_limit_mb) is a finding.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "framework/error.h"
#include "framework/recipe.h"
#include "framework/tensor.h"
#include "framework/trainer.h"
#include "json_mutator.h"
#include "workspace.h"

namespace {

namespace fs = std::filesystem;

// The committed recipes, every *.json of every folder in one directory, and a link named after
// each folder that points back to it: an include resolves whichever recipe's folder it was written
// for.
fs::path copy_recipes(const heed::fuzz::Workspace& workspace) {
  const fs::path out = workspace.dir().fs_path() / "recipes";
  fs::create_directory(out);
  for (const auto& entry : fs::recursive_directory_iterator(HEED_RECIPES_DIR)) {
    const fs::path target = out / entry.path().filename();
    if (entry.is_directory() && !fs::exists(target)) fs::create_directory_symlink(".", target);
    if (entry.is_regular_file() && !fs::exists(target)) fs::copy_file(entry.path(), target);
  }
  return out;
}

// A checkpoint for "init_from" to load: one of fuzz_checkpoint's seeds (another model's weights,
// so strict loading fails and strict false skips keys).
std::string copy_checkpoint(const heed::fuzz::Workspace& workspace) {
  const fs::path out = workspace.dir().fs_path() / "init_from.h5";
  fs::copy_file(HEED_FUZZ_DIR "/corpus/fuzz_checkpoint/end_of_run.h5", out);
  return out.string();
}

struct Setup {
  heed::fuzz::Workspace workspace;
  fs::path recipes = copy_recipes(workspace);  // holds input.json
  std::string init_from = copy_checkpoint(workspace);
  // heed's recipe keys, for the structure-aware mutations.
  std::vector<std::string> keys = heed::fuzz::dictionary_words(HEED_FUZZ_DIR "/fuzz_recipe.dict");
};

const Setup& setup() {
  static const Setup instance;
  return instance;
}

// The fuzzer must not make heed read arbitrary files (nor the real data set, which is slow): the
// recipe's file names, data.path and init_from's path, point at the workspace's files.
void confine_files(nlohmann::json& recipe) {
  if (!recipe.is_object()) return;
  if (recipe.contains("data") && recipe["data"].is_object()) {
    recipe["data"]["path"] = setup().workspace.fashion_mnist();
    // The fake training file has 8 examples, fewer than the default dev split of 5,000.
    if (!recipe["data"].contains("dev_samples")) recipe["data"]["dev_samples"] = 2;
  }
  if (!recipe.contains("init_from")) return;
  nlohmann::json& init_from = recipe["init_from"];
  if (init_from.is_string()) init_from = setup().init_from;
  if (init_from.is_object() && init_from.contains("path") && init_from["path"].is_string())
    init_from["path"] = setup().init_from;
}

// The recipe's bytes (up to the first NUL) and the --set overrides after them.
struct Input {
  std::string recipe;
  std::vector<std::string> overrides;
};

Input split_input(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const size_t end = bytes.find('\0');
  Input input{bytes.substr(0, end), {}};
  for (size_t start = end; start != std::string::npos;) {
    const size_t next = bytes.find('\0', start + 1);
    input.overrides.push_back(
        bytes.substr(start + 1, next == std::string::npos ? next : next - start - 1));
    start = next;
  }
  return input;
}

}  // namespace

// libFuzzer's byte-level mutator; absent from the replay builds, which never mutate.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size)
    __attribute__((weak));

// Half of the mutations are libFuzzer's own, on the bytes; the other half parse the recipe and
// change one value or key (json_mutator.h), or add a --set override of one of its paths.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  std::minstd_rand random(seed);
  if (random() % 2 == 0) return LLVMFuzzerMutate(data, size, max_size);
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const size_t end = std::min(bytes.find('\0'), bytes.size());
  std::string mutated;
  if (random() % 4 == 0) {
    const std::string set = heed::fuzz::mutate_override(bytes.substr(0, end), random, setup().keys);
    if (!set.empty()) mutated = bytes + '\0' + set;
  } else if (auto recipe = heed::fuzz::mutate_json(bytes.substr(0, end), random, setup().keys)) {
    mutated = *recipe + bytes.substr(end);
  }
  if (mutated.empty() || mutated.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::copy(mutated.begin(), mutated.end(), data);
  return mutated.size();
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Input input = split_input(data, size);
  const std::string path = setup().workspace.write(
      "recipes/input.json", reinterpret_cast<const uint8_t*>(input.recipe.data()),
      input.recipe.size());
  try {
    nlohmann::json recipe = heed::load_recipe(path, input.overrides);
    confine_files(recipe);
    // A recipe may ask for a model of gigabytes, within its ranges and the machine's memory;
    // building one is slow, not wrong, so the fuzzer's recipes get a smaller budget.
    const heed::AllocationBudget budget(256 << 20, "the fuzz target's 256 MiB budget");
    heed::Trainer trainer(recipe, "(dry run)");
    (void)trainer.describe();
  } catch (const heed::Error& e) {
    heed::fuzz::rejected(e);
  }
  return 0;
}

// fuzz_recipe: the input is a recipe file as `heed train RECIPE --set ... --dry-run` reads it:
// heed::load_recipe (JSON, includes, --set overrides), then the Trainer's constructor, which
// validates every section and builds the model, optimizer and schedule (what --dry-run checks)
// from Fashion-MNIST's shapes. The dataset is a fake of eight examples (workspace.h): data.path is
// pointed at it, so the fuzzer cannot make heed read arbitrary files as data.
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

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "framework/error.h"
#include "framework/recipe.h"
#include "framework/trainer.h"
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

struct Setup {
  heed::fuzz::Workspace workspace;
  fs::path recipes = copy_recipes(workspace);  // holds input.json
};

const Setup& setup() {
  static const Setup instance;
  return instance;
}

// The fuzzer must not make heed read arbitrary files as data, nor the real data set (slow).
void use_fake_data(nlohmann::json& recipe) {
  if (recipe.is_object() && recipe.contains("data") && recipe["data"].is_object())
    recipe["data"]["path"] = setup().workspace.fashion_mnist();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t end = input.find('\0');
  std::vector<std::string> overrides;
  for (size_t start = end; start != std::string::npos;) {
    const size_t next = input.find('\0', start + 1);
    overrides.push_back(
        input.substr(start + 1, next == std::string::npos ? next : next - start - 1));
    start = next;
  }
  const std::string path = setup().workspace.write("recipes/input.json", data, std::min(end, size));
  try {
    nlohmann::json recipe = heed::load_recipe(path, overrides);
    use_fake_data(recipe);
    heed::Trainer trainer(recipe, "(dry run)");
    (void)trainer.describe();
  } catch (const heed::Error& e) {
    heed::fuzz::rejected(e);
  }
  return 0;
}

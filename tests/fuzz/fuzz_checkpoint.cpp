// fuzz_checkpoint: the input is a checkpoint file as `heed train --resume` and `heed eval` read
// it: Trainer::restore, which loads it with heed::load_checkpoint (framework/checkpoint.h, HDF5)
// and puts it into the run of fuzz_checkpoint.recipe.json (model and optimizer state dicts, the
// schedule's and early stopping's train_state, generator and loader positions). The seeds are
// checkpoints of that recipe (make_seeds.sh), so mutations reach every step of a restore.
//
// heed::Error is the expected outcome of a bad file; anything else (a crash, a sanitizer report,
// another exception type, a leak, a timeout, a malloc beyond -malloc_limit_mb, an HDF5 object
// left open) is a finding.

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "framework/error.h"
#include "framework/recipe.h"
#include "framework/trainer.h"
#include "workspace.h"

namespace {

nlohmann::json fuzz_recipe(const heed::fuzz::Workspace& workspace) {
  nlohmann::json recipe = heed::load_recipe(HEED_FUZZ_DIR "/fuzz_checkpoint.recipe.json");
  recipe["data"]["path"] = workspace.fashion_mnist();
  return recipe;
}

struct Setup {
  heed::fuzz::Workspace workspace;
  nlohmann::json recipe = fuzz_recipe(workspace);
};

const Setup& setup() {
  static const Setup instance;
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = setup().workspace.write("checkpoint.h5", data, size);
  try {
    heed::Trainer trainer(setup().recipe, "(dry run)");
    trainer.restore(path);
  } catch (const heed::Error& e) {
    heed::fuzz::rejected(e);
  }
  // heed's h5::File owns every identifier it opens; one left open would keep the file open.
  if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0)
    heed::fuzz::finding("an HDF5 object is still open after restore");
  return 0;
}

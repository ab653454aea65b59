// Thread-count invariance (issue 9): recurrent and attention models train to the same bits at 1
// and 2 threads, so a run resumed with another train.threads, or compared across machines with
// other core counts, is the same run. Convolutions are the documented exception (oneDNN's
// convolutions sum in an order that depends on the thread count; README, "Recipes").

#include <doctest/doctest.h>

#include <filesystem>

#include "framework/checkpoint.h"
#include "framework/trainer.h"
#include "runs.h"
#include "temp_dir.h"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

// The model's parameters after 20 steps of `recipe` at `threads` threads.
StateDict trained(nlohmann::json recipe, int threads, const TempDir& tmp) {
  recipe["train"]["threads"] = threads;
  recipe["train"]["max_steps"] = 20;
  const fs::path dir = tmp.fs_path() / ("threads" + std::to_string(threads));
  Trainer(recipe, dir.string()).train();
  return load_checkpoint((dir / "checkpoints" / "last.h5").string()).model;
}

nlohmann::json with_encoder(const nlohmann::json& encoder, const nlohmann::json& extra = {}) {
  nlohmann::json r = recipe_for("lstm");
  r["model"]["encoder"] = encoder;
  for (const auto& [key, value] : extra.items()) r["model"][key] = value;
  return r;
}

}  // namespace

TEST_CASE("threads: recurrent and attention models train to the same bits at 1 and 2 threads") {
  const std::vector<std::pair<std::string, nlohmann::json>> cases = {
      {"lstm", recipe_for("lstm")},
      {"gru", recipe_for("gru")},
      {"rnn", with_encoder({{"type", "rnn"}, {"hidden_size", 16}})},
      {"bidirectional 2-layer lstm", with_encoder({{"type", "lstm"},
                                                   {"hidden_size", 12},
                                                   {"num_layers", 2},
                                                   {"bidirectional", true},
                                                   {"dropout", 0.2}})},
      {"transformer", recipe_for("transformer")},
      {"lstm + additive attention pooling",
       with_encoder({{"type", "lstm"}, {"hidden_size", 16}},
                    {{"pooling", {{"type", "attention"}, {"attention", "additive"}}}})},
      {"lstm + luong general attention pooling",
       with_encoder({{"type", "lstm"}, {"hidden_size", 16}},
                    {{"pooling", {{"type", "attention"}, {"attention", "luong_general"}}}})},
      {"transformer, linear attention", with_encoder({{"type", "transformer"},
                                                      {"d_model", 16},
                                                      {"nhead", 2},
                                                      {"num_layers", 1},
                                                      {"attention", "linear"}})},
  };
  for (const auto& [name, recipe] : cases) {
    CAPTURE(name);
    TempDir tmp;
    CHECK(same_tensors(trained(recipe, 1, tmp), trained(recipe, 2, tmp)));
  }
}

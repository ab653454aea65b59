// A run whose loss or gradients stop being finite (issue 9): it stops with an error naming the
// step and the tensor, summary.json says "diverged", and the last checkpoint it keeps is finite;
// train.on_nonfinite "skip" skips such steps instead and counts them.

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "framework/checkpoint.h"
#include "framework/trainer.h"
#include "runs.h"
#include "temp_dir.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

bool all_finite(const StateDict& tensors) {
  for (const auto& [name, t] : tensors) {
    if (t.dtype() != Dtype::Float32) continue;
    for (float v : t.to_vector())
      if (!std::isfinite(v)) return false;
  }
  return true;
}

nlohmann::json summary_of(const fs::path& dir) {
  std::ifstream in(dir / "summary.json");
  return nlohmann::json::parse(in);
}

// SGD's weight decay of 1e12 multiplies every weight by 1 - lr * 1e12 a step: infinite in a few.
nlohmann::json exploding(const std::string& on_nonfinite) {
  nlohmann::json r = recipe_for("lstm");
  r["optimizer"] = {{"name", "sgd"}, {"lr", 0.1}, {"weight_decay", 1e12}};
  r["train"]["on_nonfinite"] = on_nonfinite;
  return r;
}

}  // namespace

TEST_CASE("divergence: a weight decay of 1e12 stops the run, naming the step and the tensor") {
  TempDir tmp;
  const nlohmann::json r = exploding("stop");
  Trainer trainer(r, tmp.path());
  const std::string error = error_of([&] { trainer.train(); });
  CAPTURE(error);
  CHECK(error.find("run " + tmp.path() + " diverged at step ") == 0);
  CHECK((error.find("the loss is") != std::string::npos ||
         error.find("the gradient of ") != std::string::npos ||
         error.find("tensor ") != std::string::npos));
  const nlohmann::json summary = summary_of(tmp.fs_path());
  CHECK(summary["status"] == "diverged");
  CHECK(summary["diverged"].get<std::string>().rfind("step ", 0) == 0);
  const fs::path last = tmp.fs_path() / "checkpoints" / "last.h5";
  if (fs::exists(last)) {
    const Checkpoint c = load_checkpoint(last.string());
    CHECK(all_finite(c.model));
    CHECK(all_finite(c.optimizer));
  }
}

TEST_CASE("divergence: on_nonfinite \"skip\" skips the steps and counts them") {
  // Adam's first step with lr 1e30 moves every weight to +-1e30: finite, but two such layers
  // overflow the logits, so every later loss is nan while the parameters stay finite.
  nlohmann::json r = recipe_for("cnn_bn");
  r["model"]["layers"] = {{{"type", "flatten"}}, {{"type", "linear"}, {"out_features", 8}}};
  r["optimizer"] = {{"name", "adam"}, {"lr", 1e30}};
  r["train"]["on_nonfinite"] = "skip";
  TempDir tmp;
  const nlohmann::json summary = Trainer(r, tmp.path()).train();
  CHECK(summary["status"] == "finished");
  CHECK(summary["skipped_steps"] == 59);
  CHECK(all_finite(load_checkpoint(tmp.file("checkpoints/last.h5")).model));
  int64_t logged_skips = 0;
  for (const nlohmann::json& line : logged(tmp.fs_path()))
    logged_skips += line.value("skipped_steps", int64_t{0});
  CHECK(logged_skips == 59);

  // Once the parameters themselves are not finite, skipping cannot help: the run stops.
  TempDir gone;
  CHECK(error_of([&] {
          Trainer(exploding("skip"), gone.path()).train();
        }).find("was not finite already") != std::string::npos);
}

TEST_CASE("divergence: the option is checked") {
  nlohmann::json r = recipe_for("lstm");
  r["train"]["on_nonfinite"] = "ignore";
  CHECK(error_of([&] { Trainer t(r, "unused"); }).find("\"train.on_nonfinite\"") !=
        std::string::npos);
}

// Three splits (issue 10): train fits, dev selects, test is evaluated once at the end, on the
// real Fashion-MNIST files.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "datasets/idx.h"
#include "framework/registry.h"
#include "framework/trainer.h"
#include "temp_dir.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

DataSplits splits(const nlohmann::json& data) {
  nlohmann::json d = data;
  d["name"] = "fashion_mnist";
  return build_dataset(Config(d, "data"));
}

// The raw pixels of example i of a split, as the file holds them (standardized back).
std::vector<float> example(const Dataset& data, int64_t i) {
  return data.get({i}).input.to_vector();
}

// 4 epochs of 3 steps of a tiny LSTM, a dev evaluation after each; early stopping on dev
// accuracy when `early` (patience large enough never to stop).
nlohmann::json recipe(bool early) {
  nlohmann::json r = {
      {"data",
       {{"name", "fashion_mnist"},
        {"max_train_samples", 96},
        {"dev_samples", 48},
        {"max_test_samples", 56}}},
      {"model",
       {{"type", "sequence_classifier"}, {"encoder", {{"type", "lstm"}, {"hidden_size", 8}}}}},
      {"optimizer", {{"name", "adam"}, {"lr", 0.02}}},
      {"train", {{"epochs", 4}, {"batch_size", 32}, {"seed", 3}, {"threads", 1}}}};
  if (early)
    r["train"]["early_stopping"] = {{"metric", "loss"}, {"mode", "min"}, {"patience", 100}};
  return r;
}

std::vector<nlohmann::json> lines_of(const fs::path& metrics) {
  std::vector<nlohmann::json> out;
  std::ifstream in(metrics);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("fashion_mnist: dev is the training file's last 5,000, train its first 55,000") {
  const DataSplits s = splits({{"layout", "rows"}});
  REQUIRE(s.dev);
  CHECK(s.train->size() == 55000);
  CHECK(s.dev->size() == 5000);
  CHECK(s.test->size() == 10000);
  const DataSplits all = splits({{"dev_samples", 0}});  // the training file whole, no dev
  CHECK_FALSE(all.dev);
  CHECK(all.train->size() == 60000);
  CHECK(example(*s.dev, 0) == example(*all.train, 55000));
  CHECK(example(*s.dev, 4999) == example(*all.train, 59999));
  CHECK(example(*s.train, 54999) == example(*all.train, 54999));
  CHECK(s.dev->get({7}).target.to_vector_i64() == all.train->get({55007}).target.to_vector_i64());

  // max_train_samples takes the first examples of train; dev stays the file's last ones.
  const DataSplits few = splits({{"max_train_samples", 100}, {"dev_samples", 10}});
  CHECK(few.train->size() == 100);
  CHECK(example(*few.dev, 0) == example(*all.train, 59990));
  // max_test_samples takes the first examples of dev and of test, as every dataset's cap does.
  const DataSplits capped = splits({{"dev_samples", 10}, {"max_test_samples", 4}});
  CHECK(capped.dev->size() == 4);
  CHECK(capped.test->size() == 4);
  CHECK(example(*capped.dev, 3) == example(*all.train, 59993));
  CHECK(error_of([] {
          splits({{"dev_samples", 60000}});
        }) == "recipe: \"data.dev_samples\" must be in [0, 59999], got 60000");
}

TEST_CASE(
    "training evaluates dev, logs one test evaluation at the end, and summary.json has both") {
  TempDir tmp;
  const fs::path run = tmp.fs_path() / "run";
  const nlohmann::json summary = Trainer(recipe(false), run.string()).train();
  const std::vector<nlohmann::json> lines = lines_of(run / "metrics.jsonl");
  int dev = 0;
  for (const nlohmann::json& line : lines)
    if (line["kind"] == "eval") {
      CHECK(line["split"] == "dev");
      CHECK(line["samples"] == 48);
      ++dev;
    }
  CHECK(dev == 4);
  const nlohmann::json& test = lines.back();
  CHECK(test["kind"] == "test");
  CHECK(test["split"] == "test");
  CHECK(test["samples"] == 56);
  CHECK(test["checkpoint"] == "last");
  CHECK(test["checkpoint_step"] == test["step"]);
  CHECK(std::count_if(lines.begin(), lines.end(),
                      [](const auto& l) { return l["kind"] == "test"; }) == 1);
  CHECK(summary["final_eval"]["test"] == test);
  CHECK(summary["final_eval"]["dev"]["split"] == "dev");
  CHECK(summary["final_eval"]["dev"]["step"] == 12);

  // The test evaluation is what `heed eval --split test` of the last checkpoint gives.
  Trainer again(recipe(false), (tmp.fs_path() / "unused").string());
  again.load_weights((run / "checkpoints" / "last.h5").string());
  CHECK(again.evaluate("test")["loss"] == test["loss"]);
}

TEST_CASE("with early stopping, the test evaluation reads best.h5, chosen on dev") {
  TempDir tmp;
  const fs::path run = tmp.fs_path() / "run";
  const nlohmann::json summary = Trainer(recipe(true), run.string()).train();
  const nlohmann::json test = summary["final_eval"]["test"];
  CHECK(test["checkpoint"] == "best");
  CHECK(summary["best_eval"]["split"] == "dev");
  // The line names the weights it tested: best.h5's step and epoch, not the run's end.
  CHECK(test["checkpoint_step"] == summary["best_eval"]["step"]);
  CHECK(test["checkpoint_epoch"] == summary["best_eval"]["epoch"]);
  Trainer best(recipe(true), (tmp.fs_path() / "unused").string());
  best.load_weights((run / "checkpoints" / "best.h5").string());
  CHECK(best.evaluate("test")["loss"] == test["loss"]);
  CHECK(best.evaluate("dev")["loss"] == summary["best_eval"]["loss"]);

  // "last" evaluates the last checkpoint instead.
  nlohmann::json r = recipe(true);
  r["train"]["test_checkpoint"] = "last";
  const fs::path last_run = tmp.fs_path() / "last";
  const nlohmann::json s = Trainer(r, last_run.string()).train();
  CHECK(s["final_eval"]["test"]["checkpoint"] == "last");
  Trainer last(r, (tmp.fs_path() / "unused2").string());
  last.load_weights((last_run / "checkpoints" / "last.h5").string());
  CHECK(last.evaluate("test")["loss"] == s["final_eval"]["test"]["loss"]);
}

TEST_CASE("selection without a dev split, or best without early stopping, is refused") {
  TempDir tmp;
  nlohmann::json r = recipe(true);
  r["data"]["dev_samples"] = 0;
  CHECK(error_of([&] { Trainer(r, tmp.path()); }) ==
        "recipe: train.early_stopping and reduce_on_plateau select on the dev split, and "
        "data.dev_samples is 0 (no dev split)");
  r = recipe(false);
  r["train"]["test_checkpoint"] = "best";
  CHECK(error_of([&] { Trainer(r, tmp.path()); }) ==
        "recipe: \"train.test_checkpoint\" is \"best\", which needs train.early_stopping (it keeps "
        "checkpoints/best.h5)");

  // No dev split: no evaluation during training, one on test at the end; `dev` is an error.
  r = recipe(false);
  r["data"]["dev_samples"] = 0;
  const fs::path run = tmp.fs_path() / "run";
  Trainer trainer(r, run.string());
  const nlohmann::json summary = trainer.train();
  const std::vector<nlohmann::json> lines = lines_of(run / "metrics.jsonl");
  CHECK(
      std::none_of(lines.begin(), lines.end(), [](const auto& l) { return l["kind"] == "eval"; }));
  CHECK(lines.back()["kind"] == "test");
  CHECK(summary["final_eval"]["dev"].is_null());
  CHECK(error_of([&] { trainer.evaluate("dev"); }) ==
        "this run has no dev split (data.dev_samples is 0)");
}

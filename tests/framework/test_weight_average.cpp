// Averaged weights (train.weight_average, framework/weight_average.h): the average against
// PyTorch's AveragedModel (tests/fixtures/optim_average_*.json), and a run that keeps one: dev and
// test judge the average, the training steps are the same as without it, checkpoints hold it and
// a resumed run ends bit for bit where a straight one does, heed eval reads it, and bad input.

#include <doctest/doctest.h>

#include <filesystem>

#include "fixture.h"
#include "framework/checkpoint.h"
#include "framework/trainer.h"
#include "framework/weight_average.h"
#include "gradcheck.h"
#include "runs.h"
#include "temp_dir.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

// Row `t` of a [steps, ...] fixture tensor.
std::vector<float> row(const Tensor& stacked, int64_t t) {
  const std::vector<float> all = stacked.to_vector();
  const int64_t n = stacked.numel() / stacked.size(0);
  return {all.begin() + t * n, all.begin() + (t + 1) * n};
}

// Sets the parameters to PyTorch's after each of the fixture's 20 SGD steps and compares the
// average heed folds them into with AveragedModel's.
void replay_average(const std::string& fixture) {
  INFO("fixture ", fixture, ".json");
  const Fixture f = load_fixture(fixture);
  const Tensor weight = Tensor::zeros({3, 4}), bias = Tensor::zeros({4});
  const StateDict params = {{"fc.weight", weight}, {"fc.bias", bias}};
  WeightAverage average(
      WeightAverageOptions::from_config(Config(f.config.at("weight_average"), "weight_average")),
      params);
  const Tensor counts = f.output("n_averaged");
  for (int64_t t = 0; t < counts.size(0); ++t) {
    INFO("step ", t + 1);
    weight.copy_(Tensor::from_vector(row(f.output("weight"), t), {3, 4}));
    bias.copy_(Tensor::from_vector(row(f.output("bias"), t), {4}));
    average.update(t + 1);
    REQUIRE(average.count() == static_cast<int64_t>(row(counts, t)[0]));
    if (average.count() == 0) continue;
    check_close(average.averaged()[0].second.to_vector(), row(f.output("averaged_weight"), t),
                1e-7f, 1e-6f, "averaged fc.weight");
    check_close(average.averaged()[1].second.to_vector(), row(f.output("averaged_bias"), t), 1e-7f,
                1e-6f, "averaged fc.bias");
  }
}

nlohmann::json averaged_recipe(const std::string& corpus, int64_t max_steps) {
  nlohmann::json r = carry_recipe(corpus, max_steps);
  r["train"]["weight_average"] = {{"method", "ema"}, {"decay", 0.8}, {"start_step", 3}};
  return r;
}

fs::path trained(const nlohmann::json& recipe, const fs::path& dir) {
  Trainer(recipe, dir.string()).train();
  return dir / "checkpoints" / "last.h5";
}

std::vector<nlohmann::json> dev_lines(const fs::path& dir) {
  std::vector<nlohmann::json> out;
  for (const nlohmann::json& line : logged(dir))
    if (line.value("kind", "") == "eval") out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("weight average: SWA and EMA follow PyTorch's AveragedModel over 20 steps") {
  replay_average("optim_average_swa");  // the equal average, from the step after start_step 5
  replay_average("optim_average_ema");  // decay 0.9 from the first step
}

TEST_CASE("weight average: swap exchanges parameters and average, twice is the identity") {
  const Tensor w = Tensor::from_vector({1, 2, 3}, {3});
  WeightAverage average({"swa", 0.999, 0}, {{"w", w}});
  average.swap();  // empty: nothing to exchange
  CHECK(w.to_vector() == std::vector<float>{1, 2, 3});
  average.update(1);
  w.copy_(Tensor::from_vector({3, 4, 5}, {3}));
  average.update(2);  // (1 + 3) / 2 ...
  CHECK(average.averaged()[0].second.to_vector() == std::vector<float>{2, 3, 4});
  {
    const SwappedIn in(&average);
    CHECK(w.to_vector() == std::vector<float>{2, 3, 4});
  }
  CHECK(w.to_vector() == std::vector<float>{3, 4, 5});
  CHECK(average.repr() == "WeightAverage(method=swa, start_step=0)");
}

TEST_CASE("weight average: a run evaluates the average, trains as without it, resumes exactly") {
  TempDir tmp;
  const std::string corpus = write_letters(tmp.fs_path() / "letters.txt");
  const int64_t total = 24;
  const auto recipe = [&](int64_t steps) { return averaged_recipe(corpus, steps); };
  const fs::path straight = tmp.fs_path() / "straight";
  const Checkpoint end = load_checkpoint(trained(recipe(total), straight).string());
  REQUIRE(end.averaged_model);
  CHECK(nlohmann::json::parse(end.train_state)["weight_average"] ==
        nlohmann::json{{"method", "ema"}, {"n_averaged", total - 3}});

  // The training steps are those of the run without an average: the same parameters.
  nlohmann::json plain = recipe(total);
  plain["train"].erase("weight_average");
  const fs::path raw = tmp.fs_path() / "raw";
  const Checkpoint raw_end = load_checkpoint(trained(plain, raw).string());
  CHECK(same_tensors(end.model, raw_end.model));
  CHECK_FALSE(raw_end.averaged_model);
  CHECK_FALSE(same_tensors(*end.averaged_model, raw_end.model));
  // Before start_step the average is empty and dev judges the weights themselves (step 5 is
  // past it: the average differs).
  const std::vector<nlohmann::json> averaged_dev = dev_lines(straight), raw_dev = dev_lines(raw);
  REQUIRE(averaged_dev.size() == raw_dev.size());
  CHECK(averaged_dev[0]["loss"] != raw_dev[0]["loss"]);

  // heed eval reads the average: the run's closing dev evaluation again.
  {
    Trainer eval(recipe(total), (tmp.fs_path() / "eval").string());
    eval.load_weights((straight / "checkpoints" / "last.h5").string());
    CHECK(eval.evaluate("dev")["loss"] == averaged_dev.back()["loss"]);
  }

  // Stopped mid-run and resumed: the same end, average and count included.
  for (const int64_t first : {int64_t{2}, int64_t{9}}) {  // before start_step, and after it
    INFO("interrupted after step ", first);
    const fs::path dir = tmp.fs_path() / ("resumed" + std::to_string(first));
    trained(recipe(first), dir);
    CHECK(load_checkpoint((dir / "checkpoints" / "last.h5").string()).averaged_model.has_value() ==
          (first > 3));
    Trainer rest(recipe(total), dir.string());
    rest.restore((dir / "checkpoints" / "last.h5").string());
    rest.train();
    // (Not check_same_end: the first part's closing evaluation is in its metrics.jsonl.)
    const Checkpoint resumed = load_checkpoint((dir / "checkpoints" / "last.h5").string());
    CHECK(same_tensors(resumed.model, end.model));
    CHECK(same_tensors(resumed.optimizer, end.optimizer));
    REQUIRE(resumed.averaged_model);
    CHECK(same_tensors(*resumed.averaged_model, *end.averaged_model));
    CHECK(nlohmann::json::parse(resumed.train_state)["weight_average"] ==
          nlohmann::json::parse(end.train_state)["weight_average"]);
  }
}

TEST_CASE("weight average: recipe and checkpoint errors") {
  TempDir tmp;
  const std::string corpus = write_letters(tmp.fs_path() / "letters.txt");
  nlohmann::json r = averaged_recipe(corpus, 6);
  const auto error_with = [&](const nlohmann::json& average) {
    nlohmann::json bad = r;
    bad["train"]["weight_average"] = average;
    return error_of([&] { Trainer(bad, (tmp.fs_path() / "bad").string()); });
  };
  CHECK(error_with({{"method", "swa"}, {"decay", 0.9}}) ==
        "recipe: \"train.weight_average.decay\" is ema's; method \"swa\" weighs every update "
        "equally");
  CHECK(error_with({{"method", "emma"}}) ==
        "recipe: unknown value \"emma\" at \"train.weight_average.method\"; did you mean \"ema\"? "
        "(valid: ema, swa)");
  CHECK(error_with({{"decay", 1}}) ==
        "recipe: \"train.weight_average.decay\" must be in [0, 1), got 1");
  CHECK(error_with({{"decay", 0.9}, {"start_steps", 3}}) ==
        "recipe: unknown key \"train.weight_average.start_steps\"; did you mean \"start_step\"? "
        "(valid keys here: decay, method, start_step)");

  // A checkpoint with an average the recipe does not keep, and one whose average is missing.
  const fs::path run = tmp.fs_path() / "run";
  const std::string ckpt = trained(r, run).string();
  nlohmann::json plain = r;
  plain["train"].erase("weight_average");
  CHECK(error_of([&] { Trainer(plain, run.string()).restore(ckpt); }) ==
        "checkpoint " + ckpt +
            ": group averaged_model is present, but the recipe has no train.weight_average");
  Checkpoint c = load_checkpoint(ckpt);
  c.averaged_model.reset();
  save_checkpoint(ckpt, c);
  CHECK(error_of([&] { Trainer(r, run.string()).restore(ckpt); }) ==
        "checkpoint " + ckpt + ": group averaged_model is missing with n_averaged > 0");
  c.averaged_model = StateDict{{"embedding.weight", Tensor::zeros({2, 2})}};
  save_checkpoint(ckpt, c);
  CHECK(error_of([&] {
          Trainer(r, run.string()).restore(ckpt);
        }).find("group averaged_model: embedding.weight has shape [2, 2]") != std::string::npos);
}

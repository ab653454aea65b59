// Checkpoints, resuming, recipes and the CLI's handling of bad input, on the real Fashion-MNIST
// files (a few hundred examples, so the whole file runs in seconds).

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "cli.h"
#include "framework/checkpoint.h"
#include "framework/hdf5.h"
#include "framework/recipe.h"
#include "framework/trainer.h"
#include "runs.h"
#include "temp_dir.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

// A small run that exercises dropout (the random stream), Adam's moments and an epoch boundary:
// 384 examples in batches of 32 are 12 steps an epoch.
nlohmann::json small_recipe(int64_t max_steps) {
  return {{"data",
           {{"name", "fashion_mnist"},
            {"max_train_samples", 384},
            {"dev_samples", 64},
            {"max_test_samples", 64}}},
          {"model",
           {{"type", "sequence_classifier"},
            {"encoder", small_transformer_encoder()},
            {"dropout", 0.2}}},
          {"optimizer", {{"name", "adam"}, {"lr", 0.003}}},
          {"train",
           {{"epochs", 3},
            {"max_steps", max_steps},
            {"batch_size", 32},
            {"seed", 7},
            {"log_interval", 5}}}};
}

std::vector<float> flat_parameters(const fs::path& checkpoint) {
  std::vector<float> all;
  for (const auto& [name, t] : load_checkpoint(checkpoint.string()).model) {
    const auto v = t.to_vector();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

// Trains `recipe` into `dir` to its end; returns the run's last checkpoint.
fs::path train_run(const nlohmann::json& recipe, const fs::path& dir) {
  Trainer trainer(recipe, dir.string());
  trainer.train();
  return dir / "checkpoints" / "last.h5";
}

// Trains `recipe(first)` into `dir`, then resumes that run from its last checkpoint with
// `recipe(total)` to the end, as `heed train --resume` does; returns its last checkpoint.
fs::path train_resumed(const std::function<nlohmann::json(int64_t)>& recipe, int64_t first,
                       int64_t total, const fs::path& dir) {
  train_run(recipe(first), dir);
  Trainer rest(recipe(total), dir.string());
  rest.restore((dir / "checkpoints" / "last.h5").string());
  CHECK(rest.train()["steps"] == total);
  return dir / "checkpoints" / "last.h5";
}

// The customary Transformer training: AdamW without decay on biases and norms, linear warm-up
// into a cosine, reduce_on_plateau on the test loss every 3 steps, clipping at norm 0.5.
nlohmann::json scheduled_recipe(int64_t max_steps) {
  nlohmann::json r = small_recipe(max_steps);
  r["optimizer"] = {{"name", "adamw"},
                    {"lr", 0.003},
                    {"weight_decay", 0.05},
                    {"param_groups", {{{"params", {"*.bias", "*norm*"}}, {"weight_decay", 0}}}}};
  r["schedule"] = {
      {{"name", "warmup"},
       {"warmup_steps", 8},
       {"start_factor", 0.1},
       {"after", {{"name", "cosine"}, {"T_max", 16}, {"eta_min", 1e-4}}}},
      {{"name", "reduce_on_plateau"}, {"patience", 0}, {"factor", 0.5}, {"threshold", 0.05}}};
  r["train"]["eval_interval"] = 3;
  r["train"]["clip_grad_norm"] = 0.5;
  return r;
}

// The checkpoint's train state without what depends on the clock.
nlohmann::json train_state_of(const fs::path& checkpoint) {
  nlohmann::json state = nlohmann::json::parse(load_checkpoint(checkpoint.string()).train_state);
  state["last_eval"].erase("elapsed_s");
  state["log_window"].erase("seconds");
  return state;
}

}  // namespace

TEST_CASE("training N steps straight equals N/2, resume, N/2: identical parameters") {
  TempDir tmp;
  const auto a = flat_parameters(train_run(small_recipe(20), tmp.fs_path() / "straight"));
  const auto b = flat_parameters(train_resumed(small_recipe, 10, 20, tmp.fs_path() / "resumed"));
  REQUIRE(a.size() == b.size());
  CHECK(a == b);  // bitwise: same data order, same dropout masks, same optimizer state

  // metrics.jsonl has train lines (every 5 steps) and eval lines with the documented fields.
  std::ifstream metrics(tmp.fs_path() / "straight" / "metrics.jsonl");
  int train_lines = 0, eval_lines = 0;
  for (std::string line; std::getline(metrics, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["kind"] == "train") {
      ++train_lines;
      for (const char* key :
           {"epoch", "step", "loss", "accuracy", "lr", "samples_per_s", "elapsed_s", "progress"})
        CHECK_MESSAGE(j.contains(key), key);
      // The share of the budget behind it: max_steps 20 (of the 3 epochs' 36 steps) bounds it.
      CHECK(j["progress"].get<double>() == doctest::Approx(j["step"].get<double>() / 20));
    } else {
      ++eval_lines;
      CHECK(j.contains("accuracy"));
    }
  }
  CHECK(train_lines == 4);
  CHECK(eval_lines >= 2);
}

TEST_CASE("resume with AWD-LSTM's dropouts (input, locked between layers, output, weight drop)") {
  // Four places draw from the generator at every step; the resumed run must redraw them all.
  auto recipe = [](int64_t max_steps) {
    nlohmann::json r = small_recipe(max_steps);
    r["model"]["encoder"] = {{"type", "lstm"},         {"hidden_size", 12},
                             {"num_layers", 2},        {"dropout", 0.3},
                             {"locked_dropout", true}, {"input_dropout", 0.2},
                             {"output_dropout", 0.3},  {"weight_drop", 0.3}};
    return r;
  };
  TempDir tmp;
  const auto a = flat_parameters(train_run(recipe(16), tmp.fs_path() / "straight"));
  const auto b = flat_parameters(train_resumed(recipe, 7, 16, tmp.fs_path() / "resumed"));
  REQUIRE(a.size() == b.size());
  CHECK(a == b);
}

TEST_CASE(
    "resume mid warm-up and mid cosine with AdamW, reduce_on_plateau and clipping: identical "
    "parameters, optimizer moments and schedule state") {
  TempDir tmp;
  const int64_t total = 24;
  const fs::path straight_ckpt = train_run(scheduled_recipe(total), tmp.fs_path() / "straight");
  const nlohmann::json straight_state = train_state_of(straight_ckpt);
  CHECK(straight_state["schedule"]["t"] == total);
  // The plateau did reduce (test loss on 64 examples is noisy): the resumed runs must restore it.
  CHECK(straight_state["schedule"]["plateau"]["scales"][0].get<double>() < 1.0);
  for (const int64_t first : {int64_t{5}, int64_t{14}}) {
    INFO("interrupted after step ", first);
    const fs::path ckpt = train_resumed(scheduled_recipe, first, total,
                                        tmp.fs_path() / ("resumed" + std::to_string(first)));
    CHECK(flat_parameters(ckpt) == flat_parameters(straight_ckpt));
    const Checkpoint a = load_checkpoint(ckpt.string()),
                     b = load_checkpoint(straight_ckpt.string());
    REQUIRE(a.optimizer.size() == b.optimizer.size());
    for (size_t i = 0; i < a.optimizer.size(); ++i) {
      CHECK(a.optimizer[i].first == b.optimizer[i].first);
      if (a.optimizer[i].second.dtype() == Dtype::Float32)
        CHECK(a.optimizer[i].second.to_vector() == b.optimizer[i].second.to_vector());
    }
    CHECK(train_state_of(ckpt) == straight_state);
  }
  // metrics.jsonl: lr and grad_norm on every train line, the lr rising during the warm-up.
  std::ifstream metrics(tmp.fs_path() / "straight" / "metrics.jsonl");
  std::vector<double> lrs;
  for (std::string line; std::getline(metrics, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["kind"] != "train") continue;
    CHECK(j.contains("grad_norm"));
    CHECK(j["grad_norm"].get<double>() > 0);
    lrs.push_back(j["lr"]);
  }
  REQUIRE(lrs.size() >= 2);
  CHECK(lrs[0] == doctest::Approx(0.003 * (0.1 + 0.9 * 4 / 8.0)));  // step 5 used t = 4
}

TEST_CASE(
    "resume one_cycle with cycle_momentum over SGD built without momentum: identical parameters "
    "and momentum buffers, momentum on the train lines") {
  TempDir tmp;
  const int64_t total = 24;
  auto recipe = [&](int64_t max_steps) {
    nlohmann::json r = small_recipe(max_steps);
    r["optimizer"] = {{"name", "sgd"}, {"lr", 0.05}};  // the schedule brings momentum 0.95
    r["schedule"] = {{"name", "one_cycle"}, {"total_steps", total}};
    return r;
  };
  const fs::path straight_ckpt = train_run(recipe(total), tmp.fs_path() / "straight");
  for (const int64_t first : {int64_t{4}, int64_t{13}}) {
    INFO("interrupted after step ", first);
    const fs::path ckpt =
        train_resumed(recipe, first, total, tmp.fs_path() / ("resumed" + std::to_string(first)));
    CHECK(flat_parameters(ckpt) == flat_parameters(straight_ckpt));
    const Checkpoint a = load_checkpoint(ckpt.string()),
                     b = load_checkpoint(straight_ckpt.string());
    REQUIRE(a.optimizer.size() == b.optimizer.size());
    REQUIRE(!a.optimizer.empty());
    for (size_t i = 0; i < a.optimizer.size(); ++i) {
      CHECK(a.optimizer[i].first == b.optimizer[i].first);
      CHECK(a.optimizer[i].second.to_vector() == b.optimizer[i].second.to_vector());
    }
  }
  // Train lines carry group 0's momentum of the window's last step: step 5 used t = 4, in the
  // first phase (which ends at t = 0.3 * 24 - 1).
  std::ifstream metrics(tmp.fs_path() / "straight" / "metrics.jsonl");
  std::vector<double> momenta;
  for (std::string line; std::getline(metrics, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["kind"] == "train") momenta.push_back(j.at("momentum"));
  }
  REQUIRE(momenta.size() == 4);
  CHECK(momenta[0] == doctest::Approx(0.85 + 0.05 * (std::cos(M_PI * 4 / 6.2) + 1)));
  // Without momentum cycling, the train lines have no momentum.
  nlohmann::json plain = recipe(1);
  plain["schedule"]["cycle_momentum"] = false;
  plain["train"]["log_interval"] = 1;
  {
    Trainer t(plain, (tmp.fs_path() / "plain").string());
    t.train();
  }
  std::ifstream plain_metrics(tmp.fs_path() / "plain" / "metrics.jsonl");
  for (std::string line; std::getline(plain_metrics, line);)
    CHECK(!nlohmann::json::parse(line).contains("momentum"));
}

TEST_CASE("resume a language model carrying its state across windows: identical parameters") {
  TempDir tmp;
  const std::string corpus = write_letters(tmp.fs_path() / "letters.txt");
  auto recipe = [&](int64_t max_steps) { return carry_recipe(corpus, max_steps); };
  const int64_t total = 24;
  const fs::path straight = train_run(recipe(total), tmp.fs_path() / "straight");
  const Checkpoint end = load_checkpoint(straight.string());
  REQUIRE(end.carried_state);
  CHECK(end.carried_state->empty());  // written at the last epoch's end, after the reset
  for (const int64_t first : {int64_t{7}, int64_t{17}}) {  // mid-epoch 1, mid-epoch 2
    INFO("interrupted after step ", first);
    const fs::path dir = tmp.fs_path() / ("resumed" + std::to_string(first));
    train_run(recipe(first), dir);
    const Checkpoint mid = load_checkpoint((dir / "checkpoints" / "last.h5").string());
    REQUIRE(mid.carried_state);
    REQUIRE(mid.carried_state->size() == 2);
    CHECK(mid.carried_state->at(0).first == "c_n");  // HDF5 lists a group sorted by name
    CHECK(mid.carried_state->at(1).second.shape() == Shape({2, 4, 10}));
    Trainer rest(recipe(total), dir.string());
    rest.restore((dir / "checkpoints" / "last.h5").string());
    CHECK(rest.train()["steps"] == total);
    CHECK(flat_parameters(dir / "checkpoints" / "last.h5") == flat_parameters(straight));
  }

  // The carried state matters: resumed from zeros instead, the run ends elsewhere.
  const fs::path zeroed = tmp.fs_path() / "zeroed";
  train_run(recipe(7), zeroed);
  const fs::path ckpt = zeroed / "checkpoints" / "last.h5";
  Checkpoint c = load_checkpoint(ckpt.string());
  c.carried_state = StateDict{};
  save_checkpoint(ckpt.string(), c);
  {
    Trainer rest(recipe(total), zeroed.string());
    rest.restore(ckpt.string());
    rest.train();
  }
  CHECK(flat_parameters(ckpt) != flat_parameters(straight));

  // A checkpoint without the group, with it where the run carries none, or with a wrong shape.
  c.carried_state.reset();
  save_checkpoint(ckpt.string(), c);
  CHECK(error_of([&] { Trainer(recipe(total), zeroed.string()).restore(ckpt.string()); }) ==
        "checkpoint " + ckpt.string() +
            ": group carried_state is missing: a run with data.carry_state saves the state its "
            "next batch starts from");
  c.carried_state =
      StateDict{{"h_n", Tensor::zeros({2, 3, 10})}, {"c_n", Tensor::zeros({2, 4, 10})}};
  save_checkpoint(ckpt.string(), c);
  CHECK(error_of([&] { Trainer(recipe(total), zeroed.string()).restore(ckpt.string()); }) ==
        "checkpoint " + ckpt.string() +
            ": group carried_state: language_model: state h_n is float32 [2, 3, 10], expected "
            "float32 [2, 4, 10] ([num_layers, batch_size, hidden_size])");
  nlohmann::json plain = recipe(total);
  plain["data"].erase("carry_state");
  CHECK(error_of([&] { Trainer(plain, zeroed.string()).restore(ckpt.string()); }) ==
        "checkpoint " + ckpt.string() +
            ": group carried_state is present, but this run carries no state across batches "
            "(data.carry_state is false)");
  // Without carry_state a run writes no group, and shuffles its windows as before.
  CHECK(!load_checkpoint(train_run(plain, tmp.fs_path() / "plain").string()).carried_state);
}

TEST_CASE("data.carry_state needs a model that carries state") {
  TempDir tmp;
  nlohmann::json r = carry_recipe(write_letters(tmp.fs_path() / "letters.txt"), 1);
  r["model"] = {{"type", "seq2seq"},
                {"encoder", {{"type", "lstm"}, {"hidden_size", 4}}},
                {"decoder", {{"type", "lstm"}}}};
  CHECK(error_of([&] { Trainer(r, (tmp.fs_path() / "run").string()); }) ==
        "recipe: \"data.carry_state\" is true, but model \"seq2seq\" carries no state across "
        "batches (a language_model with an rnn, lstm or gru encoder does): set data.carry_state "
        "to false");
}

TEST_CASE("early stopping ends the run, keeps best.h5, and a resumed stopped run stays stopped") {
  TempDir tmp;
  nlohmann::json r = small_recipe(30);
  r["train"]["eval_interval"] = 2;
  // min_delta 1 cannot be beaten on accuracy: the second evaluation is bad, and patience 1 stops.
  r["train"]["early_stopping"] = {
      {"metric", "accuracy"}, {"mode", "max"}, {"patience", 1}, {"min_delta", 1.0}};
  const fs::path dir = tmp.fs_path() / "run";
  nlohmann::json summary;
  {
    Trainer t(r, dir.string());
    summary = t.train();
  }
  CHECK(summary["status"] == "early_stopped");
  CHECK(summary["steps"] == 4);
  CHECK(summary["best_eval"]["step"] == 2);
  CHECK(fs::exists(dir / "checkpoints" / "best.h5"));
  CHECK(load_checkpoint((dir / "checkpoints" / "best.h5").string()).progress.step == 2);
  Trainer again(r, dir.string());
  again.restore((dir / "checkpoints" / "last.h5").string());
  CHECK(again.train()["steps"] == 4);

  // A metric the evaluation does not have is refused when the recipe is read.
  r["train"]["early_stopping"]["metric"] = "acuracy";
  CHECK(error_of([&] { Trainer typo(r, (tmp.fs_path() / "typo").string()); }) ==
        "recipe: unknown value \"acuracy\" at \"train.early_stopping.metric\"; did you mean "
        "\"accuracy\"? (valid: loss, accuracy, epoch, step, samples, elapsed_s)");
}

TEST_CASE(
    "a budget ending between evaluations: the closing evaluation can be best.h5 and the test's") {
  TempDir tmp;
  nlohmann::json r = small_recipe(14);
  r["train"]["eval_interval"] = 5;  // evaluations at steps 5 and 10, the closing one at 14
  r["train"]["early_stopping"] = {{"metric", "loss"}, {"mode", "min"}, {"patience", 5}};
  const fs::path dir = tmp.fs_path() / "run";
  nlohmann::json summary;
  {
    Trainer t(r, dir.string());
    summary = t.train();
  }
  std::vector<std::pair<int64_t, double>> evals;  // (step, dev loss)
  for (const nlohmann::json& line : logged(dir.string()))
    if (line["kind"] == "eval") evals.emplace_back(line["step"], line["loss"]);
  REQUIRE(evals.size() == 3);
  INFO("dev losses: ", nlohmann::json(evals).dump());
  // Measured (AMD EPYC): 2.10, 2.02, 1.92: still learning, so the closing evaluation is best.
  CHECK(evals[2].second < evals[1].second);
  CHECK(summary["best_eval"]["step"] == 14);
  CHECK(load_checkpoint((dir / "checkpoints" / "best.h5").string()).progress.step == 14);
  CHECK(summary["final_eval"]["test"]["checkpoint"] == "best");
  // Early stopping's counters did not see it: a resumed, extended run counts as a straight one.
  const nlohmann::json state = nlohmann::json::parse(
      load_checkpoint((dir / "checkpoints" / "last.h5").string()).train_state)["early_stopping"];
  CHECK(state["best"].get<double>() == doctest::Approx(evals[1].second));
}

TEST_CASE("recipe errors for schedules, clipping and early stopping") {
  TempDir tmp;
  auto error_for = [&](nlohmann::json recipe) {
    return error_of([&] { Trainer(recipe, (tmp.fs_path() / "run").string()); });
  };
  nlohmann::json r = small_recipe(1);
  r["schedule"] = {{"name", "cosine_annealing"}};
  CHECK(error_for(r) ==
        "recipe: unknown schedule \"cosine_annealing\" at \"schedule.name\" (valid: step, "
        "multi_step, exponential, cosine, cosine_warm_restarts, warmup, noam, inverse_sqrt, "
        "one_cycle, reduce_on_plateau)");
  r = small_recipe(1);
  r["optimizer"]["name"] = "adamax";
  CHECK(error_for(r).find("(valid: sgd, adam, adamw, rmsprop, adagrad)") != std::string::npos);
  r = small_recipe(1);
  r["train"]["clip_grad_norm_type"] = "two";
  CHECK(error_for(r) ==
        "recipe: \"train.clip_grad_norm_type\" must be a number >= 1 or \"inf\", got \"two\"");
  r = small_recipe(1);
  r["train"]["early_stopping"] = {{"metric", "loss"}, {"patiense", 2}};
  CHECK(error_for(r).find("unknown key \"train.early_stopping.patiense\"; did you mean "
                          "\"patience\"?") != std::string::npos);
  r = small_recipe(1);
  r["train"]["early_stopping"] = {{"patience", 0}};
  CHECK(error_for(r) ==
        "recipe: \"train.early_stopping.patience\" must be in [1, 1099511627776], got 0");
  // A checkpoint of a run without schedule refuses a recipe that adds one.
  const fs::path dir = tmp.fs_path() / "plain";
  {
    Trainer t(small_recipe(2), dir.string());
    t.train();
  }
  r = small_recipe(4);
  r["schedule"] = {{"name", "cosine"}};
  Trainer changed(r, dir.string());
  CHECK(error_of([&] { changed.restore((dir / "checkpoints" / "last.h5").string()); })
            .find("the checkpoint was saved with schedule \"constant\", the recipe asks for "
                  "\"cosine\"") != std::string::npos);
}

TEST_CASE("a format_version 1 checkpoint (no /train_state) resumes a run without a schedule") {
  TempDir tmp;
  const fs::path dir = tmp.fs_path() / "run";
  {
    Trainer t(small_recipe(2), dir.string());
    t.train();
  }
  // Rewrite last.h5 as version 1 wrote it: the same groups, no /train_state.
  const fs::path ckpt = dir / "checkpoints" / "last.h5";
  const Checkpoint c = load_checkpoint(ckpt.string());
  {
    h5::File f = h5::File::create(ckpt.string(), "checkpoint");
    f.set_attr_string("/", "format", "heed-checkpoint");
    f.set_attr_i64("/", "format_version", 1);
    for (const auto& [group, tensors] : {std::pair{"model", c.model}, {"optimizer", c.optimizer}})
      for (const auto& [name, t] : tensors) {
        if (t.dtype() == Dtype::Float32)
          f.write_f32(std::string(group) + "/" + name, t.shape(), t.contiguous().data());
        else
          f.write_i64(std::string(group) + "/" + name, t.shape(), t.contiguous().data_i64());
      }
    f.write_u64("rng/state", {4}, c.rng.data());
    const Progress& p = c.progress;
    const int64_t key = static_cast<int64_t>(p.epoch_key);
    f.write_i64("progress/epoch", {}, &p.epoch);
    f.write_i64("progress/step", {}, &p.step);
    f.write_i64("progress/epoch_key", {}, &key);
    f.write_i64("progress/position", {}, &p.position);
    f.write_i64("progress/elapsed_ms", {}, &p.elapsed_ms);
    f.write_string("recipe", c.recipe);
  }
  CHECK(load_checkpoint(ckpt.string()).train_state.empty());
  Trainer resumed(small_recipe(4), dir.string());
  resumed.restore(ckpt.string());
  CHECK(resumed.train()["steps"] == 4);
}

TEST_CASE("recipe errors give the JSON path and the nearest valid key or name") {
  TempDir tmp;
  auto error_for = [&](nlohmann::json recipe) {
    return error_of([&] { Trainer(recipe, (tmp.fs_path() / "run").string()); });
  };
  nlohmann::json r = small_recipe(1);
  r["model"]["encoder"]["d_modle"] = 16;
  CHECK(
      error_for(r).find("\"model.encoder.d_modle\" is not an option of encoder \"transformer\"") !=
      std::string::npos);
  CHECK(error_for(r).find("; did you mean \"d_model\"?") != std::string::npos);

  r = small_recipe(1);
  r["train"]["epochs"] = "three";
  CHECK(error_for(r) == "recipe: \"train.epochs\" must be an integer, got \"three\" (a string)");

  r = small_recipe(1);
  r["optimizer"]["name"] = "adamm";
  CHECK(error_for(r).find(
            "unknown optimizer \"adamm\" at \"optimizer.name\"; did you mean \"adam\"?") !=
        std::string::npos);

  r = small_recipe(1);
  r["model"]["type"] = "sequence_clasifier";
  CHECK(error_for(r).find("did you mean \"sequence_classifier\"") != std::string::npos);

  r = small_recipe(1);
  r["trian"] = nlohmann::json::object();
  CHECK(error_for(r).find("unknown key \"trian\"; did you mean \"train\"?") != std::string::npos);

  r = small_recipe(1);
  r["optimizer"]["lr"] = -1;
  CHECK(error_for(r).find("optimizer") != std::string::npos);

  r = small_recipe(1);
  r["data"]["path"] = (tmp.fs_path() / "nowhere").string();
  CHECK(error_for(r).find((tmp.fs_path() / "nowhere").string()) != std::string::npos);
}

TEST_CASE("recipes: include, --set overrides and syntax errors with line and column") {
  TempDir tmp;
  std::ofstream(tmp.fs_path() / "base.json")
      << R"({"train": {"epochs": 5, "batch_size": 32}, "model": {"type": "x"}})";
  std::ofstream(tmp.fs_path() / "top.json")
      << R"({"include": "base.json", "train": {"epochs": 2}})";
  const nlohmann::json r =
      load_recipe((tmp.fs_path() / "top.json").string(),
                  {"train.seed=9", "model.encoder.type=lstm", "output.dir=runs/a"});
  CHECK(r["train"]["epochs"] == 2);
  CHECK(r["train"]["batch_size"] == 32);
  CHECK(r["train"]["seed"] == 9);
  CHECK(r["model"]["encoder"]["type"] == "lstm");
  CHECK(r["output"]["dir"] == "runs/a");

  std::ofstream(tmp.fs_path() / "broken.json") << "{\n  \"train\": {\"epochs\": 2,}\n}";
  const std::string e = error_of([&] { load_recipe((tmp.fs_path() / "broken.json").string()); });
  CHECK(e.find("broken.json: parse error at line 2") != std::string::npos);
  CHECK(error_of([&] {
          load_recipe((tmp.fs_path() / "missing.json").string());
        }).find("no such file") != std::string::npos);
  CHECK(error_of([&] { load_recipe((tmp.fs_path() / "top.json").string(), {"novalue"}); }) ==
        "--set novalue: expected path.to.key=value");
}

TEST_CASE("the CLI answers bad input with one line on stderr and a non-zero status") {
  TempDir tmp;
  const std::string recipe = (tmp.fs_path() / "r.json").string();
  std::ofstream(recipe) << small_recipe(2).dump();

  CliResult r = run_cli("train " + recipe + " --set train.epochz=2 --dry-run", tmp.fs_path());
  CHECK(r.status == 1);
  CHECK(r.err.find("heed: error: recipe: unknown key \"train.epochz\"; did you mean \"epochs\"?") ==
        0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);

  r = run_cli("train " + recipe + " --dry-run", tmp.fs_path());
  CHECK(r.status == 0);

  r = run_cli("train " + (tmp.fs_path() / "none.json").string(), tmp.fs_path());
  CHECK(r.status != 0);

  r = run_cli("train --resume " + (tmp.fs_path() / "norun").string(), tmp.fs_path());
  CHECK(r.status == 1);
  CHECK(r.err.find("no such directory") != std::string::npos);

  // A run whose checkpoint is corrupt: the error names the file; nothing is overwritten.
  const fs::path run = tmp.fs_path() / "run";
  r = run_cli("train " + recipe + " --out " + run.string(), tmp.fs_path());
  REQUIRE(r.status == 0);
  const fs::path ckpt = run / "checkpoints" / "last.h5";
  CHECK(run_cli("eval " + run.string(), tmp.fs_path()).status == 0);
  CHECK(run_cli("train --resume " + run.string() + " --set train.max_steps=3", tmp.fs_path())
            .status == 0);
  fs::resize_file(ckpt, fs::file_size(ckpt) / 2);
  const auto size_before = fs::file_size(ckpt);
  r = run_cli("eval " + run.string(), tmp.fs_path());
  CHECK(r.status == 1);
  CHECK(r.err.find("checkpoint " + ckpt.string()) != std::string::npos);
  CHECK(fs::file_size(ckpt) == size_before);

  // --out into an existing run refuses instead of mixing two runs.
  r = run_cli("train " + recipe + " --out " + run.string(), tmp.fs_path());
  CHECK(r.status == 1);
  CHECK(r.err.find("--resume") != std::string::npos);
}

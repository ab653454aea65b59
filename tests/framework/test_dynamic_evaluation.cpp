// Dynamic evaluation (framework/dynamic_evaluation.h, heed eval --dynamic-lr): with lr 0 it is
// the static evaluation; each window is scored before the step it causes, the step being SGD's
// (optim::SGD, checked against PyTorch) plus the pull back towards the trained weights, which a
// hand-composed loop replays; a model that adapts reads a repeated text far better than the
// static one; the trained weights and the run's carried state are intact afterwards; bad input.
// (tests/tools/test_lm_breakdown.sh compares heed eval --dynamic-lr with a PyTorch loop.)

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "cli.h"
#include "datasets/text.h"
#include "framework/trainer.h"
#include "optim/sgd.h"
#include "runs.h"
#include "temp_dir.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

// 1,800 pseudo-random letters (train) and then "abcd" repeated for 200 characters: dev and test
// are 100 characters each of a pattern a model trained on the letters has never seen.
std::string write_corpus(const fs::path& file) {
  std::string text;
  for (uint32_t x = 7; text.size() < 1800;) {
    x = x * 1103515245u + 12345u;
    text += static_cast<char>('a' + (x >> 16) % 26);
  }
  while (text.size() < 2000) text += "abcd";
  std::ofstream(file, std::ios::binary) << text;
  return file.string();
}

// carry_recipe's LSTM (2 layers, dropout 0.2, state carried across 8-character windows), trained
// 20 steps, evaluated as one stream.
nlohmann::json recipe(const std::string& corpus) {
  nlohmann::json r = carry_recipe(corpus, 20);
  r["train"]["eval_batch_size"] = 1;
  return r;
}

// A Trainer for that recipe holding the weights of its 20 steps, trained in `tmp`/run.
std::unique_ptr<Trainer> trained(const TempDir& tmp) {
  const nlohmann::json r = recipe(write_corpus(tmp.fs_path() / "corpus.txt"));
  Trainer(r, (tmp.fs_path() / "run").string()).train();
  auto t = std::make_unique<Trainer>(r, (tmp.fs_path() / "eval").string());
  t->load_weights((tmp.fs_path() / "run" / "checkpoints" / "last.h5").string());
  return t;
}

}  // namespace

TEST_CASE("dynamic evaluation: lr 0 is the static one; adapting reads a repeated text better") {
  TempDir tmp;
  const std::unique_ptr<Trainer> run = trained(tmp);
  Trainer& t = *run;
  const StateDict trained = t.model().state_dict();
  const nlohmann::json fixed = t.evaluate("dev");

  const nlohmann::json same = t.evaluate_dynamic("dev", {0, 0});
  CHECK(same["loss"].get<double>() == doctest::Approx(fixed["loss"].get<double>()).epsilon(1e-6));
  CHECK(same["bits_per_token"].get<double>() ==
        doctest::Approx(fixed["bits_per_token"].get<double>()).epsilon(1e-6));
  CHECK(same["samples"] == fixed["samples"]);
  CHECK(same["dynamic"] == nlohmann::json{{"lr", 0.0}, {"decay", 0.0}});

  // "abcd" again and again: after a few windows the adapted model predicts it; the static one
  // never does.
  const nlohmann::json adapted = t.evaluate_dynamic("dev", {1.0, 0});
  INFO("static ", fixed.dump(), " dynamic ", adapted.dump());
  CHECK(adapted["bits_per_token"].get<double>() < fixed["bits_per_token"].get<double>() - 1.0);
  // A full pull back after every window undoes each step before the next: little is learned.
  const nlohmann::json forgetting = t.evaluate_dynamic("dev", {1.0, 1.0});
  CHECK(forgetting["bits_per_token"].get<double>() > adapted["bits_per_token"].get<double>());

  // The weights are the trained ones again, and the static evaluation is unchanged.
  CHECK(same_tensors(t.model().state_dict(), trained));
  CHECK(t.evaluate("dev") == fixed);
}

TEST_CASE("dynamic evaluation: each window scored, then SGD's step and the pull back") {
  TempDir tmp;
  const std::unique_ptr<Trainer> run = trained(tmp);
  Trainer& t = *run;
  Model& model = t.model();
  auto& carrier = dynamic_cast<StateCarryingModel&>(model);
  // Two streams of 45 characters (ids 4..29 are the letters), windows of 7.
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 90; ++i) ids.push_back(4 + (i * i + 3 * i) % 26);
  const data::TextWindows windows(ids, 7, 0, 2);
  const DynamicEvaluationOptions options{0.3, 0.25};

  carrier.set_carried_state({}, 2);
  const DynamicEvaluationTotals got = dynamic_evaluation(model, windows, 2, options);

  // By hand: score, backward, optim::SGD's step, then decay (θ_g − θ) from the weights before it.
  const StateDict params = model.named_parameters();
  StateDict start;
  for (const auto& [name, p] : params) start.emplace_back(name, p.detach().clone());
  optim::SGD sgd(params, {options.lr});
  carrier.set_carried_state({}, 2);
  model.eval();
  double sum = 0, count = 0;
  for (int64_t first = 0; first < windows.size(); first += 2) {
    const ModelOutput out = model.forward(windows.get({first, first + 1}));
    sum += out.loss.item() * out.loss_count;
    count += out.loss_count;
    out.loss.backward();
    StateDict before;
    for (const auto& [name, p] : params) before.emplace_back(name, p.detach().clone());
    sgd.step();
    sgd.zero_grad();
    for (size_t i = 0; i < params.size(); ++i) {
      float* p = params[i].second.data();
      const float *g = start[i].second.data(), *b = before[i].second.data();
      for (int64_t k = 0; k < params[i].second.numel(); ++k)
        p[k] += static_cast<float>(options.decay) * (g[k] - b[k]);
    }
  }
  CHECK(got.loss.count == count);
  CHECK(got.loss.sum / got.loss.count == doctest::Approx(sum / count).epsilon(1e-5));
  CHECK(got.samples == windows.size());
  CHECK(got.metrics.at("bits_per_token").count == count);
}

TEST_CASE("dynamic evaluation: bad options, a model that is no language model, the command line") {
  TempDir tmp;
  const nlohmann::json r = recipe(write_corpus(tmp.fs_path() / "corpus.txt"));
  Trainer t(r, (tmp.fs_path() / "eval").string());
  CHECK(error_of([&] {
          t.evaluate_dynamic("dev", {-1, 0});
        }) == "dynamic evaluation: lr must be >= 0, got -1");
  CHECK(error_of([&] {
          t.evaluate_dynamic("dev", {0.1, 1.5});
        }) == "dynamic evaluation: decay must be in [0, 1], got 1.5");
  CHECK(error_of([&] {
          t.evaluate_dynamic("validation", {0.1, 0});
        }) == "unknown split \"validation\" (valid: train, dev, test)");
  nlohmann::json classifier = recipe_for("lstm");
  classifier["train"]["epochs"] = 1;
  Trainer c(classifier, (tmp.fs_path() / "classifier").string());
  CHECK(error_of([&] {
          c.evaluate_dynamic("test", {0.1, 0});
        }).starts_with("dynamic evaluation needs a language_model, and this run's model is "));

  // heed eval: one JSON line with "dynamic"; the run's recipe file is not changed.
  const fs::path run = tmp.fs_path() / "run";
  std::ofstream(tmp.fs_path() / "recipe.json") << r.dump();
  REQUIRE(run_cli("train " + (tmp.fs_path() / "recipe.json").string() + " --out " + run.string(),
                  tmp.fs_path())
              .status == 0);
  const std::string recipe_text = files::read((run / "recipe.resolved.json").string());
  const auto [status, out] = run_with_stdout(
      "eval " + run.string() + " --split test --dynamic-lr 0.5 --dynamic-decay 0.01",
      tmp.fs_path());
  REQUIRE(status == 0);
  const nlohmann::json result = nlohmann::json::parse(out);
  CHECK(result["dynamic"] == nlohmann::json{{"lr", 0.5}, {"decay", 0.01}});
  CHECK(result["split"] == "test");
  CHECK(result.contains("bits_per_token"));
  CHECK(files::read((run / "recipe.resolved.json").string()) == recipe_text);
  const CliResult no_lr = run_cli("eval " + run.string() + " --dynamic-decay 0.1", tmp.fs_path());
  CHECK(no_lr.status == 2);
  CHECK(no_lr.err.find("--dynamic-decay requires --dynamic-lr") != std::string::npos);
  const CliResult negative = run_cli("eval " + run.string() + " --dynamic-lr -1", tmp.fs_path());
  CHECK(negative.status == 2);
  const CliResult bad_set =
      run_cli("eval " + run.string() + " --dynamic-lr 0.1 --set data.bpt=4", tmp.fs_path());
  CHECK(bad_set.status == 1);
  CHECK(bad_set.err.find("unknown key \"data.bpt\"; did you mean \"bptt\"?") != std::string::npos);
}

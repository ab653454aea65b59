// init_from (framework/warm_start.h): a run's model starts from another file's /model weights,
// strictly or taking what matches, on the real Fashion-MNIST files (a few dozen examples).

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli.h"
#include "framework/checkpoint.h"
#include "framework/hdf5.h"
#include "framework/random.h"
#include "framework/trainer.h"
#include "framework/warm_start.h"
#include "temp_dir.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

nlohmann::json lstm_model(int64_t hidden_size, int64_t num_layers = 1) {
  return {
      {"type", "sequence_classifier"},
      {"encoder", {{"type", "lstm"}, {"hidden_size", hidden_size}, {"num_layers", num_layers}}}};
}

nlohmann::json tiny_recipe(const nlohmann::json& model) {
  return {{"data",
           {{"name", "fashion_mnist"},
            {"max_train_samples", 64},
            {"dev_samples", 32},
            {"max_test_samples", 32}}},
          {"model", model},
          {"optimizer", {{"name", "adam"}, {"lr", 0.01}}},
          {"train", {{"max_steps", 2}, {"batch_size", 32}, {"seed", 3}, {"threads", 1}}}};
}

// A trained tiny LSTM run's last checkpoint (its weights differ from any fresh initialization).
fs::path trained_run(const fs::path& dir) {
  Trainer(tiny_recipe(lstm_model(8)), dir.string()).train();
  return dir / "checkpoints" / "last.h5";
}

// The recipe's model, freshly initialized from seed 99, for Fashion-MNIST's rows.
std::shared_ptr<Model> fresh_model(const nlohmann::json& model) {
  Generator gen(99);
  return build_model(Config(model, "model"), DataInfo{{28, 28}, 10}, gen);
}

std::vector<float> values(const Tensor& t) {
  return t.dtype() == Dtype::Float32
             ? t.to_vector()
             : std::vector<float>(t.to_vector_i64().begin(), t.to_vector_i64().end());
}

// Every tensor of `model` equals the same key of `weights`.
void check_equal(const Module& model, const StateDict& weights) {
  std::map<std::string, Tensor> by_name(weights.begin(), weights.end());
  for (const auto& [name, t] : model.state_dict()) {
    INFO(name);
    REQUIRE(by_name.count(name));
    CHECK(values(t) == values(by_name.at(name)));
  }
}

}  // namespace

TEST_CASE("init_from: a model warm-started from a trained run holds that run's weights") {
  TempDir tmp;
  const fs::path ckpt = trained_run(tmp.fs_path() / "a");
  const StateDict trained = load_checkpoint(ckpt.string()).model;
  auto model = fresh_model(lstm_model(8));
  std::ostringstream log;
  const WarmStartReport report = warm_start({ckpt.string(), true}, *model, log);
  check_equal(*model, trained);
  CHECK(report.loaded == static_cast<int64_t>(trained.size()));
  CHECK(report.skipped.empty());
  CHECK(log.str().empty());

  // Through the trainer: before any step, the warm-started run evaluates as the trained one, and
  // its metrics.jsonl begins with the init_from line.
  nlohmann::json recipe = tiny_recipe(lstm_model(8));
  recipe["init_from"] = ckpt.string();
  recipe["train"]["seed"] = 11;  // another initialization, which init_from overwrites
  Trainer warm(recipe, (tmp.fs_path() / "b").string());
  Trainer original(tiny_recipe(lstm_model(8)), (tmp.fs_path() / "a").string());
  original.restore(ckpt.string());
  CHECK(warm.evaluate("test")["loss"] == original.evaluate("test")["loss"]);
  warm.train();
  std::ifstream metrics(tmp.fs_path() / "b" / "metrics.jsonl");
  std::string first;
  std::getline(metrics, first);
  const auto line = nlohmann::json::parse(first);
  CHECK(line["kind"] == "init_from");
  CHECK(line["path"] == ckpt.string());
  CHECK(line["strict"] == true);
  CHECK(line["loaded"] == trained.size());
  CHECK(line["skipped"].empty());

  // A resume (and `heed eval`) restores the run's own checkpoint: init_from is not applied again,
  // so the file it names may be gone.
  fs::rename(ckpt, tmp.file("moved.h5"));
  Trainer resumed(recipe, (tmp.fs_path() / "b").string());
  resumed.restore((tmp.fs_path() / "b" / "checkpoints" / "last.h5").string());
  // Without the run's checkpoint, the missing file is an error naming it.
  const std::string err = error_of([&] { Trainer fresh(recipe, tmp.file("c")); });
  CHECK(err.find("init_from " + ckpt.string() + ": no such file") != std::string::npos);
}

TEST_CASE("init_from strict: a mismatch changes nothing and names every key") {
  TempDir tmp;
  const fs::path ckpt = trained_run(tmp.fs_path() / "a");
  auto wider = fresh_model(lstm_model(12));
  const StateDict before = wider->state_dict();
  std::vector<std::vector<float>> before_values;
  for (const auto& [name, t] : before) before_values.push_back(values(t));
  std::ostringstream log;
  const std::string err = error_of([&] { warm_start({ckpt.string(), true}, *wider, log); });
  CHECK(err.find("init_from " + ckpt.string()) == 0);
  CHECK(err.find("mis-shaped keys: lstm.weight_ih_l0 (checkpoint [32, 28], model [48, 28])") !=
        std::string::npos);
  CHECK(err.find("fc.weight (checkpoint [10, 8], model [10, 12])") != std::string::npos);
  CHECK(err.find("\"strict\": false") != std::string::npos);
  for (size_t i = 0; i < before.size(); ++i) CHECK(values(before[i].second) == before_values[i]);

  auto deeper = fresh_model(lstm_model(8, 2));
  const std::string missing = error_of([&] { warm_start({ckpt.string(), true}, *deeper, log); });
  CHECK(missing.find("missing keys: lstm.weight_ih_l1, lstm.weight_hh_l1, lstm.bias_ih_l1, "
                     "lstm.bias_hh_l1;") != std::string::npos);

  auto gru = fresh_model(
      {{"type", "sequence_classifier"}, {"encoder", {{"type", "gru"}, {"hidden_size", 8}}}});
  const std::string unexpected = error_of([&] { warm_start({ckpt.string(), true}, *gru, log); });
  CHECK(unexpected.find("unexpected keys: lstm.bias_hh_l0, lstm.bias_ih_l0") != std::string::npos);
}

TEST_CASE("init_from strict false: loads what matches, reports and prints every skipped key") {
  TempDir tmp;
  const fs::path ckpt = trained_run(tmp.fs_path() / "a");
  const StateDict trained = load_checkpoint(ckpt.string()).model;
  // Two layers of 8: layer 0 and the head match, layer 1 is new.
  auto deeper = fresh_model(lstm_model(8, 2));
  const StateDict fresh = deeper->state_dict();
  const std::vector<float> l1_before = values(fresh[4].second);  // lstm.weight_ih_l1
  std::ostringstream log;
  const WarmStartReport report = warm_start({ckpt.string(), false}, *deeper, log);
  CHECK(report.loaded == 6);  // 4 of layer 0, fc.weight, fc.bias
  REQUIRE(report.skipped.size() == 4);
  CHECK(report.skipped[0].key == "lstm.weight_ih_l1");
  CHECK(report.skipped[0].reason == "not in the file");
  CHECK(values(deeper->state_dict()[4].second) == l1_before);
  std::map<std::string, Tensor> by_name(trained.begin(), trained.end());
  CHECK(values(deeper->state_dict()[0].second) == values(by_name.at("lstm.weight_ih_l0")));
  CHECK(log.str().find("init_from " + ckpt.string() +
                       ": skipped lstm.weight_ih_l1 (not in the file)\n") != std::string::npos);

  // A wider model: every tensor mis-shaped; a GRU: the LSTM's keys are not in the model.
  auto wider = fresh_model(lstm_model(12));
  const WarmStartReport w = warm_start({ckpt.string(), false}, *wider, log);
  CHECK(w.loaded == 1);  // fc.bias [10] fits any width
  CHECK(w.skipped[0].reason == "shape [32, 28] in the file, [48, 28] in the model");
  auto gru = fresh_model(
      {{"type", "sequence_classifier"}, {"encoder", {{"type", "gru"}, {"hidden_size", 8}}}});
  const WarmStartReport g = warm_start({ckpt.string(), false}, *gru, log);
  CHECK(g.loaded == 2);
  REQUIRE(g.skipped.size() == 8);  // 4 GRU keys not in the file, then 4 LSTM keys in file order
  CHECK(g.skipped[4].key == "lstm.bias_hh_l0");
  CHECK(g.skipped[4].reason == "not in the model");
  const nlohmann::json line = g.to_json();
  CHECK(line["kind"] == "init_from");
  CHECK(line["skipped"][0] ==
        nlohmann::json{{"key", "gru.weight_ih_l0"}, {"reason", "not in the file"}});
}

TEST_CASE("init_from reads a plain HDF5 file of /model datasets, as h5py writes a state_dict") {
  TempDir tmp;
  auto source = randomized(fresh_model(lstm_model(8)), 5);
  {
    h5::File file = h5::File::create(tmp.file("torch.h5"));
    for (const auto& [name, t] : source->state_dict()) {
      // Nested groups (model/fc/weight) read as dotted keys too.
      const std::string path =
          name.rfind("fc.", 0) == 0 ? "model/fc/" + name.substr(3) : "model/" + name;
      file.write_f32(path, t.shape(), t.contiguous().data());
    }
    file.close();
  }
  auto model = fresh_model(lstm_model(8));
  std::ostringstream log;
  warm_start({tmp.file("torch.h5"), true}, *model, log);
  check_equal(*model, source->state_dict());

  {
    h5::File file = h5::File::create(tmp.file("no_model.h5"));
    file.write_f32("weights/fc.bias", {10}, source->state_dict().back().second.data());
    file.close();
  }
  CHECK(error_of([&] {
          warm_start({tmp.file("no_model.h5"), true}, *model, log);
        }).find("init_from " + tmp.file("no_model.h5") + ": no /model group") == 0);
  CHECK(error_of([&] { read_model_weights("missing/pretrained.h5"); }) ==
        "init_from missing/pretrained.h5: no such file (the path is relative to the working "
        "directory " +
            fs::current_path().string() + ")");
}

TEST_CASE("init_from recipe errors name the key") {
  auto parse = [](const nlohmann::json& value) {
    const nlohmann::json root = {{"init_from", value}};
    const Config c(root, "");
    InitFrom::from_config(c);
    c.finish();
  };
  CHECK(error_of([&] { parse(3); }).find("recipe: \"init_from\" must be a file name or") == 0);
  CHECK(error_of([&] {
          parse({{"path", "a.h5"}, {"strcit", false}});
        }).find("unknown key \"init_from.strcit\"; did you mean \"strict\"?") != std::string::npos);
  CHECK(error_of([&] {
          parse({{"strict", false}});
        }).find("missing required key \"init_from.path\"") != std::string::npos);
  CHECK(error_of([&] { parse(""); }).find("\"init_from\" names no file") != std::string::npos);
  const nlohmann::json absent = nlohmann::json::object();
  CHECK_FALSE(InitFrom::from_config(Config(absent, "")).has_value());
  const nlohmann::json object = {{"init_from", {{"path", "a.h5"}, {"strict", false}}}};
  const auto from = InitFrom::from_config(Config(object, ""));
  REQUIRE(from.has_value());
  CHECK(from->path == "a.h5");
  CHECK_FALSE(from->strict);
}

TEST_CASE("heed train --dry-run checks init_from's file and shapes") {
  TempDir tmp;
  const fs::path ckpt = trained_run(tmp.fs_path() / "a");
  nlohmann::json recipe = tiny_recipe(lstm_model(12));
  recipe["init_from"] = ckpt.string();
  std::ofstream(tmp.file("r.json")) << recipe.dump();
  const CliResult strict = run_cli("train " + tmp.file("r.json") + " --dry-run", tmp.fs_path());
  CHECK(strict.status == 1);
  CHECK(strict.err.find("heed: error: init_from " + ckpt.string() +
                        ": load_state_dict: state does not match") == 0);
  recipe["init_from"] = {{"path", ckpt.string()}, {"strict", false}};
  std::ofstream(tmp.file("r.json")) << recipe.dump();
  const CliResult loose = run_cli("train " + tmp.file("r.json") + " --dry-run", tmp.fs_path());
  CHECK(loose.status == 0);
  CHECK(loose.err.find("skipped lstm.weight_ih_l0 (shape [32, 28] in the file, [48, 28] in the "
                       "model)") != std::string::npos);
  CHECK(loose.err.find(": loaded 1 of 6 tensors of the model") != std::string::npos);
}

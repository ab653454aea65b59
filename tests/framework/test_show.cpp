// `heed show` (framework/show.h, framework/cli/show.h): a checkpoint's progress, metrics, recipe
// and tensor table, in process and through the command line, on a tiny Fashion-MNIST run.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli.h"
#include "framework/checkpoint.h"
#include "framework/hdf5_header.h"
#include "framework/show.h"
#include "framework/trainer.h"
#include "temp_dir.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

// 3 steps of a tiny LSTM with an evaluation after each and early stopping on accuracy, so the
// checkpoint holds a best_eval and metrics.jsonl three eval lines.
nlohmann::json tiny_recipe() {
  return {{"description", "a tiny run for heed show"},
          {"data",
           {{"name", "fashion_mnist"},
            {"max_train_samples", 96},
            {"dev_samples", 32},
            {"max_test_samples", 32}}},
          {"model",
           {{"type", "sequence_classifier"}, {"encoder", {{"type", "lstm"}, {"hidden_size", 8}}}}},
          {"optimizer", {{"name", "adam"}, {"lr", 0.01}}},
          {"train",
           {{"max_steps", 3},
            {"batch_size", 32},
            {"seed", 5},
            {"threads", 1},
            {"eval_interval", 1},
            {"early_stopping", {{"metric", "accuracy"}, {"mode", "max"}, {"patience", 10}}}}}};
}

double norm_of(const Tensor& t) {
  double sum = 0;
  for (float v : t.to_vector()) sum += static_cast<double>(v) * v;
  return std::sqrt(sum);
}

std::vector<nlohmann::json> eval_lines(const fs::path& metrics) {
  std::vector<nlohmann::json> out;
  std::ifstream in(metrics);
  for (std::string line; std::getline(in, line);)
    if (const auto j = nlohmann::json::parse(line); j["kind"] == "eval") out.push_back(j);
  return out;
}

// `heed <args>`'s exit status, with its stdout in `out`.
int run_cli_stdout(const std::string& args, const TempDir& tmp, std::string& out) {
  const std::string file = tmp.file("stdout.txt");
  const int raw = std::system(
      (std::string(HEED_BINARY) + " " + args + " > " + file + " 2> " + tmp.file("stderr.txt"))
          .c_str());
  std::ifstream in(file);
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

}  // namespace

TEST_CASE(
    "heed show: progress, metrics, recipe, tensor table, optimizer state; the CLI prints it") {
  TempDir tmp;
  const fs::path run = tmp.fs_path() / "run";
  Trainer(tiny_recipe(), run.string()).train();
  const fs::path file = run / "checkpoints" / "last.h5";
  const Checkpoint c = load_checkpoint(file.string());
  const nlohmann::json r = describe_checkpoint(run.string());

  CHECK(r["file"] == file.string());
  CHECK(r["format_version"] == 3);
  CHECK(r["run"]["dir"] == run.string());
  CHECK(r["run"]["status"] == "finished");
  CHECK(r["progress"]["step"] == 3);
  CHECK(r["progress"]["epoch"] == 1);
  CHECK(r["progress"]["position"] == 0);
  CHECK(r["progress"]["elapsed_s"] == c.progress.elapsed_ms / 1000.0);

  const auto evals = eval_lines(run / "metrics.jsonl");
  REQUIRE(evals.size() == 3);
  CHECK(r["metrics"]["last_eval"] == evals.back());
  CHECK(r["metrics"]["best_eval"]["kind"] == "eval");
  CHECK(r["metrics"]["early_stopping"]["metric"] == "accuracy");

  const nlohmann::json& recipe = r["recipe"];
  CHECK(recipe["description"] == "a tiny run for heed show");
  CHECK(recipe["data"] == "fashion_mnist");
  CHECK(recipe["model"] == "sequence_classifier");
  CHECK(recipe["encoder"] == "lstm");
  CHECK(recipe["optimizer"] == "adam");
  CHECK(recipe["lr"] == 0.01);
  CHECK(recipe["schedule"] == "constant");
  CHECK(recipe["epochs"] == 1);  // TrainOptions' default, absent from the recipe
  CHECK(recipe["batch_size"] == 32);
  CHECK(recipe["seed"] == 5);

  const nlohmann::json& model = r["model"];
  REQUIRE(model["tensors"].size() == c.model.size());
  int64_t elements = 0;
  std::string values;  // every tensor's bytes, one after another, for the CRC-32
  for (size_t i = 0; i < c.model.size(); ++i) {
    const nlohmann::json& t = model["tensors"][i];
    const auto& [name, tensor] = c.model[i];
    INFO(name);
    CHECK(t["name"] == name);
    CHECK(t["shape"] == tensor.shape());
    CHECK(t["dtype"] == "float32");
    CHECK(t["numel"] == tensor.numel());
    CHECK(t["norm"].get<double>() == doctest::Approx(norm_of(tensor)).epsilon(1e-12));
    CHECK(t["norm"].get<double>() > 0);
    elements += tensor.numel();
    const std::vector<float> v = tensor.to_vector();
    values.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  }
  char crc[11];
  std::snprintf(crc, sizeof crc, "0x%08x", h5::crc32_of(values));
  CHECK(model["values_crc32"] == crc);
  CHECK(model["count"] == 6);
  CHECK(model["elements"] == elements);
  CHECK(model["int64_elements"] == 0);
  const nlohmann::json& opt = r["optimizer"];
  CHECK(opt["count"] == 18);
  CHECK(opt["elements"] == 2 * elements + 6);
  CHECK(opt["states"]["exp_avg"] == nlohmann::json{{"count", 6}, {"elements", elements}});
  CHECK(opt["states"]["step"]["count"] == 6);
  CHECK(opt["step"] == 3);

  const std::string text = format_checkpoint_report(r);
  for (const std::string& part :
       {"checkpoint   " + file.string() + " (format_version 3)\n",
        "run          " + run.string() + ": finished at step 3 (summary.json)\n",
        std::string("progress     step 3, 1 epoch completed, at the end of epoch 1, trained "),
        std::string("description  a tiny run for heed show\n"),
        std::string("recipe       data fashion_mnist, model sequence_classifier (encoder lstm)\n"),
        std::string("             optimizer adam, lr 0.01, schedule constant\n"),
        std::string("             epochs 1, batch_size 32, seed 5\n"),
        std::string("  lstm.weight_ih_l0  [32, 28]  float32       896"),
        "  total: 6 tensors, " + std::to_string(elements) + " elements (float32 " +
            std::to_string(elements) + ", int64 0), values crc32 " + crc + "\n",
        std::string("optimizer    18 tensors, ") + std::to_string(2 * elements + 6) +
            " elements: exp_avg x6, exp_avg_sq x6, step x6; step 3\n",
        std::string("last eval    step 3 (dev, 32 samples): accuracy ")})
    CHECK_MESSAGE(text.find(part) != std::string::npos, part, "\nnot in\n", text);

  // The command line prints the same report, as text or one JSON object; errors in one line.
  std::string out;
  REQUIRE(run_cli_stdout("show " + run.string() + " --json", tmp, out) == 0);
  CHECK(nlohmann::json::parse(out) == r);
  REQUIRE(run_cli_stdout("show " + run.string(), tmp, out) == 0);
  CHECK(out == text);

  const CliResult missing = run_cli("show " + tmp.file("none.h5"), tmp.fs_path());
  CHECK(missing.status == 1);
  CHECK(missing.err == "heed: error: checkpoint " + tmp.file("none.h5") + ": no such file\n");
  std::ofstream(tmp.file("text.h5")) << "not hdf5";
  const CliResult not_hdf5 = run_cli("show " + tmp.file("text.h5"), tmp.fs_path());
  CHECK(not_hdf5.status == 1);
  CHECK(not_hdf5.err.find("not an HDF5 file") != std::string::npos);
}

TEST_CASE("heed show: the last eval at or before the checkpoint's step; files outside a run") {
  TempDir tmp;
  const fs::path run = tmp.fs_path() / "run";
  Trainer(tiny_recipe(), run.string()).train();
  const auto evals = eval_lines(run / "metrics.jsonl");
  {
    // A later line (a run that went on past its last checkpoint) and a torn line are passed over.
    std::ofstream out(run / "metrics.jsonl", std::ios::app);
    out << R"({"kind": "eval", "step": 4, "loss": 1.0})"
        << "\n"
        << R"({"kind": "ev)";
  }
  fs::remove(run / "summary.json");
  const fs::path file = run / "checkpoints" / "last.h5";
  const nlohmann::json r = describe_checkpoint(file.string());  // the file names its run
  CHECK(r["run"]["dir"] == run.string());
  CHECK_FALSE(r["run"].contains("status"));
  CHECK(r["metrics"]["last_eval"] == evals.back());

  fs::copy_file(file, tmp.file("copy.h5"));
  const nlohmann::json alone = describe_checkpoint(tmp.file("copy.h5"));
  CHECK_FALSE(alone.contains("run"));
  CHECK_FALSE(alone["metrics"].contains("last_eval"));
  CHECK(alone["metrics"].contains("best_eval"));  // kept in the checkpoint's train_state
  CHECK(format_checkpoint_report(alone).find("\nrun ") == std::string::npos);

  CHECK(error_of([&] { describe_checkpoint(tmp.path()); }) ==
        "run " + tmp.path() +
            ": checkpoints/last.h5 is missing (not a run directory, or the run has written no "
            "checkpoint yet)");
  CHECK(error_of([&] { describe_checkpoint(tmp.file("none.h5")); }) ==
        "checkpoint " + tmp.file("none.h5") + ": no such file");
}

TEST_CASE("heed show: names sorted with numbers as numbers, int64 buffers, SGD's state, no run") {
  TempDir tmp;
  Checkpoint c;
  for (const char* name :
       {"layers.10.weight", "layers.2.num_batches_tracked", "layers.2.weight", "layers.1.weight"})
    c.model.emplace_back(name, std::string(name).find("num_batches") != std::string::npos
                                   ? Tensor::from_vector_i64({12}, {})
                                   : Tensor::full({2, 2}, 1.5f));
  c.optimizer = {{"layers.1.weight.momentum_buffer", Tensor::full({2, 2}, 0.f)}};
  c.progress = {2, 40, 7, 96, 3723500};
  c.rng = {1, 2, 3, 4};  // save_checkpoint refuses what load would: a zero state, no train_state
  c.train_state = "{}";
  c.recipe = R"({"model": {"type": "image_classifier", "layers": [{"type": "conv2d"}]},
                 "optimizer": {"name": "sgd"}, "init_from": "base.h5",
                 "schedule": [{"name": "warmup"}, {"name": "cosine"}]})";
  save_checkpoint(tmp.file("c.h5"), c);
  const nlohmann::json r = describe_checkpoint(tmp.file("c.h5"));
  std::vector<std::string> names;
  for (const auto& t : r["model"]["tensors"]) names.push_back(t["name"]);
  CHECK(names == std::vector<std::string>{"layers.1.weight", "layers.2.num_batches_tracked",
                                          "layers.2.weight", "layers.10.weight"});
  CHECK(r["model"]["tensors"][1]["dtype"] == "int64");
  CHECK(r["model"]["tensors"][1]["norm"] == 12.0);
  CHECK(r["model"]["tensors"][0]["norm"] == 3.0);  // sqrt(4 * 1.5^2)
  CHECK(r["model"]["int64_elements"] == 1);
  CHECK_FALSE(r["optimizer"].contains("step"));
  CHECK(r["recipe"]["lr"].is_null());
  CHECK(r["recipe"]["layers"] == nlohmann::json{"conv2d"});
  const std::string text = format_checkpoint_report(r);
  for (const std::string part :
       {"progress     step 40, 2 epochs completed, 96 examples into epoch 3, trained 1h 02m 03s\n",
        "recipe       data (default), model image_classifier (layers conv2d)\n",
        "             optimizer sgd, lr (default), schedule \"warmup\" + \"cosine\"\n",
        "             epochs 1, batch_size 64, seed 0\n", "init_from    base.h5\n",
        "  layers.2.num_batches_tracked  []      int64           1    12\n",
        "optimizer    1 tensor, 4 elements: momentum_buffer x1\n"})
    CHECK_MESSAGE(text.find(part) != std::string::npos, part, "\nnot in\n", text);
}

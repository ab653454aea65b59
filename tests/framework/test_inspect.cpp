// The Inspector (framework/inspect.h) and `heed inspect`: what attention layers record, under
// which names, and the HDF5 file a run's inspection writes.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "cli.h"
#include "framework/autograd.h"
#include "framework/hdf5.h"
#include "framework/inspect.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "framework/trainer.h"
#include "layers/attention/channel.h"
#include "layers/attention/linear.h"
#include "layers/attention/multihead.h"
#include "layers/transformer.h"
#include "temp_dir.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

void check_same(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const std::vector<float> x = a.contiguous().to_vector(), y = b.contiguous().to_vector();
  for (size_t i = 0; i < x.size(); ++i) CHECK(x[i] == doctest::Approx(y[i]).epsilon(1e-5));
}

}  // namespace

TEST_CASE("Inspector: records only while alive, one at a time, named by module path") {
  Generator gen(3);
  nn::TransformerEncoder encoder({.d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0}, 2,
                                 false, gen);
  const Tensor x = Tensor::randn({3, 5, 8}, gen);
  {
    Inspector first;
    encoder.forward(x);
    CHECK(error_of([] { Inspector second; }) ==
          "Inspector: another Inspector is already recording on this thread");
    const auto named = first.named(encoder);
    REQUIRE(named.size() == 2);
    CHECK(named[0].first == "layers.0.self_attn.weights");
    CHECK(named[1].first == "layers.1.self_attn.weights");
    CHECK(named[1].second.shape() == Shape({3, 2, 5, 5}));
    // Modules outside the root's tree are left out.
    CHECK(first.named(*encoder.layers[1]).size() == 1);
    CHECK(first.named(*encoder.layers[1])[0].first == "self_attn.weights");
  }
  CHECK_FALSE(Inspector::active());
  Inspector later;  // the first one is gone, so a new one may record
  CHECK(later.named(encoder).empty());
}

TEST_CASE("Inspector: MultiheadAttention records the weights it returns, also when not asked") {
  Generator gen(5);
  const Tensor x = Tensor::randn({2, 6, 8}, gen);
  Tensor padding = Tensor::zeros({2, 6}, Dtype::Int64);
  padding.data_i64()[6 + 5] = 1;
  for (const std::string attention : {"scaled_dot_product", "sparsemax", "linear", "windowed"}) {
    CAPTURE(attention);
    nn::MultiheadAttention mha({.embed_dim = 8, .num_heads = 2, .variant = {.type = attention}},
                               gen);
    mha.eval();
    const Tensor expected = mha.forward(x, x, x, padding).weights;
    Inspector inspector;
    const nn::AttentionOutput out = mha.forward(x, x, x, padding, Tensor(), /*need_weights=*/false);
    CHECK_FALSE(out.weights.defined());
    const auto named = inspector.named(mha);
    REQUIRE(named.size() == 1);
    CHECK(named[0].first == "weights");
    check_same(named[0].second, expected);
    // Each query's weights are a distribution over the unpadded keys.
    const Tensor sums = ops::sum(named[0].second, {-1});
    for (const float s : sums.to_vector()) CHECK(s == doctest::Approx(1.f).epsilon(1e-4));
    CHECK(named[0].second.at({1, 0, 2, 5}) == 0.f);
  }
}

TEST_CASE("Inspector: CBAM records its channel and spatial maps") {
  Generator gen(2);
  nn::CBAM cbam(8, gen, 2, 3);
  const Tensor x = Tensor::randn({2, 8, 4, 5}, gen);
  Inspector inspector;
  const nn::AttentionMap map = cbam.attend(x);
  const auto named = inspector.named(cbam);
  REQUIRE(named.size() == 2);
  CHECK(named[0].first == "channel_attention.weights");
  CHECK(named[0].second.shape() == Shape({2, 8}));
  CHECK(named[1].first == "spatial_attention.weights");
  check_same(named[1].second, map.attention);
}

TEST_CASE("heed inspect: a run's examples, their targets, logits and attention in one HDF5 file") {
  TempDir tmp;
  const nlohmann::json recipe = {
      {"data",
       {{"name", "fashion_mnist"},
        {"max_train_samples", 64},
        {"dev_samples", 32},
        {"max_test_samples", 32}}},
      {"model",
       {{"type", "sequence_classifier"},
        {"encoder", {{"type", "transformer"}, {"d_model", 16}, {"nhead", 2}, {"num_layers", 1}}}}},
      {"optimizer", {{"name", "adam"}}},
      {"train", {{"max_steps", 2}, {"batch_size", 32}, {"threads", 1}}}};
  const fs::path run = tmp.fs_path() / "run";
  {
    Trainer trainer(recipe, run.string());
    trainer.train();
  }
  Trainer trainer(recipe, run.string());
  const std::string ckpt = (run / "checkpoints" / "last.h5").string();
  trainer.restore(ckpt);
  const std::string path = tmp.file("inspect.h5");
  const nlohmann::json result = trainer.inspect("test", {4, 0, 31}, path, ckpt);
  CHECK(result["samples"] == 3);
  CHECK(result["records"]["encoder.layers.0.self_attn.weights"] ==
        nlohmann::json::array({3, 2, 28, 28}));

  const h5::File file = h5::File::open(path);
  CHECK(file.get_attr_string("/", "format") == "heed-inspect");
  CHECK(file.read_i64("indices") == std::vector<int64_t>{4, 0, 31});
  CHECK(file.shape("input") == std::vector<int64_t>{3, 28, 28});
  CHECK(file.shape("target") == std::vector<int64_t>{3});
  CHECK(file.shape("records/logits") == std::vector<int64_t>{3, 10});
  CHECK(file.read_string("checkpoint") == ckpt);
  CHECK(nlohmann::json::parse(file.read_string("recipe")) == recipe);

  CHECK(error_of([&] { trainer.inspect("test", {32}, tmp.file("x.h5"), ckpt); }) ==
        "inspect: example 32 is outside the split's 32 examples [0, 32)");
  CHECK(error_of([&] { trainer.inspect("validation", {0}, tmp.file("x.h5"), ckpt); }) ==
        "unknown split \"validation\" (valid: train, dev, test)");
  CHECK_FALSE(fs::exists(tmp.file("x.h5")));

  // The command line: --index picks examples, a bad one is one line on stderr and status 1.
  std::ofstream(run / "recipe.resolved.json") << recipe.dump();
  const std::string inspect = "inspect " + run.string();
  const std::string out = tmp.file("cli.h5");
  CHECK(run_cli(inspect + " --index 7 --index 2 --out " + out, tmp.fs_path()).status == 0);
  CHECK(h5::File::open(out).read_i64("indices") == std::vector<int64_t>{7, 2});
  CHECK(run_cli(inspect, tmp.fs_path()).status == 0);
  CHECK(h5::File::open((run / "inspect_test.h5").string()).shape("input")[0] == 8);
  CHECK(run_cli(inspect + " --index 40", tmp.fs_path()).status == 1);
}

// Conv1d/Conv2d, pooling, BatchNorm1d/2d, Flatten, SqueezeExcitation and CBAM against PyTorch,
// their parameter names, train/eval behaviour and gradient checks; the image_classifier model.
//
// Where the numbers come from: tests/fixtures/conv_*.json, written by
// tests/fixtures/make_conv_fixtures.py (PyTorch 1.13, float64 references from float32 inputs; SE
// and CBAM from the script's reference implementations of the papers' equations). Gradients are
// those of L = sum(output * grad_outputs.output).

#include <doctest/doctest.h>

#include <memory>

#include "fixture.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "framework/registry.h"
#include "gradcheck.h"
#include "layers/attention/attention_in_attention.h"
#include "layers/attention/channel.h"
#include "layers/batch_norm.h"
#include "layers/conv.h"
#include "layers/flatten.h"
#include "layers/pool.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using Names = std::vector<std::string>;
using V = const std::vector<Tensor>&;

namespace {

constexpr float kAtol = 1e-5f;
constexpr float kRtol = 1e-4f;

void check_output(const Fixture& f, const std::string& name, const Tensor& got) {
  CHECK(got.shape() == f.output(name).shape());
  check_close(got.to_vector(), f.output(name).to_vector(), kAtol, kRtol, name);
}

// Runs `forward` on the fixture's input, checks "output" (and "attention" when given), then the
// gradients of the input and of every parameter of `m`.
void check_module(const Fixture& f, Module& m,
                  const std::function<std::pair<Tensor, Tensor>(const Tensor&)>& forward) {
  m.load_state_dict(f.params());
  Tensor x = f.input("input").requires_grad_();
  const auto [y, attention] = forward(x);
  check_output(f, "output", y);
  if (attention.defined()) check_output(f, "attention", attention);
  ops::sum(y * f.grad_output("output")).backward();
  check_close(x.grad().to_vector(), f.grad("input").to_vector(), kAtol, kRtol, "grad of input");
  size_t n = 0;
  for (const auto& [name, p] : m.named_parameters()) {
    ++n;
    REQUIRE_MESSAGE(p.grad().defined(), "parameter ", name, " got no gradient");
    check_close(p.grad().to_vector(), f.grad(name).to_vector(), kAtol, kRtol, "grad of " + name);
  }
  CHECK(n + 1 == f.json.at("grads").size());
}

template <class M>
std::function<std::pair<Tensor, Tensor>(const Tensor&)> plain(const M& m) {
  return [&m](const Tensor& x) { return std::make_pair(m.forward(x), Tensor()); };
}

template <class M>
std::function<std::pair<Tensor, Tensor>(const Tensor&)> with_map(const M& m) {
  return [&m](const Tensor& x) {
    const nn::AttentionMap a = m.attend(x);
    return std::make_pair(a.output, a.attention);
  };
}

}  // namespace

TEST_CASE("nn::Conv2d with stride, padding, dilation and groups matches PyTorch (conv_conv2d)") {
  const Fixture f = load_fixture("conv_conv2d");
  Generator gen(0);
  nn::Conv2d conv({.in_channels = 4,
                   .out_channels = 6,
                   .kernel_size = {3, 2},
                   .stride = {2, 1},
                   .padding = {1, 1},
                   .dilation = {1, 2},
                   .groups = 2},
                  gen);
  check_module(f, conv, plain(conv));
}

TEST_CASE("nn::Conv1d with stride, padding, dilation and groups matches PyTorch (conv_conv1d)") {
  const Fixture f = load_fixture("conv_conv1d");
  Generator gen(0);
  nn::Conv1d conv({.in_channels = 4,
                   .out_channels = 4,
                   .kernel_size = 3,
                   .stride = 2,
                   .padding = 2,
                   .dilation = 2,
                   .groups = 2},
                  gen);
  check_module(f, conv, plain(conv));
}

TEST_CASE("pooling layers match PyTorch, values and input gradients (conv_pool)") {
  const Fixture f = load_fixture("conv_pool");
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> pools = {
      {"max_pool2d",
       [](const Tensor& x) {
         return nn::MaxPool2d({3, 3}, {2, 2}, {1, 1}).forward(x);
       }},
      {"avg_pool2d",
       [](const Tensor& x) {
         return nn::AvgPool2d({3, 3}, {2, 2}, {1, 1}).forward(x);
       }},
      {"avg_pool2d_exclude_pad",
       [](const Tensor& x) {
         return nn::AvgPool2d({3, 3}, {2, 2}, {1, 1}, false).forward(x);
       }},
      {"adaptive_avg_pool2d_3x2",
       [](const Tensor& x) {
         return nn::AdaptiveAvgPool2d({3, 2}).forward(x);
       }},
      {"adaptive_avg_pool2d_1", [](const Tensor& x) { return nn::AdaptiveAvgPool2d().forward(x); }},
      {"max_pool1d", [](const Tensor& x) { return nn::MaxPool1d(3, 2).forward(x); }},
      {"avg_pool1d", [](const Tensor& x) { return nn::AvgPool1d(2, 2, 1).forward(x); }},
  };
  for (const auto& [name, pool] : pools) {
    INFO("pool: ", name);
    Tensor x = f.input(name).requires_grad_();
    const Tensor y = pool(x);
    check_output(f, name, y);
    ops::sum(y * f.grad_output(name)).backward();
    check_close(x.grad().to_vector(), f.grad(name).to_vector(), kAtol, kRtol, "grad of " + name);
  }
}

TEST_CASE("nn::BatchNorm2d in training matches PyTorch, running statistics included") {
  const Fixture f = load_fixture("conv_batch_norm2d_train");
  nn::BatchNorm2d bn({.num_features = 3});
  check_module(f, bn, plain(bn));
  check_output(f, "running_mean", bn.running_mean);
  check_output(f, "running_var", bn.running_var);
  CHECK(bn.num_batches_tracked.item_i64() == f.output("num_batches_tracked").item_i64());
}

TEST_CASE("nn::BatchNorm2d in eval matches PyTorch and leaves the running statistics alone") {
  const Fixture f = load_fixture("conv_batch_norm2d_eval");
  nn::BatchNorm2d bn({.num_features = 3});
  bn.eval();
  check_module(f, bn, plain(bn));
  check_output(f, "running_mean", bn.running_mean);
  check_output(f, "running_var", bn.running_var);
  CHECK(bn.num_batches_tracked.item_i64() == 3);
}

TEST_CASE("nn::BatchNorm1d over [batch, channels, length] in training matches PyTorch") {
  const Fixture f = load_fixture("conv_batch_norm1d_train");
  nn::BatchNorm1d bn({.num_features = 4});
  check_module(f, bn, plain(bn));
  check_output(f, "running_mean", bn.running_mean);
  check_output(f, "running_var", bn.running_var);
  CHECK(bn.num_batches_tracked.item_i64() == 4);
}

TEST_CASE("nn::SqueezeExcitation matches the reference implementation of Hu et al. (conv_se)") {
  const Fixture f = load_fixture("conv_se");
  Generator gen(0);
  nn::SqueezeExcitation se(8, gen, 4);
  check_module(f, se, with_map(se));
}

TEST_CASE("nn::CBAM matches the reference implementation of Woo et al. (conv_cbam)") {
  const Fixture f = load_fixture("conv_cbam");
  Generator gen(0);
  nn::CBAM cbam(8, gen, 2, 3);
  check_module(f, cbam, with_map(cbam));
}

TEST_CASE("nn::AttentionInAttention matches A2N's block (conv_attention_in_attention)") {
  const Fixture f = load_fixture("conv_attention_in_attention");
  Generator gen(0);
  nn::AttentionInAttention aab(4, gen, 2, 2.f);
  check_module(f, aab, with_map(aab));
  CHECK(aab.repr() == "AttentionInAttention(channels=4, reduction=2, temperature=2)");
}

TEST_CASE("conv layers: PyTorch's parameter and buffer names, counts and repr") {
  Generator gen(0);
  nn::Conv2d conv({.in_channels = 3, .out_channels = 8, .kernel_size = {3, 3}, .padding = {1, 1}},
                  gen);
  CHECK(names(conv) == Names{"weight", "bias"});
  CHECK(conv.num_parameters() == 8 * 3 * 9 + 8);
  CHECK(conv.repr() == "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
  nn::Conv1d conv1(
      {.in_channels = 4, .out_channels = 2, .kernel_size = 5, .groups = 2, .bias = false}, gen);
  CHECK(names(conv1) == Names{"weight"});
  CHECK(conv1.weight.shape() == Shape{2, 2, 5});
  CHECK(conv1.repr() == "Conv1d(4, 2, kernel_size=(5,), stride=(1,), groups=2, bias=false)");
  nn::BatchNorm2d bn({.num_features = 5});
  CHECK(names(bn) == Names{"weight", "bias"});
  CHECK(names(bn, true) ==
        Names{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"});
  CHECK(bn.num_batches_tracked.dtype() == Dtype::Int64);
  CHECK(bn.num_batches_tracked.dim() == 0);
  CHECK(bn.repr() ==
        "BatchNorm2d(5, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)");
  nn::BatchNorm1d plain_bn({.num_features = 3, .affine = false, .track_running_stats = false});
  CHECK(names(plain_bn, true).empty());
  nn::SqueezeExcitation se(32, gen, 8);
  CHECK(names(se) == Names{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"});
  CHECK(se.fc1->weight.shape() == Shape{4, 32});
  nn::CBAM cbam(16, gen);
  CHECK(names(cbam) == Names{"channel_attention.fc1.weight", "channel_attention.fc1.bias",
                             "channel_attention.fc2.weight", "channel_attention.fc2.bias",
                             "spatial_attention.conv.weight"});
  CHECK(cbam.spatial_attention->conv->weight.shape() == Shape{1, 2, 7, 7});
  CHECK(nn::MaxPool2d({2, 2}).repr() ==
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=false)");
  CHECK(nn::AdaptiveAvgPool2d().repr() == "AdaptiveAvgPool2d(output_size=1)");
  CHECK(nn::Flatten().repr() == "Flatten(start_dim=1, end_dim=-1)");
  CHECK(nn::Flatten().forward(Tensor::zeros({2, 3, 4, 5})).shape() == Shape{2, 60});
  CHECK(nn::Flatten(1, 2).forward(Tensor::zeros({2, 3, 4, 5})).shape() == Shape{2, 12, 5});
}

TEST_CASE("conv layers: PyTorch's initialization bounds, 1/sqrt(fan_in)") {
  Generator gen(3);
  nn::Conv2d conv({.in_channels = 4, .out_channels = 16, .kernel_size = {3, 3}, .groups = 2}, gen);
  const float bound = 1.f / std::sqrt(2.f * 9.f);
  float lo = 1, hi = -1;
  for (float v : conv.weight.to_vector()) lo = std::min(lo, v), hi = std::max(hi, v);
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  CHECK(hi - lo > bound);  // spread over the range, not a constant
}

TEST_CASE("nn::BatchNorm: training moves the running statistics, eval uses them") {
  nn::BatchNorm2d bn({.num_features = 2});
  const Tensor x = rnd({4, 2, 3, 3}, 5) * 3.f + 1.f;
  const Tensor train_out = bn.forward(x);
  CHECK(bn.num_batches_tracked.item_i64() == 1);
  CHECK(bn.running_mean.at({0}) != 0.f);
  // Training output is normalized per channel: mean ~0 over batch and positions.
  CHECK(ops::mean(train_out.select(1, 0)).item() == doctest::Approx(0.).epsilon(1e-4));
  bn.eval();
  const std::vector<float> mean_before = bn.running_mean.to_vector();
  const Tensor eval_out = bn.forward(x);
  CHECK(bn.running_mean.to_vector() == mean_before);
  CHECK(bn.num_batches_tracked.item_i64() == 1);
  const float expect =
      (x.at({0, 1, 0, 0}) - bn.running_mean.at({1})) / std::sqrt(bn.running_var.at({1}) + 1e-5f);
  CHECK(eval_out.at({0, 1, 0, 0}) == doctest::Approx(expect).epsilon(1e-5));
}

TEST_CASE("conv layers: gradient checks of SE, CBAM (and their parts), AiA and BatchNorm2d") {
  Generator gen(7);
  auto se = std::make_shared<nn::SqueezeExcitation>(6, gen, 2);
  auto ca = std::make_shared<nn::ChannelAttention>(6, gen, 3);
  auto sa = std::make_shared<nn::SpatialAttention>(gen, 3);
  auto cbam = std::make_shared<nn::CBAM>(4, gen, 2, 3);
  auto bn = std::make_shared<nn::BatchNorm2d>(nn::BatchNormOptions{.num_features = 3});
  // With respect to the input and each parameter, w drawn from seed 99, within 3e-3 + 3e-2
  // |numeric|.
  auto check = [](const std::string& name, const auto& m, const Tensor& x) {
    check_module_gradients(
        {name, m, [m](V v) { return m->forward(v[0]); }, {x}, 3e-3f, 3e-2f, 1e-2f, 99});
  };
  check("SqueezeExcitation", se, rnd({2, 6, 3, 3}, 1));
  check("SqueezeExcitation over [batch, C, L]", se, rnd({2, 6, 5}, 2));
  check("ChannelAttention", ca, rnd({2, 6, 3, 2}, 3));
  check("SpatialAttention", sa, rnd({2, 3, 4, 4}, 4));
  check("CBAM", cbam, rnd({2, 4, 3, 3}, 5));
  // Its leaky ReLUs and ReLU have kinks that a step of 1e-2 can cross: a smaller step.
  auto aab = std::make_shared<nn::AttentionInAttention>(3, gen, 1, 2.f);
  check_module_gradients({"AttentionInAttention",
                          aab,
                          [aab](V v) { return aab->forward(v[0]); },
                          {rnd({2, 3, 3, 3}, 8)},
                          3e-3f,
                          3e-2f,
                          1e-3f,
                          99});
  check("BatchNorm2d training", bn, rnd({3, 3, 2, 2}, 6));
  bn->eval();
  check("BatchNorm2d eval", bn, rnd({3, 3, 2, 2}, 7));
}

TEST_CASE("conv layers: bad options and inputs give errors naming the layer and shapes") {
  Generator gen(0);
  CHECK_THROWS_WITH(
      nn::Conv2d({.in_channels = 3, .out_channels = 4, .kernel_size = {3, 3}, .groups = 2}, gen),
      "Conv2d: in_channels 3 and out_channels 4 must be divisible by groups 2");
  nn::Conv2d conv({.in_channels = 3, .out_channels = 4, .kernel_size = {3, 3}}, gen);
  CHECK_THROWS_WITH(conv.forward(Tensor::zeros({2, 1, 8, 8})),
                    "conv2d: input [2, 1, 8, 8] has 1 channels, weight [4, 3, 3, 3] expects 3 x "
                    "groups 1");
  nn::BatchNorm2d bn({.num_features = 3});
  CHECK_THROWS_WITH(bn.forward(Tensor::zeros({2, 3, 4})),
                    "BatchNorm2d: expected 4D input [batch, num_features, H, W], got [2, 3, 4]");
  CHECK_THROWS_WITH(bn.forward(Tensor::zeros({2, 4, 2, 2})),
                    "BatchNorm2d: input [2, 4, 2, 2] has 4 channels, expected num_features 3");
  nn::SqueezeExcitation se(8, gen);
  CHECK_THROWS_WITH(se.forward(Tensor::zeros({2, 4, 3, 3})),
                    doctest::Contains("SqueezeExcitation: input [2, 4, 3, 3] must be [batch, 8"));
  CHECK_THROWS_WITH(nn::SpatialAttention(gen, 4),
                    "SpatialAttention: kernel_size must be odd and positive, got 4");
  CHECK_THROWS_WITH(nn::MaxPool2d({2, 2}, {2, 2}, {2, 2}),
                    doctest::Contains("MaxPool2d: kernel_size and stride must be positive"));
}

namespace {

std::shared_ptr<Model> image_model(const std::string& layers, Shape input = {1, 8, 8}) {
  static Generator gen(0);  // dropout keeps using it, so it outlives the model
  const nlohmann::json j =
      nlohmann::json::parse(R"({"type": "image_classifier", "layers": )" + layers + "}");
  return build_model(Config(j, "model"), DataInfo{input, 10}, gen);
}

}  // namespace

TEST_CASE("image_classifier: nn.Sequential names, inferred sizes, head and accuracy") {
  auto model = image_model(R"([
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"type": "batch_norm2d"}, {"type": "relu"}, {"type": "max_pool2d", "kernel_size": 2},
      {"type": "se", "reduction": 2}, {"type": "cbam", "reduction": 2, "kernel_size": 3},
      {"type": "flatten"}, {"type": "linear", "out_features": 8}, {"type": "dropout"}])");
  CHECK(names(*model, true) == Names{"layers.0.weight",
                                     "layers.0.bias",
                                     "layers.1.weight",
                                     "layers.1.bias",
                                     "layers.4.fc1.weight",
                                     "layers.4.fc1.bias",
                                     "layers.4.fc2.weight",
                                     "layers.4.fc2.bias",
                                     "layers.5.channel_attention.fc1.weight",
                                     "layers.5.channel_attention.fc1.bias",
                                     "layers.5.channel_attention.fc2.weight",
                                     "layers.5.channel_attention.fc2.bias",
                                     "layers.5.spatial_attention.conv.weight",
                                     "layers.7.weight",
                                     "layers.7.bias",
                                     "layers.9.weight",
                                     "layers.9.bias",
                                     "layers.1.running_mean",
                                     "layers.1.running_var",
                                     "layers.1.num_batches_tracked"});
  const StateDict sd = model->state_dict();
  CHECK(sd[13].second.shape() == Shape{8, 64});  // in_features 4 * 4 * 4 inferred
  CHECK(sd[15].second.shape() == Shape{10, 8});  // the automatic head
  Generator gen(1);
  const Batch b{Tensor::randn({3, 1, 8, 8}, gen), Tensor::from_vector_i64({1, 2, 3}, {3})};
  const ModelOutput out = model->forward(b);
  CHECK(out.loss.dim() == 0);
  CHECK(out.metrics.at("accuracy").value() >= 0.0);
  out.loss.backward();
  for (const auto& [name, p] : model->named_parameters())
    CHECK_MESSAGE(p.grad().defined(), name, " got no gradient");
}

TEST_CASE("image_classifier: conv1d over rows and the recipe errors") {
  auto rows = image_model(R"([
      {"type": "conv1d", "out_channels": 6, "kernel_size": 3, "padding": 1},
      {"type": "batch_norm1d"}, {"type": "relu"}, {"type": "max_pool1d", "kernel_size": 2},
      {"type": "avg_pool1d", "kernel_size": 2}, {"type": "flatten"}])",
                          {28, 28});
  CHECK(rows->state_dict()[4].second.shape() == Shape{10, 6 * 7});
  CHECK_THROWS_WITH(image_model(R"([{"type": "conv2dd"}])"),
                    doctest::Contains("unknown layer type \"conv2dd\" at \"model.layers.0.type\"; "
                                      "did you mean \"conv2d\"?"));
  CHECK_THROWS_WITH(
      image_model(R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "paddin": 1}])"),
      doctest::Contains("\"model.layers.0.paddin\" is not an option of layer \"conv2d\""));
  CHECK_THROWS_WITH(image_model(R"([{"type": "conv2d", "kernel_size": 3}])"),
                    doctest::Contains("missing required key \"model.layers.0.out_channels\""));
  CHECK_THROWS_WITH(image_model(R"([{"type": "relu"}])"), doctest::Contains("must end flat"));
  CHECK_THROWS_WITH(
      image_model(
          R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 9}, {"type": "flatten"}])"),
      doctest::Contains("\"model.layers.0\" does not fit its input [batch, 1, 8, 8]"));
  CHECK_THROWS_WITH(image_model(R"([{"type": "conv1d", "out_channels": 4, "kernel_size": 3}])"),
                    doctest::Contains("(conv1d) needs input [channels, length] per example"));
  CHECK_THROWS_WITH(image_model(R"([{"type": "flatten"}, {"type": "se"}])"),
                    doctest::Contains("(se) needs input [channels, *spatial] per example"));
}

// Finite-difference gradient checks of every op (table-driven), and forward values of the ops
// against PyTorch fixtures (tests/fixtures/activations.json, cross_entropy*.json).

#include <doctest/doctest.h>

#include <array>
#include <cmath>

#include "fixture.h"
#include "framework/ops/additive_score.h"
#include "framework/ops/fastmath.h"
#include "framework/ops/rnn.h"
#include "gradcheck.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;

namespace {

// Values kept away from relu's kink at 0, where finite differences are meaningless.
Tensor away_from_zero(const Shape& shape, uint64_t seed) {
  Tensor t = rnd(shape, seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] += t.data()[i] >= 0 ? 0.1f : -0.1f;
  return t;
}

std::vector<GradCase> op_cases() {
  using V = const std::vector<Tensor>&;
  const Tensor ids = Tensor::from_vector_i64({1, 0, 3, 3, 2, 0}, {2, 3});
  const Tensor targets = Tensor::from_vector_i64({2, -100, 0, 4}, {4});
  const Tensor mask = Tensor::from_vector_i64({0, 1, 0, 0, 0, 1}, {2, 1, 3});
  return {
      {"add broadcast [2,3,4] + [4]",
       [](V x) { return x[0] + x[1]; },
       {rnd({2, 3, 4}, 1), rnd({4}, 2)}},
      {"sub broadcast [2,1,4] - [3,1]",
       [](V x) { return x[0] - x[1]; },
       {rnd({2, 1, 4}, 3), rnd({3, 1}, 4)}},
      {"mul broadcast [3,4] * [3,1]",
       [](V x) { return x[0] * x[1]; },
       {rnd({3, 4}, 5), rnd({3, 1}, 6)}},
      {"div [3,4] / [4]",
       [](V x) { return x[0] / x[1]; },
       {rnd({3, 4}, 7), rnd({4}, 8, 0.5f, 2.f)}},
      {"pow tensor^tensor",
       [](V x) { return ops::pow(x[0], x[1]); },
       {rnd({3, 4}, 9, 0.5f, 2.f), rnd({4}, 10)}},
      {"pow tensor^2.5", [](V x) { return ops::pow(x[0], 2.5f); }, {rnd({3, 4}, 11, 0.5f, 2.f)}},
      {"neg", [](V x) { return -x[0]; }, {rnd({5}, 12)}},
      {"exp", [](V x) { return ops::exp(x[0]); }, {rnd({2, 5}, 13)}},
      {"log", [](V x) { return ops::log(x[0]); }, {rnd({2, 5}, 14, 0.5f, 2.f)}},
      {"sqrt", [](V x) { return ops::sqrt(x[0]); }, {rnd({2, 5}, 15, 0.5f, 2.f)}},
      {"tanh", [](V x) { return ops::tanh(x[0]); }, {rnd({2, 5}, 16)}},
      {"sigmoid", [](V x) { return ops::sigmoid(x[0]); }, {rnd({2, 5}, 17)}},
      {"relu (away from the kink)",
       [](V x) { return ops::relu(x[0]); },
       {away_from_zero({2, 5}, 18)}},
      {"gelu", [](V x) { return ops::gelu(x[0]); }, {rnd({2, 5}, 19, -3.f, 3.f)}},
      {"sum over dims {0,2}",
       [](V x) {
         return ops::sum(x[0], {0, 2});
       },
       {rnd({2, 3, 4}, 20)}},
      {"sum over leading dims {0, 1} (in-order path)",
       [](V x) {
         return ops::sum(x[0], {1, 0});
       },
       {rnd({2, 3, 4}, 54)}},
      {"sum all", [](V x) { return ops::sum(x[0]); }, {rnd({2, 3}, 21)}},
      {"mean dim 1 keepdim", [](V x) { return ops::mean(x[0], {1}, true); }, {rnd({2, 3, 4}, 22)}},
      {"max dim 1", [](V x) { return ops::max(x[0], 1); }, {rnd({2, 5, 3}, 23)}},
      {"matmul 2-D",
       [](V x) { return ops::matmul(x[0], x[1]); },
       {rnd({3, 4}, 24), rnd({4, 5}, 25)}},
      {"matmul batched",
       [](V x) { return ops::matmul(x[0], x[1]); },
       {rnd({2, 3, 4}, 26), rnd({2, 4, 5}, 27)}},
      {"matmul [2,3,4] @ [4,5]",
       [](V x) { return ops::matmul(x[0], x[1]); },
       {rnd({2, 3, 4}, 28), rnd({4, 5}, 29)}},
      {"matmul broadcast batch [2,1,3,4] @ [3,4,2]",
       [](V x) { return ops::matmul(x[0], x[1]); },
       {rnd({2, 1, 3, 4}, 30), rnd({3, 4, 2}, 31)}},
      {"matmul of a transposed view",
       [](V x) { return ops::matmul(x[0].transpose(0, 1), x[1]); },
       {rnd({4, 3}, 32), rnd({4, 5}, 33)}},
      {"matmul batched, above the small-matrix loop (oneDNN)",
       [](V x) { return ops::matmul(x[0], x[1]); },
       {rnd({2, 17, 16}, 81), rnd({2, 16, 17}, 82)}},
      {"matmul batched, b a transposed view (the small loop's dot-product form)",
       [](V x) { return ops::matmul(x[0], x[1].transpose(1, 2)); },
       {rnd({2, 3, 4}, 83), rnd({2, 5, 4}, 84)}},
      {"additive_score",
       [](V x) { return ops::additive_score(x[0], x[1], x[2]); },
       {rnd({2, 3, 4}, 85), rnd({2, 5, 4}, 86), rnd({4}, 87)}},
      {"linear with bias",
       [](V x) { return ops::linear(x[0], x[1], x[2]); },
       {rnd({2, 3, 4}, 34), rnd({5, 4}, 35), rnd({5}, 36)}},
      {"softmax dim -1", [](V x) { return ops::softmax(x[0], -1); }, {rnd({3, 5}, 37)}},
      {"softmax dim 0", [](V x) { return ops::softmax(x[0], 0); }, {rnd({3, 5}, 38)}},
      {"log_softmax", [](V x) { return ops::log_softmax(x[0], -1); }, {rnd({3, 5}, 39)}},
      {"cross_entropy with ignore_index and label_smoothing",
       [targets](V x) { return ops::cross_entropy(x[0], targets, -100, 0.1f); },
       {rnd({4, 5}, 40)}},
      {"mse_loss",
       [](V x) { return ops::mse_loss(x[0], x[1]); },
       {rnd({3, 4}, 88), rnd({3, 4}, 89)}},
      // delta 0.3 puts elements of rnd's spread on both sides of the kink.
      {"huber_loss",
       [](V x) { return ops::huber_loss(x[0], x[1], 0.3f); },
       {rnd({3, 4}, 90), rnd({3, 4}, 91)}},
      {"embedding", [ids](V x) { return ops::embedding(x[0], ids); }, {rnd({4, 3}, 41)}},
      {"concat dim 1",
       [](V x) {
         return ops::concat({x[0], x[1]}, 1);
       },
       {rnd({2, 3}, 42), rnd({2, 2}, 43)}},
      {"stack dim 0",
       [](V x) {
         return ops::stack({x[0], x[1]}, 0);
       },
       {rnd({2, 3}, 44), rnd({2, 3}, 45)}},
      {"split then recombine",
       [](V x) {
         auto parts = ops::split(x[0], {1, 3}, 1);
         return parts[0] * 2.f + ops::sum(parts[1], {1}, true);
       },
       {rnd({2, 4}, 46)}},
      {"masked_fill",
       [mask](V x) { return ops::masked_fill(x[0], mask, -5.f); },
       {rnd({2, 4, 3}, 47)}},
      {"layer_norm",
       [](V x) { return ops::layer_norm(x[0], x[1], x[2]); },
       {rnd({3, 6}, 48), rnd({6}, 49), rnd({6}, 50)}},
      {"views: permute, narrow, unsqueeze, squeeze, expand, reshape",
       [](V x) {
         Tensor t = x[0].permute({2, 0, 1}).narrow(1, 1, 2).unsqueeze(0).squeeze(0);
         return t.reshape({-1}).unsqueeze(0).expand({3, 32});
       },
       {rnd({3, 4, 4}, 51)}},
      {"tensor used twice", [](V x) { return x[0] * x[0] + ops::tanh(x[0]); }, {rnd({4}, 52)}},
      // One input constant: the closure then saves only what the other input's gradient reads.
      {"mul, constant second operand",
       [c = rnd({3, 4}, 56)](V x) { return x[0] * c; },
       {rnd({3, 4}, 55)}},
      {"div, constant numerator (db only)",
       [c = rnd({3, 4}, 57)](V x) { return c / x[0]; },
       {rnd({4}, 58, 0.5f, 2.f)}},
      {"div, constant denominator (da only)",
       [c = rnd({4}, 58, 0.5f, 2.f)](V x) { return x[0] / c; },
       {rnd({3, 4}, 57)}},
      {"pow, constant base (db only)",
       [c = rnd({3, 4}, 59, 0.5f, 2.f)](V x) { return ops::pow(c, x[0]); },
       {rnd({4}, 60)}},
      {"pow, constant exponent (da only)",
       [c = rnd({4}, 60)](V x) { return ops::pow(x[0], c); },
       {rnd({3, 4}, 59, 0.5f, 2.f)}},
      {"matmul, constant left operand",
       [c = rnd({3, 4}, 61)](V x) { return ops::matmul(c, x[0]); },
       {rnd({4, 5}, 62)}},
      {"linear, constant weight and bias (dx only)",
       [w = rnd({5, 4}, 64), b = rnd({5}, 65)](V x) { return ops::linear(x[0], w, b); },
       {rnd({2, 3, 4}, 63)}},
      {"linear, constant input (dweight, dbias only)",
       [input = rnd({2, 3, 4}, 63)](V x) { return ops::linear(input, x[0], x[1]); },
       {rnd({5, 4}, 64), rnd({5}, 65)}},
      {"layer_norm, constant weight and bias (dx only)",
       [w = rnd({6}, 49), b = rnd({6}, 50)](V x) { return ops::layer_norm(x[0], w, b); },
       {rnd({3, 6}, 48)}},
      {"layer_norm, constant input, weight only",
       [input = rnd({3, 6}, 48)](V x) { return ops::layer_norm(input, x[0], Tensor()); },
       {rnd({6}, 49)}},
      {"layer_norm, constant input, bias only",
       [input = rnd({3, 6}, 48), w = rnd({6}, 49)](V x) { return ops::layer_norm(input, w, x[0]); },
       {rnd({6}, 50)}},
      {"causal_linear_attention, q only",
       [k = rnd({2, 5, 3}, 67, 0.1f, 1.f), v = rnd({2, 5, 4}, 68)](V x) {
         return ops::causal_linear_attention(x[0], k, v, 1e-6f);
       },
       {rnd({2, 5, 3}, 66, 0.1f, 1.f)}},
      {"causal_linear_attention, k only",
       [q = rnd({2, 5, 3}, 66, 0.1f, 1.f), v = rnd({2, 5, 4}, 68)](V x) {
         return ops::causal_linear_attention(q, x[0], v, 1e-6f);
       },
       {rnd({2, 5, 3}, 67, 0.1f, 1.f)}},
      {"causal_linear_attention, v only",
       [q = rnd({2, 5, 3}, 66, 0.1f, 1.f), k = rnd({2, 5, 3}, 67, 0.1f, 1.f)](V x) {
         return ops::causal_linear_attention(q, k, x[0], 1e-6f);
       },
       {rnd({2, 5, 4}, 68)}},
      {"rnn_layer_fused GRU, constant weights and biases (dx, dh0 only)",
       [w_ih = rnd({9, 4}, 71), w_hh = rnd({9, 3}, 72), b_ih = rnd({9}, 73),
        b_hh = rnd({9}, 74)](V x) {
         return ops::rnn_layer_fused(ops::RNNMode::GRU, x[0], x[1], Tensor(), w_ih, w_hh, b_ih,
                                     b_hh, Tensor(), false);
       },
       {rnd({3, 2, 4}, 69), rnd({2, 3}, 70)}},
      {"rnn_layer_fused LSTM, constant input (weights and biases only)",
       [input = rnd({3, 2, 4}, 69)](V x) {
         return ops::rnn_layer_fused(ops::RNNMode::LSTM, input, Tensor(), Tensor(), x[0], x[1],
                                     x[2], x[3], Tensor(), false);
       },
       {rnd({12, 4}, 75), rnd({12, 3}, 76), rnd({12}, 77), rnd({12}, 78)}},
      {"rnn_layer_fused RNN_TANH, constant weight_hh and no bias",
       [w_hh = rnd({3, 3}, 80)](V x) {
         return ops::rnn_layer_fused(ops::RNNMode::RNN_TANH, x[0], Tensor(), Tensor(), x[1], w_hh,
                                     Tensor(), Tensor(), Tensor(), true);
       },
       {rnd({3, 2, 4}, 69), rnd({3, 4}, 79)}},
      {"dropout p=0.3 (fixed generator)",
       [](V x) {
         Generator gen(7);
         return ops::dropout(x[0], 0.3f, true, gen);
       },
       {rnd({4, 5}, 53)}},
  };
}

}  // namespace

TEST_CASE("gradients of every op agree with central differences") {
  for (const GradCase& c : op_cases()) check_gradients(c);
}

TEST_CASE("matmul: the small-matrix loop and oneDNN give the float64 product, views included") {
  // [batch, m, k] @ [batch, k, n] on both sides of the small loop's limit (4096 multiply-adds per
  // matrix), with b row-major and as a transposed view.
  for (const auto& [m, k, n] : std::vector<std::array<int64_t, 3>>{
           {1, 12, 256}, {12, 1, 256}, {1, 256, 12}, {16, 16, 16}, {17, 16, 17}, {28, 16, 28}}) {
    const Tensor a = rnd({3, m, k}, 90), b = rnd({3, k, n}, 91);
    const Tensor bt = rnd({3, n, k}, 91).transpose(1, 2);
    for (const Tensor& rhs : {b, bt}) {
      const Tensor c = ops::matmul(a, rhs);
      const Tensor rc = rhs.contiguous();
      double worst = 0;
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t r = 0; r < m; ++r)
          for (int64_t col = 0; col < n; ++col) {
            double want = 0;
            for (int64_t j = 0; j < k; ++j)
              want += double(a.data()[(i * m + r) * k + j]) * rc.data()[(i * k + j) * n + col];
            worst = std::max(worst, std::abs(want - c.data()[(i * m + r) * n + col]));
          }
      INFO(m, "x", k, "x", n, rhs.is_contiguous() ? " row-major" : " transposed");
      CHECK(worst < 1e-5 * double(k));
    }
  }
}

TEST_CASE("additive_score equals v^T tanh(q_i + k_j) composed from ops") {
  const Tensor q = rnd({3, 2, 8}, 92), k = rnd({3, 5, 8}, 93), v = rnd({8}, 94);
  const Tensor fused = ops::additive_score(q, k, v);
  const Tensor composed =
      ops::matmul(ops::tanh(q.unsqueeze(2) + k.unsqueeze(1)), v.reshape({8, 1})).squeeze(-1);
  REQUIRE(fused.shape() == Shape({3, 2, 5}));
  for (int64_t i = 0; i < fused.numel(); ++i)
    CHECK(fused.data()[i] == doctest::Approx(composed.data()[i]).epsilon(1e-5));
  CHECK_THROWS_WITH_AS(ops::additive_score(q, rnd({3, 5, 7}, 95), v),
                       doctest::Contains("additive_score: q [3, 2, 8], k [3, 5, 7]"), Error);
}

TEST_CASE("activations and softmax match PyTorch (tests/fixtures/activations.json)") {
  const auto f = heed::testing::load_fixture("activations");
  const Tensor x = f.input("input");
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> fns = {
      {"gelu", ops::gelu},
      {"tanh", ops::tanh},
      {"sigmoid", ops::sigmoid},
      {"relu", ops::relu},
      {"softmax", [](const Tensor& t) { return ops::softmax(t, -1); }},
      {"log_softmax", [](const Tensor& t) { return ops::log_softmax(t, -1); }},
      {"exp", ops::exp},
      {"sqrt_abs", [](const Tensor& t) { return ops::sqrt(ops::relu(t) + ops::relu(-t) + 0.1f); }}};
  for (const auto& [name, fn] : fns) {
    Tensor leaf = x.clone().detach().requires_grad_();
    Tensor y = fn(leaf);
    heed::testing::check_close(y.to_vector(), f.output(name).to_vector(), 1e-5f, 1e-5f, name);
    y.backward(f.grad_output(name));
    heed::testing::check_close(leaf.grad().to_vector(), f.grad("input/" + name).to_vector(), 1e-5f,
                               1e-4f, "grad of " + name);
  }
}

TEST_CASE("cross_entropy matches PyTorch, with and without label smoothing and ignore_index") {
  for (const std::string name : {"cross_entropy", "cross_entropy_plain"}) {
    const auto f = heed::testing::load_fixture(name);
    Tensor logits = f.input("input").requires_grad_();
    const float smoothing = f.config.value("label_smoothing", 0.0f);
    Tensor loss = ops::cross_entropy(logits, f.input("target"), -100, smoothing);
    heed::testing::check_close(loss.to_vector(), f.output("loss").to_vector(), 1e-6f, 1e-5f, name);
    loss.backward(f.grad_output("loss"));
    heed::testing::check_close(logits.grad().to_vector(), f.grad("input").to_vector(), 1e-6f, 1e-4f,
                               name + " grad");
  }
}

TEST_CASE("mse_loss and huber_loss match PyTorch, with the gradients of input and target") {
  const auto f = heed::testing::load_fixture("regression_losses");
  Tensor input = f.input("input").requires_grad_(), target = f.input("target").requires_grad_();
  const Tensor mse = ops::mse_loss(input, target);
  const Tensor huber = ops::huber_loss(input, target, f.config.at("delta").get<float>());
  heed::testing::check_close(mse.to_vector(), f.output("mse").to_vector(), 1e-6f, 1e-5f, "mse");
  heed::testing::check_close(huber.to_vector(), f.output("huber").to_vector(), 1e-6f, 1e-5f,
                             "huber");
  (mse * f.grad_output("mse") + huber * f.grad_output("huber")).backward();
  heed::testing::check_close(input.grad().to_vector(), f.grad("input").to_vector(), 1e-6f, 1e-4f,
                             "grad of input");
  heed::testing::check_close(target.grad().to_vector(), f.grad("target").to_vector(), 1e-6f, 1e-4f,
                             "grad of target");
}

TEST_CASE("mse_loss and huber_loss name what is wrong") {
  const Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({3, 2});
  CHECK_THROWS_WITH_AS(ops::mse_loss(a, b),
                       "mse_loss: input of shape [2, 3] and target of shape [3, 2] differ",
                       heed::Error);
  CHECK_THROWS_WITH_AS(ops::huber_loss(a, Tensor::zeros({2, 3}, Dtype::Int64)),
                       "huber_loss: expected float32 tensors, got float32 and int64", heed::Error);
  CHECK_THROWS_WITH_AS(ops::huber_loss(a, a, 0.f), "huber_loss: delta must be positive, got 0",
                       heed::Error);
  CHECK(std::isnan(ops::mse_loss(Tensor::zeros({0}), Tensor::zeros({0})).item()));
}

TEST_CASE("broadcasting and views follow PyTorch's semantics") {
  Tensor a = Tensor::from_vector({1, 2, 3}, {3, 1});
  Tensor b = Tensor::from_vector({10, 20}, {2});
  Tensor c = a + b;
  CHECK(c.shape() == Shape{3, 2});
  CHECK(c.to_vector() == std::vector<float>{11, 21, 12, 22, 13, 23});

  Tensor m = Tensor::from_vector({0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor t = m.t();
  CHECK(t.shape() == Shape{3, 2});
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.to_vector() == std::vector<float>{0, 3, 1, 4, 2, 5});
  CHECK(t.impl().storage == m.impl().storage);  // a view shares storage

  Tensor n = m.narrow(1, 1, 2);
  CHECK(n.to_vector() == std::vector<float>{1, 2, 4, 5});
  n.fill_(9.f);  // writes through to the base
  CHECK(m.to_vector() == std::vector<float>{0, 9, 9, 3, 9, 9});

  CHECK(m.reshape({3, -1}).shape() == Shape{3, 2});
  CHECK(m.unsqueeze(1).shape() == Shape{2, 1, 3});
  CHECK(m.unsqueeze(-1).shape() == Shape{2, 3, 1});
  CHECK(Tensor::from_vector({1, 2}, {2, 1}).expand({2, 3}).to_vector() ==
        std::vector<float>{1, 1, 1, 2, 2, 2});
  CHECK(ops::sum(m, {1}, true).shape() == Shape{2, 1});
  CHECK(ops::argmax(Tensor::from_vector({1, 5, 5, 2}, {2, 2}), 1).to_vector_i64() ==
        std::vector<int64_t>{1, 0});
}

TEST_CASE("shape errors name the op and both shapes") {
  Tensor a = Tensor::zeros({32, 512}), b = Tensor::zeros({256, 10});
  CHECK_THROWS_WITH_AS(ops::matmul(a, b),
                       "matmul: shapes [32, 512] and [256, 10] cannot be multiplied", heed::Error);
  CHECK_THROWS_WITH_AS(a + Tensor::zeros({3}),
                       "add: shapes [32, 512] and [3] cannot be broadcast together", heed::Error);
  CHECK_THROWS_AS(a.reshape({7, -1}), heed::Error);
  CHECK_THROWS_AS(a.narrow(0, 30, 5), heed::Error);
  CHECK_THROWS_AS(ops::embedding(Tensor::zeros({4, 2}), Tensor::from_vector_i64({4}, {1})),
                  heed::Error);
}

TEST_CASE("autograd: accumulation, NoGradGuard, detach and the errors") {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3}).requires_grad_();
  ops::sum(x * 2.f).backward();
  ops::sum(x * 3.f).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{5, 5, 5});  // gradients accumulate

  {
    NoGradGuard guard;
    CHECK_FALSE((x * 2.f).requires_grad());
  }
  CHECK_FALSE(x.detach().requires_grad());

  Tensor y = x * x;
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("only for scalar outputs"), heed::Error);
  Tensor s = ops::sum(y);
  s.backward();
  CHECK_THROWS_WITH_AS(s.backward(), doctest::Contains("second time"), heed::Error);

  Tensor z = ops::sum(x * x);
  z.backward(Tensor(), /*retain_graph=*/true);
  z.backward();  // allowed: the graph was retained
}

TEST_CASE("autograd: a backward closure keeps no input that only an unneeded gradient reads") {
  // Each op takes an intermediate h (a leaf plus 0: add saves nothing, and the graph holds nodes,
  // not tensors) and constants that need no gradient. Once the caller lets go of h, only the op's
  // closure could still hold h's storage, and none of these formulas reads h: mul's and matmul's
  // gradient for h reads the other operand, div's b and the output, pow(c, h)'s c and the output,
  // linear's and conv2d's the weight, layer_norm's the normalized input, the fused RNN's W_ih.
  struct Case {
    std::string name;
    Shape shape;
    std::function<Tensor(const Tensor& h)> op;
  };
  const Tensor c = rnd({3, 4}, 41), square = rnd({4, 4}, 42), w = rnd({2, 3, 3, 3}, 43);
  const Tensor positive = rnd({3, 4}, 44, 0.5f, 1.5f), w_hh = rnd({3, 3}, 45);
  const std::vector<Case> cases = {
      {"h * c", {3, 4}, [&](const Tensor& h) { return h * c; }},
      {"c * h", {3, 4}, [&](const Tensor& h) { return c * h; }},
      {"h / c", {3, 4}, [&](const Tensor& h) { return h / positive; }},
      {"pow(c, h)", {3, 4}, [&](const Tensor& h) { return ops::pow(positive, h); }},
      {"h @ W", {3, 4}, [&](const Tensor& h) { return ops::matmul(h, square); }},
      {"W @ h", {4, 4}, [&](const Tensor& h) { return ops::matmul(c, h); }},
      {"linear(h, W, b)",
       {3, 4},
       [&](const Tensor& h) { return ops::linear(h, c, c.select(1, 0)); }},
      {"conv2d(h, W)", {1, 3, 5, 5}, [&](const Tensor& h) { return ops::conv2d(h, w); }},
      {"layer_norm(h)",
       {3, 4},
       [&](const Tensor& h) { return ops::layer_norm(h, Tensor(), Tensor()); }},
      {"causal_linear_attention(h, k, v)",
       {3, 4},
       [&](const Tensor& h) { return ops::causal_linear_attention(h, positive, c, 1e-6f); }},
      {"rnn_layer_fused(h, W_ih, W_hh)",
       {2, 3, 4},
       [&](const Tensor& h) {
         return ops::rnn_layer_fused(ops::RNNMode::RNN_TANH, h, Tensor(), Tensor(), c, w_hh,
                                     Tensor(), Tensor(), Tensor(), false);
       }},
  };
  for (const Case& k : cases) {
    INFO(k.name);
    const Tensor p = rnd(k.shape, 40).requires_grad_();
    std::weak_ptr<Storage> storage;
    Tensor y;
    {
      const Tensor h = p + 0.f;
      storage = h.impl().storage;
      y = k.op(h);
    }
    CHECK(storage.expired());
    ops::sum(y).backward();
    CHECK(p.grad().shape() == k.shape);
  }

  // The check can fail: when c needs a gradient too, h * c must keep h for it.
  const Tensor p = rnd({3, 4}, 40).requires_grad_(), c_grad = rnd({3, 4}, 41).requires_grad_();
  std::weak_ptr<Storage> storage;
  Tensor y;
  {
    const Tensor h = p + 0.f;
    storage = h.impl().storage;
    y = h * c_grad;
  }
  CHECK_FALSE(storage.expired());
}

TEST_CASE("fast_exp, fast_sigmoid and fast_tanh agree with libm over float's whole range") {
  // Relative error below 2.5e-7 (2 ulp) wherever e^x is a normal float, exactly 0 below the
  // smallest normal and inf above ln(FLT_MAX), as expf; the ends of sigmoid and tanh saturate.
  for (float x = -87.3f; x <= 88.72f; x += 0.01f) {
    CAPTURE(x);
    const double want = std::exp(static_cast<double>(x));
    CHECK(std::abs(ops::fast_exp(x) - want) <= 2.5e-7 * want);
  }
  CHECK(std::isfinite(ops::fast_exp(88.5f)));
  CHECK(std::isinf(ops::fast_exp(88.8f)));
  CHECK(std::isinf(ops::fast_exp(1e4f)));
  CHECK(ops::fast_exp(-88.f) == 0.f);
  CHECK(ops::fast_exp(-1e4f) == 0.f);
  for (float x = -50.f; x <= 50.f; x += 0.01f) {
    CAPTURE(x);
    CHECK(std::abs(ops::fast_sigmoid(x) - 1.0 / (1.0 + std::exp(-static_cast<double>(x)))) <= 3e-7);
    CHECK(std::abs(ops::fast_tanh(x) - std::tanh(static_cast<double>(x))) <= 3e-7);
  }
}

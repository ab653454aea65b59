// Monotonic attention (layers/attention/monotonic.h, Raffel et al. 2017): in training the expected
// alignment of ops::monotonic_alignment over sigmoid(energy), step after step; in evaluation hard
// monotonic decoding, one-hot stops that never move back and never land on padding; forward over
// several query rows equals the bound alignment stepped with its previous weights; finite
// differences through three steps; errors.

#include <doctest/doctest.h>

#include <memory>

#include "framework/config.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "gradcheck.h"
#include "layers/attention/monotonic.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using V = const std::vector<Tensor>&;

namespace {

// [2, 6] int64: the last two keys of the second sequence padded.
Tensor padding() {
  Tensor m = Tensor::zeros({2, 6}, Dtype::Int64);
  m.data_i64()[10] = m.data_i64()[11] = 1;
  return m;
}

}  // namespace

TEST_CASE("MonotonicAttention: training is the expected alignment of sigmoid(energy), chained") {
  Generator gen(1);
  nn::MonotonicAttention attn(4, 5, 3, /*noise=*/0.f, gen);
  const Tensor q = rnd({2, 3, 4}, 2), k = rnd({2, 6, 5}, 3), v = rnd({2, 6, 2}, 4);
  const nn::AttentionOutput a = attn.forward(q, k, v, padding(), Tensor());
  REQUIRE(a.weights.shape() == Shape({2, 1, 3, 6}));
  const Tensor e = attn.energy(q, k);
  Tensor alpha = Tensor::zeros({2, 6});
  alpha.data()[0] = alpha.data()[6] = 1.f;
  const Tensor pad = Tensor::from_vector({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, {2, 6});
  for (int64_t t = 0; t < 3; ++t) {
    alpha =
        ops::monotonic_alignment(ops::masked_fill(ops::sigmoid(e.select(1, t)), pad, 0.f), alpha);
    const std::vector<float> want = alpha.to_vector(),
                             got = a.weights.select(2, t).contiguous().to_vector();
    for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]));
    CHECK(got[10] == 0.f);
    CHECK(got[11] == 0.f);
  }
}

TEST_CASE("MonotonicAttention: finite differences through three steps, with padding") {
  Generator gen(2);
  auto attn = randomized(std::make_shared<nn::MonotonicAttention>(4, 5, 3, 0.f, gen), 5, 0.7f);
  check_module_gradients(
      {"monotonic, 3 steps",
       attn,
       [&](V x) { return attn->forward(x[0], x[1], x[2], padding(), Tensor()).output; },
       {rnd({2, 3, 4}, 6), rnd({2, 6, 5}, 7), rnd({2, 6, 2}, 8)}});
}

TEST_CASE("MonotonicAttention: hard decoding stops move forward only and skip padding") {
  Generator gen(3);
  nn::MonotonicAttention attn(4, 4, 8, 1.f, gen);
  // A strongly positive r stops at once (every energy >= 0); the stop then stays put.
  attn.r.fill_(10.f);
  attn.eval();
  const Tensor q = rnd({2, 4, 4}, 9), k = rnd({2, 6, 4}, 10), v = rnd({2, 6, 3}, 11);
  std::vector<float> w = attn.forward(q, k, v, padding(), Tensor()).weights.to_vector();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 4; ++t) CHECK(w[(b * 4 + t) * 6 + 0] == 1.f);
  // A strongly negative r never stops: empty weights, a zero context.
  attn.r.fill_(-10.f);
  const nn::AttentionOutput none = attn.forward(q, k, v, padding(), Tensor());
  CHECK(ops::sum(none.output * none.output).item() == 0.f);
  // In between, stops are one-hot and never move back or land on padding.
  attn.r.fill_(0.f);
  w = attn.forward(q, k, v, padding(), Tensor()).weights.to_vector();
  for (int64_t b = 0; b < 2; ++b) {
    int64_t last = 0;
    for (int64_t t = 0; t < 4; ++t) {
      int64_t at = -1;
      float total = 0;
      for (int64_t j = 0; j < 6; ++j) {
        total += w[(b * 4 + t) * 6 + j];
        if (w[(b * 4 + t) * 6 + j] == 1.f) at = j;
      }
      CHECK((total == 0.f || (total == 1.f && at >= 0)));
      if (at < 0) {
        last = 6;  // ran off the end: nothing after
        continue;
      }
      CHECK(at >= last);
      CHECK(!(b == 1 && at >= 4));
      last = at;
    }
  }
}

TEST_CASE("MonotonicAttention: the bound alignment continues from the previous step's weights") {
  Generator gen(4);
  const nn::Alignment a = nn::monotonic_alignment_from_config(
      Config(nlohmann::json::object(), "attention"))({.query_size = 4, .key_size = 4}, gen);
  a.module->eval();
  const Tensor q = rnd({2, 3, 4}, 12), k = rnd({2, 6, 4}, 13);
  const nn::AttentionOutput whole = a.forward(q, k, k, padding(), Tensor());
  const nn::BoundAlignment step = a.bind(k, k, padding());
  Tensor previous;
  for (int64_t t = 0; t < 3; ++t) {
    const nn::AttentionOutput one = step(q.narrow(1, t, 1), t, previous);
    CHECK(one.weights.to_vector() == whole.weights.narrow(2, t, 1).contiguous().to_vector());
    previous = one.weights;
  }
}

TEST_CASE("MonotonicAttention: errors name the layer and the shapes") {
  Generator gen(5);
  nn::MonotonicAttention attn(4, 5, 3, 1.f, gen);
  CHECK_THROWS_WITH_AS(
      attn.forward(rnd({2, 1, 4}, 1), rnd({2, 6, 4}, 2), rnd({2, 6, 2}, 3), Tensor(), Tensor()),
      doctest::Contains("MonotonicAttention: query [2, 1, 4], keys [2, 6, 4]"), Error);
  CHECK_THROWS_WITH_AS(attn.forward(rnd({2, 1, 4}, 1), rnd({2, 6, 5}, 2), rnd({2, 6, 2}, 3),
                                    Tensor(), Tensor::zeros({2, 1, 1, 5})),
                       doctest::Contains("previous weights of shape [2, 1, 1, 5]"), Error);
}

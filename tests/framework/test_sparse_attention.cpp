// The attention score normalizers of framework/ops/sparse_attention.h and the registered
// attention variants that use them (layers/attention/{sparsemax,topk,hard,gumbel}.h):
// finite-difference gradient checks with and without masks, the straight-through estimators'
// defining property (one-hot forward, softmax's gradient), and values and gradients against
// tests/fixtures/tf_{sparsemax,topk,hard,gumbel,gumbel_hard}.json, written by
// tests/fixtures/make_transformer_fixtures.py from reference implementations of the papers'
// equations (float64, with the Gumbel noise stored in the fixture and fed back here).

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "fixture.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "gradcheck.h"
#include "layers/attention/gumbel.h"
#include "layers/attention/registry.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using V = const std::vector<Tensor>&;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

Generator& unused_generator() {
  static Generator gen(0);
  return gen;
}

// [2, 3, 5] scores; the mask hides item 1's last two keys and, in row (0, 2), every key.
Tensor row_mask() {
  Tensor m = Tensor::zeros({2, 3, 5});
  for (int64_t q = 0; q < 3; ++q) m.data()[15 + q * 5 + 3] = m.data()[15 + q * 5 + 4] = 1.f;
  for (int64_t j = 0; j < 5; ++j) m.data()[2 * 5 + j] = 1.f;
  return m;
}

using Mechanism = std::shared_ptr<nn::AttentionMechanism>;

// The registered variant `type` with `options`; gumbel with `noise` uses it instead of drawing.
Mechanism variant(const std::string& type, const nlohmann::json& options = nlohmann::json::object(),
                  const Tensor& noise = Tensor()) {
  Mechanism m = nn::build_attention({.type = type, .options = options}, nn::HeadShape{});
  if (noise.defined()) dynamic_cast<nn::GumbelAttention&>(*m).noise = noise;
  return m;
}

Tensor normalize(const Mechanism& m, const Tensor& scores, bool training = true,
                 Generator& gen = unused_generator()) {
  nn::AttentionCall call;
  call.training = training, call.gen = &gen;
  return m->normalize(scores, call);
}

// The variant's normalizer of (masked x) as a gradcheck function.
testing::Fn normalized(const Mechanism& m, const Tensor& mask) {
  return [m, mask](V x) {
    return normalize(m, mask.defined() ? ops::masked_fill(x[0], mask, -kInf) : x[0]);
  };
}

}  // namespace

TEST_CASE("sparsemax: a projection onto the simplex, exactly sparse, masked keys get 0") {
  // z = [1, 0.8, -1]: tau = 0.4, p = [0.6, 0.4, 0] (Martins & Astudillo 2016, eq. 2).
  const Tensor p = ops::sparsemax(Tensor::from_vector({1.f, 0.8f, -1.f}, {3}));
  check_close(p.to_vector(), {0.6f, 0.4f, 0.f}, 1e-6f, 0, "sparsemax([1, 0.8, -1])");
  const Tensor masked = ops::masked_fill(rnd({2, 3, 5}, 1, -2.f, 2.f), row_mask(), -kInf);
  const std::vector<float> w = ops::sparsemax(masked).to_vector();
  const std::vector<float> m = row_mask().to_vector();
  for (int64_t r = 0; r < 6; ++r) {
    double sum = 0;
    for (int64_t j = 0; j < 5; ++j) {
      CHECK(w[r * 5 + j] >= 0.f);
      if (m[r * 5 + j] != 0.f) CHECK(w[r * 5 + j] == 0.f);
      sum += w[r * 5 + j];
    }
    CHECK(sum == doctest::Approx(r == 2 ? 0.0 : 1.0).epsilon(1e-6));  // row 2: every key masked
  }
}

TEST_CASE("topk_mask keeps the k largest finite scores of each row, ties to the lower index") {
  const Tensor s = Tensor::from_vector({3, 1, 3, 2, -kInf, 5, -kInf, -kInf}, {2, 4});
  CHECK(ops::topk_mask(s, 2).to_vector() == std::vector<float>{0, 1, 0, 1, 1, 0, 1, 1});
  CHECK(ops::topk_mask(s, 10).to_vector() == std::vector<float>{0, 0, 0, 0, 1, 0, 1, 1});
  CHECK_THROWS_WITH_AS(ops::topk_mask(s, 0),
                       "topk_mask: k must be at least 1, got 0 (scores [2, 4])", heed::Error);
}

TEST_CASE(
    "normalizer gradients: sparsemax, topk, gumbel with fixed noise, with and without masks") {
  const Tensor x = rnd({2, 3, 5}, 2, -2.f, 2.f);
  const Tensor noise = ops::gumbel_noise({2, 3, 5}, unused_generator());
  const std::vector<GradCase> cases = {
      {"softmax", normalized(variant("scaled_dot_product"), Tensor()), {x}},
      {"sparsemax", normalized(variant("sparsemax"), Tensor()), {x}, 2e-3f, 2e-2f, 1e-3f},
      {"sparsemax, masked", normalized(variant("sparsemax"), row_mask()), {x}, 2e-3f, 2e-2f, 1e-3f},
      {"topk 2", normalized(variant("topk", {{"topk", 2}}), Tensor()), {x}, 2e-3f, 2e-2f, 1e-3f},
      {"topk 3, masked",
       normalized(variant("topk", {{"topk", 3}}), row_mask()),
       {x},
       2e-3f,
       2e-2f,
       1e-3f},
      {"gumbel tau 0.5, fixed noise",
       normalized(variant("gumbel", {{"temperature", 0.5}}, noise), Tensor()),
       {x}},
      {"gumbel tau 2, fixed noise, masked",
       normalized(variant("gumbel", {{"temperature", 2.0}}, noise), row_mask()),
       {x}},
  };
  for (const GradCase& c : cases) check_gradients(c);
}

TEST_CASE("straight-through: one-hot forward, the soft distribution's gradient backward") {
  const Tensor noise = ops::gumbel_noise({2, 3, 5}, unused_generator());
  for (const auto& [name, hard, soft] : std::vector<std::tuple<std::string, Mechanism, Mechanism>>{
           {"hard", variant("hard"), variant("scaled_dot_product")},
           {"gumbel hard", variant("gumbel", {{"temperature", 0.7}, {"hard", true}}, noise),
            variant("gumbel", {{"temperature", 0.7}}, noise)}}) {
    for (const Tensor& mask : {Tensor(), row_mask()}) {
      INFO(name, mask.defined() ? ", masked" : "");
      const Tensor x = rnd({2, 3, 5}, 3, -2.f, 2.f).requires_grad_();
      const Tensor x2 = x.detach().clone().requires_grad_();
      const Tensor s = mask.defined() ? ops::masked_fill(x, mask, -kInf) : x;
      const Tensor s2 = mask.defined() ? ops::masked_fill(x2, mask, -kInf) : x2;
      const Tensor y = normalize(hard, s);
      const Tensor y_soft = normalize(soft, s2);
      // Forward: one-hot at the soft distribution's argmax; an all-masked row stays all zero.
      const std::vector<float> yv = y.to_vector(), pv = y_soft.to_vector();
      for (int64_t r = 0; r < 6; ++r) {
        int64_t best = 0;
        double sum = 0;
        for (int64_t j = 0; j < 5; ++j) {
          if (pv[r * 5 + j] > pv[r * 5 + best]) best = j;
          sum += yv[r * 5 + j];
        }
        const bool all_masked = mask.defined() && r == 2;
        CHECK(sum == (all_masked ? 0.0 : 1.0));
        if (!all_masked) CHECK(yv[r * 5 + best] == 1.f);
      }
      const Tensor w = rnd({2, 3, 5}, 4, -2.f, 2.f);
      ops::sum(y * w).backward();
      ops::sum(y_soft * w).backward();
      check_close(x.grad().to_vector(), x2.grad().to_vector(), 1e-6f, 0, "gradient");
    }
  }
}

TEST_CASE("gumbel attention draws noise from the generator in training only, reproducibly") {
  const Tensor s = rnd({2, 3, 5}, 5, -2.f, 2.f);
  const Mechanism n = variant("gumbel");
  Generator a(7), b(7), c(8);
  const std::vector<float> first = normalize(n, s, true, a).to_vector();
  CHECK(first == normalize(n, s, true, b).to_vector());
  CHECK(first != normalize(n, s, true, c).to_vector());
  // Eval: softmax(scores / temperature), no draw.
  const uint64_t before = Generator(9).next_u64();
  Generator d(9);
  check_close(normalize(n, s, false, d).to_vector(), ops::softmax(s, -1).to_vector(), 1e-6f, 0,
              "eval gumbel");
  CHECK(d.next_u64() == before);
}

TEST_CASE("bad normalizer options are reported by name") {
  const Tensor s = rnd({2, 5}, 6, -2.f, 2.f);
  CHECK_THROWS_WITH_AS(variant("sparsmax"),
                       doctest::Contains("unknown value \"sparsmax\" at \"attention.type\"; did "
                                         "you mean \"sparsemax\"?"),
                       heed::Error);
  CHECK_THROWS_WITH_AS(variant("gumbel", {{"temperature", 0}}),
                       "recipe: \"attention.temperature\" must be > 0, got 0", heed::Error);
  CHECK_THROWS_WITH_AS(nn::GumbelAttention({.temperature = 0.f}, nn::HeadShape{}),
                       "gumbel attention: temperature must be positive, got 0", heed::Error);
  CHECK_THROWS_WITH_AS(variant("scaled_dot_product", {{"window", 4}}),
                       "recipe: \"attention.window\" is not an option of attention "
                       "\"scaled_dot_product\" (it has none); \"window\" is an option of "
                       "attention \"windowed\"",
                       heed::Error);
}

TEST_CASE(
    "each normalizing attention variant matches the reference implementations "
    "(tests/fixtures/tf_*.json, make_transformer_fixtures.py)") {
  for (const std::string name :
       {"tf_sparsemax", "tf_topk", "tf_hard", "tf_gumbel", "tf_gumbel_hard"}) {
    INFO(name);
    const testing::Fixture f = testing::load_fixture(name);
    const std::string kind = f.config.at("normalizer").get<std::string>();
    nlohmann::json options = nlohmann::json::object();
    if (kind == "topk") options["topk"] = f.config.value("topk", 4);
    if (kind == "gumbel")
      options = {{"temperature", f.config.value("temperature", 1.0)},
                 {"hard", f.config.value("hard", false)}};
    const Mechanism m =
        variant(kind, options, f.json.at("inputs").contains("noise") ? f.input("noise") : Tensor());
    const Tensor q = f.input("q").requires_grad_(), k = f.input("k").requires_grad_(),
                 v = f.input("v").requires_grad_();
    const Tensor padding = f.input("key_padding_mask").reshape({2, 1, 1, 5});
    nn::AttentionCall call;
    call.training = true, call.gen = &unused_generator();
    const nn::AttentionOutput a = m->attend_masked(q, k, v, {padding}, call);
    check_close(a.output.to_vector(), f.output("output").to_vector(), 1e-5f, 1e-4f, "output");
    check_close(a.weights.to_vector(), f.output("weights").to_vector(), 1e-5f, 1e-4f, "weights");
    ops::sum(a.output * f.grad_output("output")).backward();
    for (const auto& [key, t] : {std::pair{"q", q}, {"k", k}, {"v", v}})
      check_close(t.grad().to_vector(), f.grad(key).to_vector(), 1e-5f, 1e-4f,
                  std::string("grad of ") + key);
  }
}

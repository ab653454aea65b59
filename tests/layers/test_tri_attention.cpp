// Tri-Attention (layers/attention/tri.h): values and gradients of the four scores against the
// float64 einsum references of tests/fixtures/make_attention_fixtures.py (attn_tri_*.json),
// finite differences of the op and of MultiheadAttention with attention "tri", the reduction to
// scaled dot-product attention when the context carries nothing, causality inside a Transformer
// layer, parameter names and errors.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "fixture.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "gradcheck.h"
#include "layers/attention/multihead.h"
#include "layers/attention/scaled_dot_product.h"
#include "layers/attention/tri.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using V = const std::vector<Tensor>&;

namespace {

// A key mask [batch, key] on the key axis and a context mask [batch, context] on the context
// axis of [batch, heads, query, key, context].
std::vector<Tensor> pair_masks(const Tensor& keys, const Tensor& contexts) {
  return {keys.reshape({keys.size(0), 1, 1, keys.size(1), 1}),
          contexts.reshape({contexts.size(0), 1, 1, 1, contexts.size(1)})};
}

std::shared_ptr<nn::MultiheadAttention> tri_layer(const std::string& score, Generator& gen) {
  return std::make_shared<nn::MultiheadAttention>(
      nn::MultiheadAttentionOptions{.embed_dim = 6,
                                    .num_heads = 2,
                                    .variant = {.type = "tri", .options = {{"score", score}}}},
      gen);
}

}  // namespace

TEST_CASE("tri_attention matches the Yu et al. 2022 references (attn_tri_*.json)") {
  Generator gen(0);
  for (const std::string& score : nn::tri_attention_scores()) {
    INFO("score ", score);
    const Fixture f = load_fixture("attn_tri_" + score);
    Tensor q = f.input("q").requires_grad_(), k = f.input("k").requires_grad_(),
           v = f.input("v").requires_grad_(), c = f.input("c").requires_grad_();
    const bool weighted = f.json.at("params").contains("weight");
    Tensor w = weighted ? f.param("weight").requires_grad_() : Tensor();
    const auto a = nn::tri_attention(
        q, k, v, c, pair_masks(f.input("key_padding_mask"), last_item_padding(2, 3)), score, w, 0.f,
        false, &gen);
    CHECK(a.output.shape() == f.output("output").shape());
    check_close(a.output.to_vector(), f.output("output").to_vector(), 1e-5f, 1e-4f, "output");
    check_close(a.weights.to_vector(), f.output("weights").to_vector(), 1e-5f, 1e-4f, "weights");
    ops::sum(a.output * f.grad_output("output")).backward();
    for (const auto& [name, x] :
         std::vector<std::pair<std::string, Tensor>>{{"q", q}, {"k", k}, {"v", v}, {"c", c}})
      check_close(x.grad().to_vector(), f.grad(name).to_vector(), 1e-5f, 1e-4f, "grad of " + name);
    if (weighted)
      check_close(w.grad().to_vector(), f.grad("weight").to_vector(), 1e-5f, 1e-4f,
                  "grad of weight");
  }
}

TEST_CASE("tri_attention: finite differences of every score, with padding and causal pairs") {
  Generator gen(1);
  const Tensor q = rnd({2, 2, 3, 3}, 1), k = rnd({2, 2, 3, 3}, 2), v = rnd({2, 2, 3, 3}, 3),
               c = rnd({2, 2, 3, 3}, 4);
  const Tensor causal = nn::causal_mask(3, 3);
  const std::vector<Tensor> masks = {last_item_padding(2, 3, 1).reshape({2, 1, 1, 3, 1}),
                                     causal.reshape({3, 3, 1}), causal.reshape({3, 1, 3})};
  for (const std::string& score : nn::tri_attention_scores()) {
    const Tensor w = score == "additive"    ? rnd({2, 3, 1}, 5)
                     : score == "trilinear" ? rnd({2, 3, 9}, 6)
                                            : Tensor();
    std::vector<Tensor> inputs = {q, k, v, c};
    if (w.defined()) inputs.push_back(w);
    check_gradients({"tri " + score,
                     [&](V x) {
                       return nn::tri_attention(x[0], x[1], x[2], x[3], masks, score,
                                                x.size() > 4 ? x[4] : Tensor(), 0.f, false, &gen)
                           .output;
                     },
                     inputs});
  }
}

TEST_CASE("tri_attention: a context of ones reduces the dot scores to Bi-Attention's") {
  // s_ijl = q_i . k_j for every l: the weights over the keys are softmax(q k^T / sqrt(d)) and the
  // value v_j * 1 = v_j, so the output is scaled dot-product attention's.
  Generator gen(2);
  const Tensor q = rnd({2, 2, 4, 3}, 7), k = rnd({2, 2, 5, 3}, 8), v = rnd({2, 2, 5, 3}, 9);
  const Tensor pad = last_item_padding(2, 5);
  const auto tri =
      nn::tri_attention(q, k, v, Tensor::ones({2, 2, 3, 3}), {pad.reshape({2, 1, 1, 5, 1})},
                        "scaled_dot", Tensor(), 0.f, false, &gen);
  const auto bi =
      nn::scaled_dot_product_attention(q, k, v, {pad.reshape({2, 1, 1, 5})}, 0.f, false, gen);
  check_close(tri.output.to_vector(), bi.output.to_vector(), 1e-5f, 1e-5f, "output");
  check_close(ops::sum(tri.weights, {-1}).to_vector(), bi.weights.to_vector(), 1e-6f, 1e-5f,
              "weights summed over the context");
}

TEST_CASE("MultiheadAttention with attention \"tri\": parameters, gradients, causality") {
  Generator gen(3);
  SUBCASE("parameter names: the context projection after the others, then the score's") {
    for (const auto& [score, extra] : std::vector<std::pair<std::string, std::string>>{
             {"scaled_dot", ""}, {"additive", "score_vector"}, {"trilinear", "trilinear_weight"}}) {
      const auto m = tri_layer(score, gen);
      std::vector<std::string> names;
      for (const auto& [name, p] : m->named_parameters()) names.push_back(name);
      std::vector<std::string> want = {"in_proj_weight", "in_proj_bias"};
      if (!extra.empty()) want.push_back(extra);
      want.insert(want.end(), {"c_proj_weight", "c_proj_bias", "out_proj.weight", "out_proj.bias"});
      std::sort(names.begin(), names.end()), std::sort(want.begin(), want.end());
      CHECK(names == want);
      CHECK(m->repr().find("attention=tri, score=" + score) != std::string::npos);
    }
  }
  SUBCASE("finite differences through the layer, padding and causal mask") {
    for (const std::string score : {"additive", "trilinear", "dot"}) {
      auto m = randomized(tri_layer(score, gen), 31, 0.5f);
      const Tensor pad = last_item_padding(2, 4, 1), causal = nn::causal_mask(4, 4);
      check_module_gradients({"MultiheadAttention tri " + score,
                              m,
                              [&](V x) { return m->forward(x[0], x[0], x[0], pad, causal).output; },
                              {rnd({2, 4, 6}, 32)}});
    }
  }
  SUBCASE("causal: a query's output ignores every later position, as key and as context") {
    const auto m = tri_layer("trilinear", gen);
    const Tensor x = rnd({1, 5, 6}, 40), causal = nn::causal_mask(5, 5);
    Tensor changed = x.clone();
    for (int64_t d = 0; d < 6; ++d) changed.data()[4 * 6 + d] += 1.f;  // the last position
    const auto a = m->forward(x, x, x, Tensor(), causal).output.to_vector();
    const auto b = m->forward(changed, changed, changed, Tensor(), causal).output.to_vector();
    for (int64_t i = 0; i < 4 * 6; ++i) CHECK(a[i] == b[i]);
    double moved = 0;
    for (int64_t i = 4 * 6; i < 5 * 6; ++i) moved += std::abs(a[i] - b[i]);
    CHECK(moved > 1e-3);
  }
  SUBCASE("weights: per key, summed over the context; rows of real keys sum to 1") {
    const auto m = tri_layer("scaled_dot", gen);
    const Tensor x = rnd({2, 4, 6}, 41);
    const auto a = m->forward(x, x, x, last_item_padding(2, 4, 1));
    REQUIRE(a.weights.shape() == Shape({2, 2, 4, 4}));
    const std::vector<float> rows = ops::sum(a.weights, {-1}).to_vector();
    for (const float r : rows) CHECK(r == doctest::Approx(1.f).epsilon(1e-5));
    CHECK(a.weights.to_vector()[2 * 2 * 4 * 4 - 1] == 0.f);  // the padded key
  }
}

TEST_CASE("tri_attention: errors name the op, the score and the shapes") {
  Generator gen(4);
  const Tensor q = rnd({1, 2, 3, 4}, 1), k = rnd({1, 2, 5, 4}, 2), c = rnd({1, 2, 2, 4}, 3);
  CHECK_THROWS_WITH_AS(
      nn::tri_attention(q, k, k, rnd({1, 2, 2, 3}, 3), {}, "dot", Tensor(), 0.f, false, &gen),
      doctest::Contains("tri_attention: q [1, 2, 3, 4], k [1, 2, 5, 4]"), Error);
  CHECK_THROWS_WITH_AS(
      nn::tri_attention(q, k, k, c, {}, "bilinear", Tensor(), 0.f, false, &gen),
      doctest::Contains("score \"bilinear\" is not one of additive, dot, scaled_dot, trilinear"),
      Error);
  CHECK_THROWS_WITH_AS(
      nn::tri_attention(q, k, k, c, {}, "trilinear", rnd({2, 4, 4}, 4), 0.f, false, &gen),
      doctest::Contains("score \"trilinear\" takes a weight of shape [2, 4, 16], got [2, 4, 4]"),
      Error);
  CHECK_THROWS_WITH_AS(tri_layer("cubic", gen), doctest::Contains("cubic"), Error);
}

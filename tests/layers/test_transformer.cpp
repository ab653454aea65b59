// Multi-head attention with kdim/vdim and every attention variant by name, Transformer encoder and
// decoder layers:
//   - values and gradients against PyTorch 1.13 (tests/fixtures/tf_mha_kdim.json,
//     tf_encoder_post.json, tf_decoder_pre.json, tf_decoder_post.json and make_fixtures.py's
//     transformer_encoder_layer.json; written by tests/fixtures/make_transformer_fixtures.py in
//     float64 from float32 inputs);
//   - finite-difference gradient checks with respect to inputs AND parameters for every variant
//     through MultiheadAttention, with and without masks, and for the decoder layer;
//   - the straight-through variants (hard, gumbel with hard), whose forward is piecewise constant,
//     are checked for their defining property instead: the gradient of the soft twin;
//   - names, shapes and errors.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "fixture.h"
#include "framework/config.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "gradcheck.h"
#include "layers/attention/entmax.h"
#include "layers/attention/multihead.h"
#include "layers/attention/scaled_dot_product.h"
#include "layers/models/sequence_classifier.h"
#include "layers/transformer.h"
#include "layers/transformer_decoder.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using V = const std::vector<Tensor>&;

namespace {

// The layer of the Transformer fixtures: d_model 8, 2 heads, feed-forward 16, no dropout.
nn::TransformerEncoderLayerOptions fixture_layer(bool norm_first, const std::string& activation) {
  return {.d_model = 8,
          .nhead = 2,
          .dim_feedforward = 16,
          .dropout = 0.f,
          .activation = activation,
          .norm_first = norm_first};
}

using LayerCase = std::tuple<std::string, bool, std::string>;  // fixture, norm_first, activation

constexpr float kAtol = 1e-5f, kRtol = 1e-4f;

// nlohmann::json keeps object keys sorted, so the fixture gives the set of names, not the order.
std::vector<std::string> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> fixture_param_names(const Fixture& f) {
  std::vector<std::string> out;
  for (const auto& item : f.json.at("params").items()) out.push_back(item.key());
  return sorted(out);
}

Tensor leaf(const Fixture& f, const std::string& name) {
  return f.input(name).requires_grad_();
}

void check_grads(const Module& m, const Fixture& f,
                 const std::vector<std::pair<std::string, Tensor>>& inputs) {
  for (const auto& [name, p] : m.named_parameters()) {
    REQUIRE_MESSAGE(p.grad().defined(), name, " got no gradient");
    check_close(p.grad().to_vector(), f.grad(name).to_vector(), kAtol, kRtol, "grad of " + name);
  }
  for (const auto& [name, x] : inputs)
    check_close(x.grad().to_vector(), f.grad(name).to_vector(), kAtol, kRtol, "grad of " + name);
}

nn::MultiheadAttentionOptions mha_options(const nn::AttentionVariant& variant, int64_t kdim = 0,
                                          int64_t vdim = 0) {
  return {.embed_dim = 4,
          .num_heads = 2,
          .dropout = 0.f,
          .kdim = kdim,
          .vdim = vdim,
          .variant = variant};
}

const Tensor kPadding = Tensor::from_vector_i64({0, 0, 0, 0, 0, 0, 1, 1}, {2, 4});

}  // namespace

TEST_CASE(
    "MultiheadAttention with kdim/vdim, key_padding_mask and attn_mask matches PyTorch "
    "(tf_mha_kdim.json)") {
  const Fixture f = load_fixture("tf_mha_kdim");
  Generator gen(0);
  nn::MultiheadAttention mha({.embed_dim = 8, .num_heads = 2, .kdim = 6, .vdim = 5}, gen);
  CHECK(sorted(names(mha)) == fixture_param_names(f));
  CHECK(names(mha) == std::vector<std::string>{"q_proj_weight", "k_proj_weight", "v_proj_weight",
                                               "in_proj_bias", "out_proj.weight", "out_proj.bias"});
  mha.load_state_dict(f.params());
  const Tensor q = leaf(f, "query"), k = leaf(f, "key"), v = leaf(f, "value");
  const nn::AttentionOutput a =
      mha.forward(q, k, v, f.input("key_padding_mask"), f.input("attn_mask"));
  check_close(a.output.to_vector(), f.output("attn_output").to_vector(), kAtol, kRtol, "output");
  check_close(a.weights.to_vector(), f.output("attn_weights").to_vector(), kAtol, kRtol, "weights");
  ops::sum(a.output * f.grad_output("attn_output")).backward();
  check_grads(mha, f, {{"query", q}, {"key", k}, {"value", v}});
  CHECK(
      mha.repr() ==
      "MultiheadAttention(embed_dim=8, num_heads=2, dropout=0, kdim=6, vdim=5, batch_first=true)");
}

TEST_CASE("MultiheadAttention without bias has no in_proj_bias and no out_proj.bias") {
  Generator gen(0);
  nn::MultiheadAttention mha({.embed_dim = 4, .num_heads = 2, .bias = false}, gen);
  CHECK(names(mha) == std::vector<std::string>{"in_proj_weight", "out_proj.weight"});
  nn::MultiheadAttention cosine({.embed_dim = 4, .num_heads = 2, .variant = {.type = "cosine"}},
                                gen);
  CHECK(names(cosine) == std::vector<std::string>{"in_proj_weight", "in_proj_bias", "logit_scale",
                                                  "out_proj.weight", "out_proj.bias"});
  CHECK(cosine.named_parameters()[2].second.shape() == Shape({2, 1, 1}));
}

TEST_CASE(
    "TransformerEncoderLayer pre-LN (transformer_encoder_layer.json) and post-LN with causal "
    "src_mask and padding (tf_encoder_post.json) match PyTorch") {
  for (const auto& [name, norm_first, activation] : std::vector<LayerCase>{
           {"transformer_encoder_layer", true, "gelu"}, {"tf_encoder_post", false, "relu"}}) {
    INFO(name);
    const Fixture f = load_fixture(name);
    Generator gen(0);
    nn::TransformerEncoderLayer layer(fixture_layer(norm_first, activation), gen);
    layer.load_state_dict(f.params());
    const Tensor x = leaf(f, "input");
    const Tensor mask = f.json.at("inputs").contains("src_mask") ? f.input("src_mask") : Tensor();
    const Tensor y = layer.forward(x, f.input("src_key_padding_mask"), mask);
    check_close(y.to_vector(), f.output("output").to_vector(), kAtol, kRtol, "output");
    ops::sum(y * f.grad_output("output")).backward();
    check_grads(layer, f, {{"input", x}});
  }
}

TEST_CASE(
    "TransformerDecoderLayer pre-LN and post-LN with tgt_mask and both padding masks match "
    "PyTorch (tf_decoder_pre.json, tf_decoder_post.json)") {
  for (const auto& [name, norm_first, activation] : std::vector<LayerCase>{
           {"tf_decoder_pre", true, "gelu"}, {"tf_decoder_post", false, "relu"}}) {
    INFO(name);
    const Fixture f = load_fixture(name);
    Generator gen(0);
    nn::TransformerDecoderLayer layer(fixture_layer(norm_first, activation), gen);
    CHECK(sorted(names(layer)) == fixture_param_names(f));
    CHECK(names(layer) ==  // PyTorch 1.13's state_dict order
          std::vector<std::string>{"self_attn.in_proj_weight", "self_attn.in_proj_bias",
                                   "self_attn.out_proj.weight", "self_attn.out_proj.bias",
                                   "multihead_attn.in_proj_weight", "multihead_attn.in_proj_bias",
                                   "multihead_attn.out_proj.weight", "multihead_attn.out_proj.bias",
                                   "linear1.weight", "linear1.bias", "linear2.weight",
                                   "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight",
                                   "norm2.bias", "norm3.weight", "norm3.bias"});
    layer.load_state_dict(f.params());
    const Tensor tgt = leaf(f, "tgt"), memory = leaf(f, "memory");
    const Tensor y =
        layer.forward(tgt, memory, f.input("tgt_mask"), Tensor(), f.input("tgt_key_padding_mask"),
                      f.input("memory_key_padding_mask"));
    check_close(y.to_vector(), f.output("output").to_vector(), kAtol, kRtol, "output");
    ops::sum(y * f.grad_output("output")).backward();
    check_grads(layer, f, {{"tgt", tgt}, {"memory", memory}});
  }
}

TEST_CASE("every attention variant by name builds, runs, and never weighs a masked key") {
  for (const std::string& attention : nn::attention_names())
    for (const std::string positional : {"none", "rope", "alibi"}) {
      if (positional == std::string("alibi") && (attention == "linear" || attention == "cosine" ||
                                                 attention == "taylor" || attention == "tri"))
        continue;
      INFO(attention, " ", positional);
      Generator gen(1);
      nn::MultiheadAttention mha(
          {.embed_dim = 8,
           .num_heads = 2,
           .variant = {.type = attention,
                       .options = attention == "topk"       ? nlohmann::json{{"topk", 2}}
                                  : attention == "windowed" ? nlohmann::json{{"window", 1}}
                                                            : nlohmann::json::object(),
                       .positional = positional}},
          gen);
      const Tensor x = rnd({2, 4, 8}, 2);
      const nn::AttentionOutput a = mha.forward(x, x, x, kPadding, nn::causal_mask(4, 4));
      CHECK(a.output.shape() == Shape({2, 4, 8}));
      REQUIRE(a.weights.shape() == Shape({2, 2, 4, 4}));
      const std::vector<float> w = a.weights.to_vector();
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t h = 0; h < 2; ++h)
          for (int64_t i = 0; i < 4; ++i)
            for (int64_t j = 0; j < 4; ++j)
              if (j > i || (b == 1 && j >= 2)) CHECK(w[((b * 2 + h) * 4 + i) * 4 + j] == 0.f);
      for (float v : a.output.to_vector()) CHECK(std::isfinite(v));
      CHECK(!mha.forward(x, x, x, kPadding, Tensor(), /*need_weights=*/false).weights.defined());
    }
}

TEST_CASE(
    "variant gradients through MultiheadAttention, inputs and parameters, with and without masks") {
  struct Case {
    std::string name;
    nn::AttentionVariant variant;
  };
  const std::vector<Case> cases = {
      {"scaled_dot_product", {}},
      {"sparsemax", {.type = "sparsemax"}},
      {"topk 2", {.type = "topk", .options = {{"topk", 2}}}},
      {"gumbel, soft, temperature 0.5", {.type = "gumbel", .options = {{"temperature", 0.5}}}},
      {"linear", {.type = "linear"}},
      {"taylor", {.type = "taylor"}},
      {"entmax, learned alpha 1.3", {.type = "entmax", .options = {{"alpha", 1.3}}}},
      {"cosine", {.type = "cosine"}},
      {"windowed 1", {.type = "windowed", .options = {{"window", 1}}}},
      {"rope", {.positional = "rope"}},
      {"alibi", {.positional = "alibi"}},
      {"sparsemax + rope", {.type = "sparsemax", .positional = "rope"}},
  };
  const Tensor causal = nn::causal_mask(4, 4);
  for (const Case& c : cases)
    for (const auto& [mask_name, padding, mask] :
         std::vector<std::tuple<std::string, Tensor, Tensor>>{
             {"no mask", Tensor(), Tensor()}, {"padding + causal", kPadding, causal}}) {
      Generator gen(3);
      auto mha =
          randomized(std::make_shared<nn::MultiheadAttention>(mha_options(c.variant), gen), 4);
      // Piecewise-smooth normalizers (sparsemax, top-k) get a smaller step, so that no difference
      // crosses a kink; cosine and taylor too, whose unit-length q and k (2 features per head)
      // make the scores strongly curved.
      const bool kinked = c.variant.type == "sparsemax" || c.variant.type == "topk" ||
                          c.variant.type == "cosine" || c.variant.type == "taylor" ||
                          c.variant.type == "entmax";
      check_module_gradients({c.name + ", " + mask_name,
                              mha,
                              [mha, &gen, padding, mask](V x) {
                                gen.manual_seed(5);  // the same Gumbel noise in every evaluation
                                const nn::AttentionOutput a =
                                    mha->forward(x[0], x[0], x[0], padding, mask);
                                return flat({a.output, a.weights});
                              },
                              {rnd({2, 4, 4}, 6)},
                              2e-3f,
                              2e-2f,
                              kinked ? 1e-3f : 1e-2f});
    }
}

TEST_CASE("cross-attention with kdim/vdim: gradients of query, key, value and every parameter") {
  Generator gen(7);
  auto mha = randomized(std::make_shared<nn::MultiheadAttention>(mha_options({}, 3, 5), gen), 8);
  check_module_gradients({"kdim 3, vdim 5, padding",
                          mha,
                          [mha](V x) {
                            const nn::AttentionOutput a = mha->forward(x[0], x[1], x[2], kPadding);
                            return flat({a.output, a.weights});
                          },
                          {rnd({2, 2, 4}, 9), rnd({2, 4, 3}, 10), rnd({2, 4, 5}, 11)}});
}

TEST_CASE("straight-through variants: one-hot weights, and the gradient of their soft twin") {
  for (const auto& [hard, soft] :
       std::vector<std::pair<nn::AttentionVariant, nn::AttentionVariant>>{
           {{.type = "hard"}, {}},
           {{.type = "gumbel", .options = {{"temperature", 0.7}, {"hard", true}}},
            {.type = "gumbel", .options = {{"temperature", 0.7}}}}}) {
    INFO(hard.type);
    Generator gen_h(12), gen_s(12);
    auto mh = randomized(std::make_shared<nn::MultiheadAttention>(mha_options(hard), gen_h), 13);
    auto ms = randomized(std::make_shared<nn::MultiheadAttention>(mha_options(soft), gen_s), 13);
    const Tensor xh = rnd({2, 4, 4}, 14).requires_grad_(),
                 xs = xh.detach().clone().requires_grad_();
    gen_h.manual_seed(15), gen_s.manual_seed(15);
    const Tensor wh = mh->forward(xh, xh, xh, kPadding).weights;
    const Tensor ws = ms->forward(xs, xs, xs, kPadding).weights;
    for (float v : wh.to_vector()) CHECK((v == 0.f || v == 1.f));
    CHECK(ops::sum(wh).item() == doctest::Approx(16.f));  // one key per query and head
    const Tensor w = rnd({2, 2, 4, 4}, 16);
    ops::sum(wh * w).backward();
    ops::sum(ws * w).backward();
    check_close(xh.grad().to_vector(), xs.grad().to_vector(), 1e-5f, 1e-4f, "input gradient");
  }
}

TEST_CASE("TransformerDecoderLayer gradients, pre- and post-LN, with masks, and a variant") {
  const Tensor tgt_mask = nn::causal_mask(3, 3);
  const Tensor memory_padding = kPadding;
  for (const auto& [name, norm_first, variant] :
       std::vector<std::tuple<std::string, bool, nn::AttentionVariant>>{
           {"pre-LN", true, {}},
           {"post-LN", false, {}},
           {"pre-LN sparsemax", true, {.type = "sparsemax"}},
           {"post-LN linear + rope", false, {.type = "linear", .positional = "rope"}}}) {
    Generator gen(17);
    auto layer = randomized(std::make_shared<nn::TransformerDecoderLayer>(
                                nn::TransformerEncoderLayerOptions{.d_model = 4,
                                                                   .nhead = 2,
                                                                   .dim_feedforward = 3,
                                                                   .dropout = 0.f,
                                                                   .activation = "gelu",
                                                                   .norm_first = norm_first,
                                                                   .attention = variant},
                                gen),
                            18);
    check_module_gradients({"TransformerDecoderLayer " + name,
                            layer,
                            [layer, tgt_mask, memory_padding](V x) {
                              return layer->forward(x[0], x[1], tgt_mask, Tensor(), Tensor(),
                                                    memory_padding);
                            },
                            {rnd({2, 3, 4}, 19), rnd({2, 4, 4}, 20)},
                            2e-3f,
                            2e-2f,
                            variant.type == "sparsemax" ? 1e-3f : 1e-2f});
  }
}

TEST_CASE("TransformerDecoder stacks layers under PyTorch's names") {
  Generator gen(21);
  nn::TransformerDecoder dec({.d_model = 4, .nhead = 2, .dim_feedforward = 3, .dropout = 0.f}, 2,
                             true, gen);
  const std::vector<std::string> n = names(dec);
  CHECK(n.front() == "layers.0.self_attn.in_proj_weight");
  CHECK(n.back() == "norm.bias");
  CHECK(dec.forward(rnd({2, 3, 4}, 22), rnd({2, 5, 4}, 23)).shape() == Shape({2, 3, 4}));
}

TEST_CASE("bad attention options are reported with the valid names") {
  Generator gen(24);
  CHECK_THROWS_WITH_AS(
      nn::MultiheadAttention(mha_options({.type = "sparse"}), gen),
      doctest::Contains("recipe: unknown value \"sparse\" at \"attention.type\" (valid: "
                        "scaled_dot_product, sparsemax, topk"),
      heed::Error);
  CHECK_THROWS_WITH_AS(
      nn::MultiheadAttention(mha_options({.type = "linear", .positional = "alibi"}), gen),
      doctest::Contains("positional \"alibi\" adds to dot-product scores"), heed::Error);
  CHECK_THROWS_WITH_AS(
      nn::MultiheadAttention(mha_options({.type = "topk", .options = {{"topk", 0}}}), gen),
      "recipe: \"attention.topk\" must be in [1, 1048576], got 0", heed::Error);
  nn::MultiheadAttention linear(mha_options({.type = "linear"}), gen);
  const Tensor x = rnd({2, 4, 4}, 25);
  CHECK_THROWS_WITH_AS(linear.forward(x, x, x, Tensor(), Tensor::ones({4, 4})),
                       doctest::Contains("takes only a causal attn_mask"), heed::Error);
  nn::MultiheadAttention kv(mha_options({}, 3, 5), gen);
  CHECK_THROWS_WITH_AS(kv.forward(x, x, x), doctest::Contains("[batch, key_len, 3]"), heed::Error);
}

TEST_CASE("entmax attention: one learned alpha per head, pre_alpha, starting at the option") {
  Generator gen(28);
  nn::MultiheadAttention mha(
      {.embed_dim = 8, .num_heads = 4, .variant = {.type = "entmax", .options = {{"alpha", 1.2}}}},
      gen);
  const std::vector<std::string> n = names(mha);
  CHECK(n == std::vector<std::string>{"in_proj_weight", "in_proj_bias", "pre_alpha",
                                      "out_proj.weight", "out_proj.bias"});
  const auto& entmax = dynamic_cast<const nn::EntmaxAttention&>(*mha.mechanism);
  CHECK(entmax.pre_alpha.shape() == Shape({4, 1, 1}));
  for (float a : entmax.alpha().to_vector()) CHECK(a == doctest::Approx(1.2f).epsilon(1e-6));
  CHECK(mha.repr() ==
        "MultiheadAttention(embed_dim=8, num_heads=4, dropout=0, attention=entmax, alpha=1.2, "
        "learn_alpha=true, batch_first=true)");
  // A fixed alpha is no parameter; alpha 2 would be sparsemax, whose variant exists.
  nn::MultiheadAttention fixed({.embed_dim = 8,
                                .num_heads = 4,
                                .variant = {.type = "entmax", .options = {{"learn_alpha", false}}}},
                               gen);
  CHECK(names(fixed).size() == 4);
  CHECK_THROWS_WITH_AS(
      nn::MultiheadAttention({.embed_dim = 8,
                              .num_heads = 4,
                              .variant = {.type = "entmax", .options = {{"alpha", 2}}}},
                             gen),
      "recipe: \"attention.alpha\" must be in (1.01, 2), got 2", heed::Error);
  // The clamp: a head pushed below alpha 1.01 stays at 1.01, without gradient.
  entmax.pre_alpha.data()[0] = -20.f;
  CHECK(entmax.alpha().to_vector()[0] == 1.01f);
}

TEST_CASE("sequence_classifier reads the attention variant and positional keys by name") {
  Generator gen(26);
  const DataInfo info{.input_shape = {6, 5}, .num_classes = 3};
  auto model_json = [](const std::string& encoder_extra, const std::string& pooling) {
    return nlohmann::json::parse(
        R"({"encoder": {"type": "transformer", "d_model": 8, "nhead": 2, "num_layers": 1,
            "dim_feedforward": 8, "dropout": 0.0)" +
        encoder_extra + "}, \"pooling\": \"" + pooling + "\"}");
  };
  const Tensor x = rnd({3, 6, 5}, 27);
  for (const std::string extra :
       {R"(, "attention": {"type": "topk", "topk": 2})",
        R"(, "attention": {"type": "gumbel", "hard": true})",
        R"(, "attention": {"type": "windowed", "window": 2}, "positional": "sinusoidal")",
        R"(, "attention": "linear", "positional": "rope")", R"(, "positional": "alibi")",
        R"(, "positional": "none")"}) {
    INFO(extra);
    nn::SequenceClassifier model(Config(model_json(extra, "mean"), "model"), info, gen);
    CHECK(model.logits(x).shape() == Shape({3, 3}));
  }
  nn::SequenceClassifier pooled(Config(model_json("", "query"), "model"), info, gen);
  CHECK(pooled.logits(x).shape() == Shape({3, 3}));
  const std::vector<std::string> n = names(pooled);
  CHECK(std::find(n.begin(), n.end(), "pool_query") != n.end());
  CHECK(std::find(n.begin(), n.end(), "pool_decoder.multihead_attn.in_proj_weight") != n.end());
  CHECK_THROWS_WITH_AS(
      nn::SequenceClassifier(Config(model_json(R"(, "attention": "sparsmax")", "mean"), "model"),
                             info, gen),
      doctest::Contains("did you mean \"sparsemax\""), heed::Error);
  CHECK_THROWS_WITH_AS(
      nn::SequenceClassifier(Config(model_json(R"(, "positional": "relative")", "mean"), "model"),
                             info, gen),
      doctest::Contains("(valid: learned, sinusoidal, rope, alibi, none)"), heed::Error);
}

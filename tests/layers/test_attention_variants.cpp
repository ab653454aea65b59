// The attention variants and positional pieces of layers/attention/{additive,luong,cosine,linear,
// windowed}.h and layers/positional.h: finite-difference gradient checks (inputs and parameters,
// with and without masks), the causal linear attention against its quadratic form, values and
// gradients against the float64 references of tests/fixtures/make_attention_fixtures.py
// (attn_*.json; PyTorch has none of these layers, so the script implements each paper's equations),
// and the error messages for bad shapes.

#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "fixture.h"
#include "framework/module.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "gradcheck.h"
#include "layers/attention/additive.h"
#include "layers/attention/cosine.h"
#include "layers/attention/linear.h"
#include "layers/attention/luong.h"
#include "layers/attention/taylor.h"
#include "layers/attention/windowed.h"
#include "layers/positional.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using V = const std::vector<Tensor>&;

namespace {

// float32 against float64 references.
constexpr float kAtol = 1e-5f;
constexpr float kRtol = 1e-4f;

// Checks output (and weights when present) and the gradients of every listed input and of the
// module's parameters against the fixture.
void check_fixture(const Fixture& f, const Tensor& output, const Tensor& weights,
                   const std::vector<std::pair<std::string, Tensor>>& inputs,
                   const Module* module = nullptr) {
  CHECK(output.shape() == f.output("output").shape());
  check_close(output.to_vector(), f.output("output").to_vector(), kAtol, kRtol, "output");
  if (f.json.at("outputs").contains("weights")) {
    REQUIRE(weights.defined());
    CHECK(weights.shape() == f.output("weights").shape());
    check_close(weights.to_vector(), f.output("weights").to_vector(), kAtol, kRtol, "weights");
  }
  ops::sum(output * f.grad_output("output")).backward();
  for (const auto& [name, x] : inputs)
    check_close(x.grad().to_vector(), f.grad(name).to_vector(), kAtol, kRtol, "grad of " + name);
  if (module)
    for (const auto& [name, p] : module->named_parameters())
      check_close(p.grad().to_vector(), f.grad(name).to_vector(), kAtol, kRtol, "grad of " + name);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Gradient checks
// ---------------------------------------------------------------------------------------------

TEST_CASE("attention variants: additive and Luong gradients, inputs and parameters, +- padding") {
  Generator gen(7);
  const Tensor q = rnd({2, 3, 4}, 1), k4 = rnd({2, 5, 4}, 2), k6 = rnd({2, 5, 6}, 3),
               v = rnd({2, 5, 3}, 4);
  for (const bool masked : {false, true}) {
    const Tensor mask = masked ? last_item_padding(2, 5) : Tensor();
    const std::string suffix = masked ? " with padding" : " without mask";
    auto add = randomized(std::make_shared<nn::AdditiveAttention>(4, 6, 5, 0.f, gen), 11, 0.7f);
    add->eval();
    check_module_gradients({"additive" + suffix,
                            add,
                            [&](V x) { return add->forward(x[0], x[1], x[2], mask).output; },
                            {q, k6, v}});
    for (const std::string score : {"dot", "general", "concat"})
      for (const std::string align : {"global", "local_m", "local_p"}) {
        const int64_t key_size = score == "dot" ? 4 : 6;
        auto attn =
            randomized(std::make_shared<nn::LuongAttention>(nn::LuongOptions{.score = score,
                                                                             .align = align,
                                                                             .query_size = 4,
                                                                             .key_size = key_size,
                                                                             .hidden_size = 5,
                                                                             .window = 2},
                                                            gen),
                       12, 0.7f);
        attn->eval();
        const Tensor offset =
            Tensor::from_vector_i64(std::vector<int64_t>(q.size(0), 1), {q.size(0)});
        // local_p's window edge moves with p_t; a small step keeps it from crossing a key.
        const float step = align == "local_p" ? 2e-3f : 1e-2f;
        check_module_gradients(
            {"luong " + score + " " + align + suffix,
             attn,
             [&](V x) { return attn->forward(x[0], x[1], x[2], mask, offset).output; },
             {q, key_size == 4 ? k4 : k6, v},
             3e-3f,
             3e-2f,
             step});
      }
  }
}

TEST_CASE("attention variants: cosine, linear (causal and not), RoPE, sinusoidal gradients") {
  Generator gen(8);
  const Tensor q = rnd({2, 2, 4, 3}, 21), k = rnd({2, 2, 4, 3}, 22), v = rnd({2, 2, 4, 2}, 23);
  const Tensor k5 = rnd({2, 2, 5, 3}, 24), v5 = rnd({2, 2, 5, 2}, 25);
  const Tensor log_tau = Tensor::full({1}, std::log(4.f));
  const Tensor head_tau = Tensor::from_vector({std::log(4.f), std::log(2.f)}, {2, 1, 1});
  std::vector<GradCase> cases = {
      {"cosine, no mask",
       [&](V x) {
         return nn::cosine_attention(x[0], x[1], x[2], {}, x[3], 0.f, false, gen).output;
       },
       {q, k, v, log_tau}},
      {"cosine, padding + causal, per-head tau",
       [&](V x) {
         return nn::cosine_attention(
                    x[0], x[1], x[2],
                    {last_item_padding(2, 4, 1).reshape({2, 1, 1, 4}), nn::causal_mask(4, 4)}, x[3],
                    0.f, false, gen)
             .output;
       },
       {q, k, v, head_tau}},
      {"cosine, band mask window 1",
       [&](V x) {
         return nn::cosine_attention(x[0], x[1], x[2], {nn::band_mask(4, 4, 1, false)}, x[3], 0.f,
                                     false, gen)
             .output;
       },
       {q, k, v, log_tau}},
      {"linear non-causal, no mask",
       [&](V x) { return nn::linear_attention(x[0], x[1], x[2], Tensor(), false, false).output; },
       {q, k5, v5}},
      {"linear non-causal, padding",
       [&](V x) {
         return nn::linear_attention(x[0], x[1], x[2], last_item_padding(2, 5), false, false)
             .output;
       },
       {q, k5, v5}},
      {"linear causal, no mask",
       [&](V x) { return nn::linear_attention(x[0], x[1], x[2], Tensor(), true, false).output; },
       {q, k, v}},
      {"linear causal, padding",
       [&](V x) {
         return nn::linear_attention(x[0], x[1], x[2], last_item_padding(2, 4), true, false).output;
       },
       {q, k, v}},
      {"linear weights (need_weights), causal",
       [&](V x) { return nn::linear_attention(x[0], x[1], v, Tensor(), true, true).weights; },
       {q, k}},
      {"causal_linear_attention op",
       [](V x) {
         return ops::causal_linear_attention(ops::elu_plus_one(x[0]), ops::elu_plus_one(x[1]),
                                             x[2]);
       },
       {rnd({3, 6, 4}, 26), rnd({3, 6, 4}, 27), rnd({3, 6, 5}, 28)}},
      {"causal_linear_attention op, constant v (no dv)",
       [v6 = rnd({3, 6, 5}, 32)](V x) {
         return ops::causal_linear_attention(ops::elu_plus_one(x[0]), ops::elu_plus_one(x[1]), v6);
       },
       {rnd({3, 6, 4}, 33), rnd({3, 6, 4}, 34)}},
      {"elu_plus_one", [](V x) { return ops::elu_plus_one(x[0]); }, {rnd({3, 7}, 29, -2.f, 2.f)}},
      {"apply_rotary, offset 2",
       [](V x) { return nn::apply_rotary(x[0], 2); },
       {rnd({2, 2, 5, 6}, 30)}},
      {"sdpa + band mask, causal",
       [&](V x) {
         return nn::scaled_dot_product_attention(x[0], x[1], x[2], {nn::band_mask(4, 4, 2, true)},
                                                 0.f, false, gen)
             .output;
       },
       {q, k, v}},
  };
  for (const GradCase& c : cases) check_gradients(c);
  nn::SinusoidalPositionalEncoding pe(6, 10);
  check_gradients({"sinusoidal", [&](V x) { return pe.forward(x[0]); }, {rnd({2, 5, 6}, 31)}});
}

// ---------------------------------------------------------------------------------------------
// Causal linear attention == its quadratic form
// ---------------------------------------------------------------------------------------------

TEST_CASE("causal linear attention equals the quadratic masked form, values and gradients") {
  for (const bool masked : {false, true}) {
    INFO("padding: ", masked);
    const Tensor mask = masked ? last_item_padding(2, 17, 5) : Tensor();
    std::vector<Tensor> fast = {rnd({2, 3, 17, 5}, 41), rnd({2, 3, 17, 5}, 42),
                                rnd({2, 3, 17, 4}, 43)};
    std::vector<Tensor> slow;
    for (Tensor& t : fast) {
      t.requires_grad_();
      slow.push_back(t.clone().detach().requires_grad_());
    }
    for (const bool causal : {true, false}) {
      for (Tensor& t : fast) t.set_grad(Tensor());
      for (Tensor& t : slow) t.set_grad(Tensor());
      const auto a = nn::linear_attention(fast[0], fast[1], fast[2], mask, causal, true);
      const auto b = nn::linear_attention_quadratic(slow[0], slow[1], slow[2], mask, causal);
      check_close(a.output.to_vector(), b.output.to_vector(), 1e-5f, 1e-4f, "output");
      check_close(a.weights.to_vector(), b.weights.to_vector(), 1e-6f, 1e-5f, "weights");
      const Tensor g = rnd(a.output.shape(), 44);
      a.output.backward(g);
      b.output.backward(g);
      for (size_t i = 0; i < 3; ++i)
        check_close(fast[i].grad().to_vector(), slow[i].grad().to_vector(), 1e-5f, 1e-4f,
                    "grad " + std::to_string(i));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures (make_attention_fixtures.py)
// ---------------------------------------------------------------------------------------------

TEST_CASE("AdditiveAttention matches the Bahdanau reference (attn_additive.json)") {
  const Fixture f = load_fixture("attn_additive");
  Generator gen(0);
  nn::AdditiveAttention attn(4, 6, 5, 0.f, gen);
  attn.load_state_dict(f.params());
  Tensor q = f.input("query").requires_grad_(), k = f.input("keys").requires_grad_(),
         v = f.input("values").requires_grad_();
  const auto a = attn.forward(q, k, v, f.input("key_padding_mask"));
  check_fixture(f, a.output, a.weights, {{"query", q}, {"keys", k}, {"values", v}}, &attn);
  // The same through the keys projected once, as a decoder calls it.
  attn.zero_grad();
  Tensor q2 = f.input("query").requires_grad_(), k2 = f.input("keys").requires_grad_(),
         v2 = f.input("values").requires_grad_();
  const auto b = attn.forward_projected(q2, attn.project_keys(k2), v2, f.input("key_padding_mask"));
  check_fixture(f, b.output, b.weights, {{"query", q2}, {"keys", k2}, {"values", v2}}, &attn);
}

TEST_CASE("LuongAttention matches the Luong references (attn_luong_*.json)") {
  for (const std::string name : {"dot", "general", "concat", "local_m", "local_p"}) {
    INFO("fixture attn_luong_", name);
    const Fixture f = load_fixture("attn_luong_" + name);
    Generator gen(0);
    nn::LuongAttention attn({.score = f.config.at("score"),
                             .align = f.config.at("align"),
                             .query_size = f.config.at("query_size"),
                             .key_size = f.config.at("key_size"),
                             .hidden_size = f.config.at("hidden_size"),
                             .window = f.config.at("window")},
                            gen);
    attn.load_state_dict(f.params());
    Tensor q = f.input("query").requires_grad_(), k = f.input("keys").requires_grad_(),
           v = f.input("values").requires_grad_();
    const int64_t offset = f.config.at("query_offset");
    const auto a =
        attn.forward(q, k, v, f.input("key_padding_mask"),
                     Tensor::from_vector_i64(std::vector<int64_t>(q.size(0), offset), {q.size(0)}));
    check_fixture(f, a.output, a.weights, {{"query", q}, {"keys", k}, {"values", v}}, &attn);
  }
}

TEST_CASE("cosine_attention matches the Swin v2 reference (attn_cosine.json)") {
  const Fixture f = load_fixture("attn_cosine");
  Generator gen(0);
  Tensor q = f.input("q").requires_grad_(), k = f.input("k").requires_grad_(),
         v = f.input("v").requires_grad_(), tau = f.input("log_tau").requires_grad_();
  const Tensor mask = f.input("key_padding_mask");
  const auto a = nn::cosine_attention(q, k, v, {mask.reshape({mask.size(0), 1, 1, mask.size(1)})},
                                      tau, 0.f, false, gen);
  check_fixture(f, a.output, a.weights, {{"q", q}, {"k", k}, {"v", v}, {"log_tau", tau}});
}

TEST_CASE("linear_attention matches the Katharopoulos reference (attn_linear*.json)") {
  for (const std::string name : {"attn_linear", "attn_linear_causal"}) {
    INFO("fixture ", name);
    const Fixture f = load_fixture(name);
    Tensor q = f.input("q").requires_grad_(), k = f.input("k").requires_grad_(),
           v = f.input("v").requires_grad_();
    const auto a = nn::linear_attention(q, k, v, f.input("key_padding_mask"),
                                        f.config.at("causal").get<bool>(), true);
    check_fixture(f, a.output, a.weights, {{"q", q}, {"k", k}, {"v", v}});
  }
}

TEST_CASE("taylor_attention matches the Li et al. 2020 reference (attn_taylor*.json)") {
  for (const std::string name : {"attn_taylor", "attn_taylor_causal"}) {
    INFO("fixture ", name);
    const Fixture f = load_fixture(name);
    Tensor q = f.input("q").requires_grad_(), k = f.input("k").requires_grad_(),
           v = f.input("v").requires_grad_();
    const auto a = nn::taylor_attention(q, k, v, f.input("key_padding_mask"),
                                        f.config.at("causal").get<bool>(), true);
    check_fixture(f, a.output, a.weights, {{"q", q}, {"k", k}, {"v", v}});
  }
}

TEST_CASE("taylor_attention: finite differences, with padding, causal or not") {
  const Tensor pad = last_item_padding(2, 4);
  for (const bool causal : {false, true})
    check_gradients({std::string("taylor, causal ") + (causal ? "true" : "false"),
                     [pad, causal](V x) {
                       return nn::taylor_attention(x[0], x[1], x[2], pad, causal, false).output;
                     },
                     {rnd({2, 2, 4, 3}, 31), rnd({2, 2, 4, 3}, 32), rnd({2, 2, 4, 2}, 33)},
                     2e-3f,
                     2e-2f,
                     1e-3f});
}

TEST_CASE(
    "RoPE, ALiBi and sinusoidal encodings match their references (attn_rope/alibi/"
    "sinusoidal.json)") {
  {
    const Fixture f = load_fixture("attn_rope");
    Tensor x = f.input("input").requires_grad_();
    const Tensor y =
        nn::apply_rotary(x, f.config.at("offset").get<int64_t>(), f.config.at("base").get<float>());
    check_fixture(f, y, Tensor(), {{"input", x}});
  }
  {
    const Fixture f = load_fixture("attn_alibi");
    const Tensor bias = nn::alibi_bias(3, 4, 5);
    CHECK(bias.shape() == Shape({3, 4, 5}));
    check_close(bias.to_vector(), f.output("bias").to_vector(), kAtol, kRtol, "alibi bias");
  }
  {
    const Fixture f = load_fixture("attn_sinusoidal");
    nn::SinusoidalPositionalEncoding pe(6);
    check_close(pe.forward(f.input("input")).to_vector(), f.output("output").to_vector(), kAtol,
                kRtol, "sinusoidal");
    CHECK(pe.state_dict().empty());
  }
}

// ---------------------------------------------------------------------------------------------
// Masks, names, dropout, errors
// ---------------------------------------------------------------------------------------------

TEST_CASE("band_mask: symmetric and causal windows") {
  const Tensor m = nn::band_mask(4, 5, 1, false);
  CHECK(m.to_vector() == std::vector<float>{0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1,  //
                                            1, 1, 0, 0, 0});
  const Tensor c = nn::band_mask(3, 3, 1, true);
  CHECK(c.to_vector() == std::vector<float>{0, 1, 1, 0, 0, 1, 1, 0, 0});
  CHECK_THROWS_WITH_AS(nn::band_mask(3, 3, -1, false), doctest::Contains("band_mask"), Error);
}

TEST_CASE("attention variants: parameter names and dropout on the weights in training") {
  Generator gen(3);
  nn::AdditiveAttention add(4, 6, 5, 1.f, gen);
  std::vector<std::string> names;
  for (const auto& [name, p] : add.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"v", "query_proj.weight", "key_proj.weight"});
  nn::LuongAttention lp({.score = "concat",
                         .align = "local_p",
                         .query_size = 4,
                         .key_size = 6,
                         .hidden_size = 5,
                         .dropout = 1.f},
                        gen);
  names.clear();
  for (const auto& [name, p] : lp.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"weight", "v", "position_v", "position_proj.weight"});
  const Tensor q = rnd({2, 1, 4}, 1), k = rnd({2, 5, 6}, 2), v = rnd({2, 5, 3}, 3);
  // p = 1 drops every weight in training; the returned weights are the undropped ones.
  for (const Module* m : {static_cast<const Module*>(&add), static_cast<const Module*>(&lp)}) {
    const auto a = m == &add ? add.forward(q, k, v) : lp.forward(q, k, v);
    CHECK(ops::sum(a.output * a.output).item() == 0.f);
    CHECK(ops::sum(a.weights).item() > 0.f);
  }
  add.eval();
  CHECK(ops::sum(add.forward(q, k, v).output * add.forward(q, k, v).output).item() > 0.f);
}

TEST_CASE("attention variants: shape errors name the layer and the shapes") {
  Generator gen(4);
  nn::AdditiveAttention add(4, 6, 5, 0.f, gen);
  const Tensor q = rnd({2, 3, 4}, 1), k = rnd({2, 5, 6}, 2), v = rnd({2, 5, 3}, 3);
  CHECK_THROWS_WITH_AS(add.forward(q, rnd({2, 5, 7}, 2), v),
                       doctest::Contains("AdditiveAttention: query [2, 3, 4], keys [2, 5, 7]"),
                       Error);
  CHECK_THROWS_WITH_AS(add.forward(q, k, v, last_item_padding(2, 4)),
                       doctest::Contains("AdditiveAttention: key_padding_mask of shape [2, 4]"),
                       Error);
  nn::LuongAttention dot({.score = "dot", .query_size = 4, .key_size = 4}, gen);
  CHECK_THROWS_WITH_AS(dot.forward(q, k, v), doctest::Contains("LuongAttention: query"), Error);
  CHECK_THROWS_WITH_AS(
      nn::LuongAttention({.score = "bilinear", .query_size = 4, .key_size = 4}, gen),
      doctest::Contains("unknown score \"bilinear\""), Error);
  CHECK_THROWS_WITH_AS(nn::LuongAttention({.score = "dot", .query_size = 4, .key_size = 6}, gen),
                       doctest::Contains("query_size == key_size"), Error);
  const Tensor q4 = rnd({2, 2, 4, 3}, 5), k5 = rnd({2, 2, 5, 3}, 6), v5 = rnd({2, 2, 5, 2}, 7);
  CHECK_THROWS_WITH_AS(nn::linear_attention(q4, k5, v5, Tensor(), true, false),
                       doctest::Contains("linear_attention: causal needs query == key"), Error);
  CHECK_THROWS_WITH_AS(nn::linear_attention(q4, rnd({2, 2, 5, 4}, 6), v5, Tensor(), false, false),
                       doctest::Contains("linear_attention: q [2, 2, 4, 3], k [2, 2, 5, 4]"),
                       Error);
  CHECK_THROWS_WITH_AS(nn::cosine_attention(q4, k5, v5, {}, Tensor::zeros({3}), 0.f, false, gen),
                       doctest::Contains("cosine_attention: log_tau of shape [3]"), Error);
  CHECK_THROWS_WITH_AS(nn::apply_rotary(rnd({2, 2, 5, 3}, 8)),
                       doctest::Contains("apply_rotary: input [2, 2, 5, 3]"), Error);
  nn::SinusoidalPositionalEncoding pe(6, 4);
  CHECK_THROWS_WITH_AS(pe.forward(rnd({2, 5, 6}, 9)),
                       doctest::Contains("SinusoidalPositionalEncoding: input [2, 5, 6]"), Error);
  CHECK_THROWS_WITH_AS(ops::causal_linear_attention(q4, k5, v5),
                       doctest::Contains("causal_linear_attention: q [2, 2, 4, 3]"), Error);
}

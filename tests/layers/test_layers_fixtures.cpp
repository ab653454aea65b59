// Forward values and every gradient of the layers against PyTorch 1.13.
//
// Where the numbers come from: tests/fixtures/<name>.json, written by
// tests/fixtures/make_fixtures.py (one case_<name>() function per file). Inputs and parameters are
// float32; outputs and gradients were computed in float64 from them, and the gradients are those
// of L = sum_o sum(o * grad_outputs[o]). Parameters are loaded with load_state_dict under their
// PyTorch state_dict keys, so a successful load also checks that heed names them as PyTorch does.

#include <doctest/doctest.h>

#include "fixture.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "gradcheck.h"
#include "layers/attention/multihead.h"
#include "layers/attention/scaled_dot_product.h"
#include "layers/embedding.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"
#include "layers/rnn.h"
#include "layers/transformer.h"

using namespace heed;
using namespace heed::testing;

namespace {

// float32 against float64 references.
constexpr float kAtol = 1e-5f;
constexpr float kRtol = 1e-4f;

// L = sum_o sum(o * grad_outputs[o]), the loss the fixtures' gradients belong to.
Tensor weighted_loss(const Fixture& f, const std::vector<std::pair<std::string, Tensor>>& outputs) {
  Tensor loss = Tensor::scalar(0.f);
  for (const auto& [name, out] : outputs) loss = loss + ops::sum(out * f.grad_output(name));
  return loss;
}

void check_output(const Fixture& f, const std::string& name, const Tensor& got) {
  CHECK(got.shape() == f.output(name).shape());
  check_close(got.to_vector(), f.output(name).to_vector(), kAtol, kRtol, name);
}

// Every parameter of `m` has a gradient equal to the fixture's, and the fixture has no others.
void check_param_grads(const Module& m, const Fixture& f) {
  size_t n = 0;
  for (const auto& [name, p] : m.named_parameters()) {
    ++n;
    REQUIRE_MESSAGE(p.grad().defined(), "parameter ", name, " got no gradient");
    check_close(p.grad().to_vector(), f.grad(name).to_vector(), kAtol, kRtol, "grad of " + name);
  }
  CHECK(n + (f.json.at("grads").contains("input") ? 1 : 0) == f.json.at("grads").size());
}

Tensor leaf_input(const Fixture& f) {
  return f.input("input").requires_grad_();
}

}  // namespace

TEST_CASE("nn::Linear matches PyTorch (tests/fixtures/linear.json, make_fixtures.py case_linear)") {
  const Fixture f = load_fixture("linear");
  Generator gen(0);
  nn::Linear layer(5, 3, gen);
  layer.load_state_dict(f.params());
  Tensor x = leaf_input(f);
  const Tensor y = layer.forward(x);
  check_output(f, "output", y);
  weighted_loss(f, {{"output", y}}).backward();
  check_close(x.grad().to_vector(), f.grad("input").to_vector(), kAtol, kRtol, "grad of input");
  check_param_grads(layer, f);
}

TEST_CASE(
    "nn::LSTM, 2 layers, batch_first, matches PyTorch (tests/fixtures/lstm.json, make_fixtures.py "
    "case_lstm)") {
  const Fixture f = load_fixture("lstm");
  Generator gen(0);
  nn::LSTM lstm({.input_size = 4, .hidden_size = 3, .num_layers = 2, .batch_first = true}, gen);
  lstm.load_state_dict(f.params());
  Tensor x = leaf_input(f);
  const nn::LSTMOutput out = lstm.forward(x);  // zero initial state, as the fixture
  check_output(f, "output", out.output);
  check_output(f, "h_n", out.h_n);
  check_output(f, "c_n", out.c_n);
  // Cotangents on all three outputs: the gradient reaches the weights through h_n and c_n as well.
  weighted_loss(f, {{"output", out.output}, {"h_n", out.h_n}, {"c_n", out.c_n}}).backward();
  check_close(x.grad().to_vector(), f.grad("input").to_vector(), kAtol, kRtol, "grad of input");
  check_param_grads(lstm, f);
}

TEST_CASE(
    "nn::LSTM with batch_first=false gives the same numbers transposed "
    "(tests/fixtures/lstm.json)") {
  const Fixture f = load_fixture("lstm");
  Generator gen(0);
  nn::LSTM lstm({.input_size = 4, .hidden_size = 3, .num_layers = 2, .batch_first = false}, gen);
  lstm.load_state_dict(f.params());
  Tensor x = f.input("input").transpose(0, 1).contiguous().requires_grad_();  // [seq, batch, input]
  const nn::LSTMOutput out = lstm.forward(x);
  check_close(out.output.transpose(0, 1).to_vector(), f.output("output").to_vector(), kAtol, kRtol,
              "output");
  check_output(f, "h_n", out.h_n);
  check_output(f, "c_n", out.c_n);
  weighted_loss(f, {{"output", out.output.transpose(0, 1)}, {"h_n", out.h_n}, {"c_n", out.c_n}})
      .backward();
  check_close(x.grad().transpose(0, 1).to_vector(), f.grad("input").to_vector(), kAtol, kRtol,
              "grad of input");
  check_param_grads(lstm, f);
}

TEST_CASE(
    "nn::MultiheadAttention matches PyTorch with key_padding_mask and with a causal attn_mask "
    "(tests/fixtures/mha_padding.json, mha_causal.json, make_fixtures.py _mha_case)") {
  for (const std::string name : {"mha_padding", "mha_causal"}) {
    // Self-attention passes one tensor as query, key and value (one fused projection); distinct
    // tensors with the same values take the separate-projection path and must agree.
    for (const bool fused : {true, false}) {
      CAPTURE(name);
      CAPTURE(fused);
      const Fixture f = load_fixture(name);
      Generator gen(0);
      nn::MultiheadAttention mha(8, 2, 0.f, gen);
      mha.load_state_dict(f.params());
      const Tensor padding = name == "mha_padding" ? f.input("key_padding_mask") : Tensor();
      const Tensor mask = name == "mha_causal" ? nn::causal_mask(6, 6) : Tensor();
      if (mask.defined())
        CHECK(mask.to_vector() == f.input("attn_mask").to(Dtype::Float32).to_vector());

      Tensor x = leaf_input(f);
      const nn::AttentionOutput out = fused ? mha.forward(x, x, x, padding, mask)
                                            : mha.forward(x * 1.f, x * 1.f, x * 1.f, padding, mask);
      check_output(f, "attn_output", out.output);
      check_output(f, "attn_weights", out.weights);  // per head, [batch, heads, query, key]
      weighted_loss(f, {{"attn_output", out.output}}).backward();
      check_close(x.grad().to_vector(), f.grad("input").to_vector(), kAtol, kRtol, "grad of input");
      // The key-bias part of in_proj_bias has a gradient of exactly 0 in theory (softmax is
      // invariant to a shift of all scores of a row), ~1e-16 in the fixture: the absolute
      // tolerance is what compares it.
      check_param_grads(mha, f);
      const std::vector<float> k_bias_grad = mha.in_proj_bias.grad().narrow(0, 8, 8).to_vector();
      check_close(k_bias_grad, std::vector<float>(8, 0.f), kAtol, 0.f, "grad of the key bias");
    }
  }
}

TEST_CASE(
    "nn::LayerNorm matches PyTorch (tests/fixtures/layer_norm.json, make_fixtures.py "
    "case_layer_norm)") {
  const Fixture f = load_fixture("layer_norm");
  nn::LayerNorm norm(6, f.config.at("eps").get<float>());
  norm.load_state_dict(f.params());
  Tensor x = leaf_input(f);
  const Tensor y = norm.forward(x);
  check_output(f, "output", y);
  weighted_loss(f, {{"output", y}}).backward();
  check_close(x.grad().to_vector(), f.grad("input").to_vector(), kAtol, kRtol, "grad of input");
  check_param_grads(norm, f);
}

TEST_CASE(
    "nn::Embedding with padding_idx matches PyTorch (tests/fixtures/embedding.json, "
    "make_fixtures.py "
    "case_embedding)") {
  const Fixture f = load_fixture("embedding");
  Generator gen(0);
  nn::Embedding emb(10, 4, gen, /*padding_idx=*/0);
  emb.load_state_dict(f.params());
  const Tensor ids = f.input("input");  // contains the padding id 0 twice and id 4 twice
  const Tensor y = emb.forward(ids);
  check_output(f, "output", y);
  weighted_loss(f, {{"output", y}}).backward();
  check_param_grads(emb, f);
  // The padding row is looked up but never updated: its gradient is exactly zero.
  CHECK(emb.weight.grad().narrow(0, 0, 1).to_vector() == std::vector<float>(4, 0.f));
}

TEST_CASE(
    "nn::TransformerEncoderLayer, pre-LN, gelu, src_key_padding_mask, matches PyTorch "
    "(tests/fixtures/transformer_encoder_layer.json, make_fixtures.py "
    "case_transformer_encoder_layer)") {
  const Fixture f = load_fixture("transformer_encoder_layer");
  Generator gen(0);
  nn::TransformerEncoderLayer layer({.d_model = 8,
                                     .nhead = 2,
                                     .dim_feedforward = 16,
                                     .dropout = 0.f,
                                     .activation = "gelu",
                                     .layer_norm_eps = 1e-5f,
                                     .norm_first = true},
                                    gen);
  layer.load_state_dict(f.params());
  Tensor x = leaf_input(f);
  const Tensor y = layer.forward(x, f.input("src_key_padding_mask"));
  check_output(f, "output", y);
  weighted_loss(f, {{"output", y}}).backward();
  check_close(x.grad().to_vector(), f.grad("input").to_vector(), kAtol, kRtol, "grad of input");
  check_param_grads(layer, f);
}

// Finite-difference gradient checks of every layer, with respect to its inputs AND its parameters.
//
// check_gradients (tests/gradcheck.h) differentiates a function of its inputs; a layer's
// parameters are not inputs of forward(), so check_module_gradients (also there) perturbs them in
// place: for every element of every named parameter and every float input it compares the analytic
// gradient of L = sum(f(x) * w) (one backward, w a fixed random cotangent) with the central
// difference (L(p + h) - L(p - h)) / 2h. Sizes are tiny (seq <= 4, hidden <= 3, embed 4, heads 2)
// so the whole file runs in well under a second.

#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "framework/module.h"
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
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using V = const std::vector<Tensor>&;

namespace {

// Dropout is 0 in every case below: this generator is only ever passed through, never drawn from.
Generator& unused_generator() {
  static Generator gen(0);
  return gen;
}

std::vector<ModuleGradCase> linear_embedding_norm_cases(Generator& gen) {
  auto linear = std::make_shared<nn::Linear>(3, 2, gen);
  auto linear_nobias = std::make_shared<nn::Linear>(3, 2, gen, /*bias=*/false);
  auto emb = std::make_shared<nn::Embedding>(5, 3, gen);
  auto emb_pad = std::make_shared<nn::Embedding>(5, 3, gen, /*padding_idx=*/1);
  auto norm = randomized(std::make_shared<nn::LayerNorm>(4), 21);
  auto pos = std::make_shared<nn::LearnedPositionalEmbedding>(4, 3, gen);
  // Repeated ids: their gradients add up in the same row.
  const Tensor ids = Tensor::from_vector_i64({1, 3, 3, 4, 0, 2}, {2, 3});
  // Without the padding id (whose row the forward reads but the backward, by design, never
  // updates): the padding row's gradient must still be exactly zero, as its numeric one is.
  const Tensor ids_no_pad = Tensor::from_vector_i64({0, 3, 3, 4, 0, 2}, {2, 3});
  return {
      {"Linear(3, 2) on [2,2,3]",
       linear,
       [linear](V x) { return linear->forward(x[0]); },
       {rnd({2, 2, 3}, 1)}},
      {"Linear(3, 2, bias=false) on [4,3]",
       linear_nobias,
       [linear_nobias](V x) { return linear_nobias->forward(x[0]); },
       {rnd({4, 3}, 2)}},
      {"Embedding(5, 3), repeated ids (parameters only)",
       emb,
       [emb, ids](V) { return emb->forward(ids); },
       {}},
      {"Embedding(5, 3, padding_idx=1) (parameters only)",
       emb_pad,
       [emb_pad, ids_no_pad](V) { return emb_pad->forward(ids_no_pad); },
       {}},
      {"LayerNorm(4) on [2,3,4], random affine",
       norm,
       [norm](V x) { return norm->forward(x[0]); },
       {rnd({2, 3, 4}, 3)}},
      {"LearnedPositionalEmbedding(max_len=4, d_model=3) on [2,3,3]",
       pos,
       [pos](V x) { return pos->forward(x[0]); },
       {rnd({2, 3, 3}, 4)}},
  };
}

ModuleGradCase lstm_case(const std::string& name, const nn::LSTMOptions& o, Generator& gen,
                         int64_t batch, int64_t seq, bool initial_state) {
  auto lstm = std::make_shared<nn::LSTM>(o, gen);
  const Shape x_shape =
      o.batch_first ? Shape{batch, seq, o.input_size} : Shape{seq, batch, o.input_size};
  std::vector<Tensor> inputs{rnd(x_shape, 5)};
  if (initial_state) {
    inputs.push_back(rnd({o.num_layers, batch, o.hidden_size}, 6));
    inputs.push_back(rnd({o.num_layers, batch, o.hidden_size}, 7));
  }
  // output, h_n and c_n all carry cotangents, so the check goes through the final states too.
  return {name, lstm,
          [lstm, initial_state](V x) {
            const nn::LSTMOutput out =
                initial_state ? lstm->forward(x[0], Tensor(), x[1], x[2]) : lstm->forward(x[0]);
            return flat({out.output, out.h_n, out.c_n});
          },
          inputs};
}

std::vector<ModuleGradCase> lstm_cases(Generator& gen) {
  return {
      lstm_case("LSTM 1 layer, given h0/c0", {.input_size = 2, .hidden_size = 3}, gen, 2, 3, true),
      lstm_case("LSTM 2 layers, given h0/c0", {.input_size = 2, .hidden_size = 3, .num_layers = 2},
                gen, 2, 4, true),
      lstm_case("LSTM 2 layers, zero initial state",
                {.input_size = 2, .hidden_size = 3, .num_layers = 2}, gen, 2, 3, false),
      lstm_case("LSTM 2 layers, batch_first=false, given h0/c0",
                {.input_size = 2, .hidden_size = 2, .num_layers = 2, .batch_first = false}, gen, 2,
                3, true),
      lstm_case("LSTM 1 layer, bias=false, given h0/c0",
                {.input_size = 3, .hidden_size = 2, .bias = false}, gen, 1, 3, true),
  };
}

// Outputs and attention weights both carry cotangents.
ModuleGradCase mha_case(const std::string& name, Generator& gen, uint64_t seed,
                        const Tensor& padding, const Tensor& mask, bool self_attention = true) {
  auto mha = randomized(std::make_shared<nn::MultiheadAttention>(4, 2, 0.f, gen), seed);
  if (self_attention)
    return {name,
            mha,
            [mha, padding, mask](V x) {
              const nn::AttentionOutput a = mha->forward(x[0], x[0], x[0], padding, mask);
              return flat({a.output, a.weights});
            },
            {rnd({2, 3, 4}, seed + 1)}};
  // Cross-attention: 2 queries over 3 keys; query, key and value are distinct inputs.
  return {name,
          mha,
          [mha, padding, mask](V x) {
            const nn::AttentionOutput a = mha->forward(x[0], x[1], x[2], padding, mask);
            return flat({a.output, a.weights});
          },
          {rnd({2, 2, 4}, seed + 1), rnd({2, 3, 4}, seed + 2), rnd({2, 3, 4}, seed + 3)}};
}

std::vector<ModuleGradCase> attention_cases(Generator& gen) {
  const Tensor padding = Tensor::from_vector_i64({0, 0, 0, 0, 0, 1}, {2, 3});  // item 1's last key
  const Tensor float_padding = Tensor::from_vector({0, 1, 0, 0, 1, 1}, {2, 3});
  const Tensor all_padded = Tensor::from_vector_i64({0, 0, 1, 1, 1, 1}, {2, 3});
  return {
      mha_case("MultiheadAttention(4, 2), self-attention, no mask", gen, 30, Tensor(), Tensor()),
      mha_case("MultiheadAttention(4, 2), key_padding_mask (int64)", gen, 40, padding, Tensor()),
      mha_case("MultiheadAttention(4, 2), key_padding_mask (float)", gen, 50, float_padding,
               Tensor()),
      mha_case("MultiheadAttention(4, 2), causal attn_mask", gen, 60, Tensor(),
               nn::causal_mask(3, 3)),
      mha_case("MultiheadAttention(4, 2), key_padding_mask and causal attn_mask", gen, 70, padding,
               nn::causal_mask(3, 3)),
      // Every key of item 1 masked: zero weights there (PyTorch gives NaN), and finite gradients.
      mha_case("MultiheadAttention(4, 2), one item with every key masked", gen, 80, all_padded,
               Tensor()),
      mha_case("MultiheadAttention(4, 2), cross-attention 2 queries x 3 keys, key_padding_mask",
               gen, 90, padding, Tensor(), false),
      mha_case("MultiheadAttention(4, 2), cross-attention 2 queries x 3 keys, attn_mask", gen, 100,
               Tensor(), nn::causal_mask(2, 3), false),
  };
}

ModuleGradCase encoder_case(const std::string& name, Generator& gen, uint64_t seed, bool norm_first,
                            const std::string& activation, const Tensor& padding,
                            const Tensor& mask) {
  auto layer = randomized(std::make_shared<nn::TransformerEncoderLayer>(
                              nn::TransformerEncoderLayerOptions{.d_model = 4,
                                                                 .nhead = 2,
                                                                 .dim_feedforward = 3,
                                                                 .dropout = 0.f,
                                                                 .activation = activation,
                                                                 .norm_first = norm_first},
                              gen),
                          seed);
  return {name,
          layer,
          [layer, padding, mask](V x) { return layer->forward(x[0], padding, mask); },
          {rnd({2, 3, 4}, seed + 1)}};
}

std::vector<ModuleGradCase> encoder_cases(Generator& gen) {
  // relu has a kink at 0 where central differences are meaningless: the relu cases' seeds put every
  // pre-activation of linear1 at least 0.1 away from it (seed 130 put one at -1.3e-6, a value
  // PyTorch reproduces with the same weights).
  const Tensor padding = Tensor::from_vector_i64({0, 0, 0, 0, 0, 1}, {2, 3});
  return {
      encoder_case("TransformerEncoderLayer pre-LN gelu, src_key_padding_mask", gen, 110, true,
                   "gelu", padding, Tensor()),
      encoder_case("TransformerEncoderLayer post-LN gelu, causal src_mask", gen, 120, false, "gelu",
                   Tensor(), nn::causal_mask(3, 3)),
      encoder_case("TransformerEncoderLayer post-LN relu, src_key_padding_mask", gen, 131, false,
                   "relu", padding, Tensor()),
      encoder_case("TransformerEncoderLayer pre-LN relu, no mask", gen, 143, true, "relu", Tensor(),
                   Tensor()),
  };
}

std::vector<GradCase> sdpa_cases() {
  auto sdpa = [](std::vector<Tensor> masks) {
    return [masks](V x) {
      const nn::AttentionOutput a =
          nn::scaled_dot_product_attention(x[0], x[1], x[2], masks, 0.f, false, unused_generator());
      return flat({a.output, a.weights});
    };
  };
  // q [batch 2, heads 2, query 3, d_k 2], k [2, 2, key 4, 2], v [2, 2, 4, d_v 3]
  const std::vector<Tensor> qkv{rnd({2, 2, 3, 2}, 150), rnd({2, 2, 4, 2}, 151),
                                rnd({2, 2, 4, 3}, 152)};
  const Tensor padding = Tensor::from_vector_i64({0, 0, 0, 1, 0, 1, 1, 0}, {2, 1, 1, 4});
  return {
      {"scaled_dot_product_attention, no mask", sdpa({}), qkv},
      {"scaled_dot_product_attention, padding mask [2,1,1,4]", sdpa({padding}), qkv},
      {"scaled_dot_product_attention, causal mask [3,4]", sdpa({nn::causal_mask(3, 4)}), qkv},
      {"scaled_dot_product_attention, both masks", sdpa({padding, nn::causal_mask(3, 4)}), qkv},
  };
}

}  // namespace

TEST_CASE(
    "layer gradients: Linear, Embedding, LayerNorm, LearnedPositionalEmbedding (inputs and "
    "parameters)") {
  Generator gen(1);
  for (const ModuleGradCase& c : linear_embedding_norm_cases(gen)) check_module_gradients(c);
}

TEST_CASE("layer gradients: LSTM, 1 and 2 layers, through output, h_n and c_n, with h0/c0") {
  Generator gen(2);
  for (const ModuleGradCase& c : lstm_cases(gen)) check_module_gradients(c);
}

TEST_CASE(
    "layer gradients: MultiheadAttention with no mask, key padding, causal mask, cross-attention") {
  Generator gen(3);
  for (const ModuleGradCase& c : attention_cases(gen)) check_module_gradients(c);
}

TEST_CASE("layer gradients: TransformerEncoderLayer pre-LN and post-LN, dropout 0") {
  Generator gen(4);
  for (const ModuleGradCase& c : encoder_cases(gen)) check_module_gradients(c);
}

TEST_CASE("layer gradients: scaled_dot_product_attention with respect to q, k and v") {
  for (const GradCase& c : sdpa_cases()) check_gradients(c);
}

TEST_CASE("a query whose every key is masked gets zero weights and a finite output") {
  Generator gen(5);
  nn::MultiheadAttention mha(4, 2, 0.f, gen);
  const Tensor x = rnd({2, 3, 4}, 160);
  const nn::AttentionOutput a =
      mha.forward(x, x, x, Tensor::from_vector_i64({0, 0, 1, 1, 1, 1}, {2, 3}));
  CHECK(a.weights.select(0, 1).to_vector() == std::vector<float>(2 * 3 * 3, 0.f));
  for (float v : a.output.to_vector()) CHECK(std::isfinite(v));
}

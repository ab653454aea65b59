// The module contract of every layer: PyTorch's parameter names, in PyTorch's order, and their
// count; num_parameters() against the formula; one-line repr(); initialization as PyTorch's;
// train()/eval() reaching every child; dropout inactive in eval; strict load_state_dict; and
// invalid options rejected with heed::Error naming the layer and the bad value.
//
// The expected key orders are PyTorch 1.13's state_dict() orders; for LSTM, MultiheadAttention and
// TransformerEncoderLayer they are also read back from the fixtures that
// tests/fixtures/make_fixtures.py wrote from state_dict() (its "params" keep PyTorch's order).

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "framework/ops.h"
#include "framework/random.h"
#include "layers/attention/multihead.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"
#include "layers/rnn.h"
#include "layers/rnn_cell.h"
#include "layers/transformer.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using Names = std::vector<std::string>;

namespace {

// The "params" keys of a fixture in file order (nlohmann::json would sort them).
Names fixture_param_order(const std::string& fixture) {
  std::ifstream in(std::string(HEED_SOURCE_DIR) + "/tests/fixtures/" + fixture + ".json");
  REQUIRE_MESSAGE(in.good(), "fixture ", fixture, " is missing");
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(in);
  Names out;
  for (const auto& item : j.at("params").items()) out.push_back(item.key());
  return out;
}

// Every parameter's values, to tell whether a module changed.
std::vector<std::vector<float>> snapshot(const Module& m) {
  std::vector<std::vector<float>> out;
  for (const auto& [name, t] : m.named_parameters()) out.push_back(t.to_vector());
  return out;
}

nn::TransformerEncoderLayerOptions encoder_options(float dropout = 0.1f) {
  return {.d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = dropout};
}

// All values within [-bound, bound], not all equal, and spread over most of the range (so a
// constant or a too-narrow initialization fails as well as a too-wide one).
void check_uniform(const Tensor& t, float bound, const std::string& what) {
  INFO(what, " bound ", bound);
  const std::vector<float> v = t.to_vector();
  REQUIRE(!v.empty());
  float lo = v[0], hi = v[0];
  for (float x : v) lo = std::min(lo, x), hi = std::max(hi, x);
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  CHECK(lo < hi);
  if (v.size() >= 32) CHECK(hi - lo > bound);
}

void check_constant(const Tensor& t, float value, const std::string& what) {
  INFO(what);
  CHECK(t.to_vector() == std::vector<float>(t.numel(), value));
}

}  // namespace

TEST_CASE("parameter names, order and count are PyTorch's") {
  Generator gen(0);
  SUBCASE("Linear") {
    CHECK(names(nn::Linear(5, 3, gen)) == Names{"weight", "bias"});
    CHECK(names(nn::Linear(5, 3, gen, /*bias=*/false)) == Names{"weight"});
  }
  SUBCASE("Embedding, LearnedPositionalEmbedding, LayerNorm") {
    CHECK(names(nn::Embedding(10, 4, gen, 0)) == Names{"weight"});
    CHECK(names(nn::LearnedPositionalEmbedding(16, 4, gen)) == Names{"weight"});
    CHECK(names(nn::LayerNorm(6)) == Names{"weight", "bias"});
    CHECK(names(nn::Dropout(0.5f, gen)).empty());
  }
  SUBCASE("LSTM") {
    nn::LSTM two({.input_size = 4, .hidden_size = 3, .num_layers = 2}, gen);
    const Names expected{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                         "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"};
    CHECK(names(two) == expected);
    CHECK(names(two) == fixture_param_order("lstm"));
    CHECK(
        names(nn::LSTM({.input_size = 4, .hidden_size = 3, .num_layers = 2, .bias = false}, gen)) ==
        Names{"weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"});
    CHECK(names(nn::LSTM({.input_size = 4, .hidden_size = 3}, gen)) ==
          Names{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"});
  }
  SUBCASE("RNN, GRU, bidirectional: per layer the forward direction, then _reverse") {
    const Names bi2{
        "weight_ih_l0",         "weight_hh_l0",         "bias_ih_l0",         "bias_hh_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
        "weight_ih_l1",         "weight_hh_l1",         "bias_ih_l1",         "bias_hh_l1",
        "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"};
    const nn::RNNOptions o{
        .input_size = 4, .hidden_size = 3, .num_layers = 2, .bidirectional = true};
    CHECK(names(nn::LSTM(o, gen)) == bi2);
    CHECK(names(nn::LSTM(o, gen)) == fixture_param_order("rnn_lstm"));
    CHECK(names(nn::GRU(o, gen)) == fixture_param_order("rnn_gru"));
    CHECK(names(nn::RNN(o, gen)) == fixture_param_order("rnn_tanh"));
    CHECK(names(nn::RNN({.input_size = 4, .hidden_size = 3, .num_layers = 2}, gen)) ==
          fixture_param_order("rnn_relu"));
    CHECK(names(nn::GRU({.input_size = 4, .hidden_size = 3, .bias = false}, gen)) ==
          Names{"weight_ih_l0", "weight_hh_l0"});
    // Layer 1 reads both directions of layer 0: weight_ih_l1 is [G*H, 2*H].
    const nn::GRU gru(o, gen);
    CHECK(gru.named_parameters()[8].second.shape() == Shape{9, 6});
  }
  SUBCASE("RNNCell, LSTMCell, GRUCell") {
    const Names cell{"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    CHECK(names(nn::RNNCell({.input_size = 4, .hidden_size = 3}, gen)) == cell);
    CHECK(names(nn::LSTMCell({.input_size = 4, .hidden_size = 3}, gen)) == cell);
    CHECK(names(nn::GRUCell({.input_size = 4, .hidden_size = 3}, gen)) == cell);
    CHECK(names(nn::GRUCell({.input_size = 4, .hidden_size = 3}, gen)) ==
          fixture_param_order("rnn_gru_cell"));
    CHECK(names(nn::LSTMCell({.input_size = 4, .hidden_size = 3, .bias = false}, gen)) ==
          Names{"weight_ih", "weight_hh"});
  }
  SUBCASE("MultiheadAttention") {
    nn::MultiheadAttention mha(8, 2, 0.f, gen);
    CHECK(names(mha) ==
          Names{"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"});
    CHECK(names(mha) == fixture_param_order("mha_padding"));
  }
  SUBCASE("TransformerEncoderLayer: the 12 keys of PyTorch, in its order") {
    nn::TransformerEncoderLayer layer(encoder_options(), gen);
    const Names expected{"self_attn.in_proj_weight",
                         "self_attn.in_proj_bias",
                         "self_attn.out_proj.weight",
                         "self_attn.out_proj.bias",
                         "linear1.weight",
                         "linear1.bias",
                         "linear2.weight",
                         "linear2.bias",
                         "norm1.weight",
                         "norm1.bias",
                         "norm2.weight",
                         "norm2.bias"};
    CHECK(names(layer) == expected);
    CHECK(names(layer) == fixture_param_order("transformer_encoder_layer"));
    CHECK(layer.named_buffers().empty());
    // state_dict is parameters then buffers: here exactly the parameters, as the same tensors.
    const StateDict state = layer.state_dict();
    REQUIRE(state.size() == 12);
    CHECK(state[0].second.same(layer.self_attn->in_proj_weight));
    CHECK(state[4].second.same(layer.linear1->weight));
  }
}

TEST_CASE("num_parameters() matches the formula of each layer") {
  Generator gen(0);
  CHECK(nn::Linear(5, 3, gen).num_parameters() == 5 * 3 + 3);
  CHECK(nn::Linear(5, 3, gen, false).num_parameters() == 5 * 3);
  CHECK(nn::Embedding(10, 4, gen).num_parameters() == 10 * 4);
  CHECK(nn::LearnedPositionalEmbedding(16, 4, gen).num_parameters() == 16 * 4);
  CHECK(nn::LayerNorm(6).num_parameters() == 2 * 6);
  // LSTM: per layer 4H x (in + H) weights and 2 x 4H biases, in = input_size for layer 0, H after.
  const int64_t in = 28, h = 128;
  CHECK(nn::LSTM({.input_size = in, .hidden_size = h}, gen).num_parameters() ==
        4 * h * (in + h) + 8 * h);
  CHECK(nn::LSTM({.input_size = in, .hidden_size = h, .num_layers = 2}, gen).num_parameters() ==
        4 * h * (in + h) + 8 * h + 4 * h * (h + h) + 8 * h);
  CHECK(nn::LSTM({.input_size = in, .hidden_size = h, .bias = false}, gen).num_parameters() ==
        4 * h * (in + h));
  // MultiheadAttention: 3E x E + 3E in the input projection, E x E + E in the output one.
  const int64_t e = 8;
  CHECK(nn::MultiheadAttention(e, 2, 0.f, gen).num_parameters() == 3 * e * e + 3 * e + e * e + e);
  // TransformerEncoderLayer: attention + linear1 (F x E + F) + linear2 (E x F + E) + two
  // LayerNorms.
  const int64_t f = 16;
  CHECK(nn::TransformerEncoderLayer(encoder_options(), gen).num_parameters() ==
        (4 * e * e + 4 * e) + (f * e + f) + (e * f + e) + 4 * e);
}

TEST_CASE("repr() is one line with the options; to_string() prints the tree") {
  Generator gen(0);
  CHECK(nn::Linear(5, 3, gen).repr() == "Linear(in_features=5, out_features=3, bias=true)");
  CHECK(nn::Linear(5, 3, gen, false).repr() == "Linear(in_features=5, out_features=3, bias=false)");
  CHECK(nn::Embedding(10, 4, gen).repr() == "Embedding(10, 4)");
  CHECK(nn::Embedding(10, 4, gen, 0).repr() == "Embedding(10, 4, padding_idx=0)");
  CHECK(nn::LearnedPositionalEmbedding(16, 4, gen).repr() ==
        "LearnedPositionalEmbedding(max_len=16, d_model=4)");
  CHECK(nn::LayerNorm(6).repr() == "LayerNorm((6,), eps=1e-05)");
  CHECK(nn::Dropout(0.5f, gen).repr() == "Dropout(p=0.5)");
  CHECK(
      nn::LSTM({.input_size = 28, .hidden_size = 128}, gen).repr() ==
      "LSTM(input_size=28, hidden_size=128, num_layers=1, bias=true, batch_first=true, dropout=0, "
      "bidirectional=false, weight_drop=0, locked_dropout=false)");
  CHECK(nn::LSTM({.input_size = 4,
                  .hidden_size = 3,
                  .num_layers = 2,
                  .bias = false,
                  .batch_first = false,
                  .dropout = 0.25f},
                 gen)
            .repr() ==
        "LSTM(input_size=4, hidden_size=3, num_layers=2, bias=false, batch_first=false, "
        "dropout=0.25, bidirectional=false, weight_drop=0, locked_dropout=false)");
  CHECK(nn::MultiheadAttention(8, 2, 0.1f, gen).repr() ==
        "MultiheadAttention(embed_dim=8, num_heads=2, dropout=0.1, batch_first=true)");
  nn::TransformerEncoderLayer layer(encoder_options(), gen);
  CHECK(layer.repr() ==
        "TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.1, "
        "activation=relu, "
        "norm_first=false)");
  CHECK(layer.repr().find('\n') == std::string::npos);
  CHECK(
      layer.to_string() ==
      "TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.1, "
      "activation=relu, "
      "norm_first=false)\n"
      "  (self_attn): MultiheadAttention(embed_dim=8, num_heads=2, dropout=0.1, batch_first=true)\n"
      "    (out_proj): Linear(in_features=8, out_features=8, bias=true)\n"
      "  (linear1): Linear(in_features=8, out_features=16, bias=true)\n"
      "  (dropout): Dropout(p=0.1)\n"
      "  (linear2): Linear(in_features=16, out_features=8, bias=true)\n"
      "  (norm1): LayerNorm((8,), eps=1e-05)\n"
      "  (norm2): LayerNorm((8,), eps=1e-05)\n"
      "  (dropout1): Dropout(p=0.1)\n"
      "  (dropout2): Dropout(p=0.1)\n");
}

TEST_CASE("initialization follows PyTorch's") {
  Generator gen(0);
  SUBCASE("Linear: weight and bias ~ U(-1/sqrt(in_features), 1/sqrt(in_features))") {
    nn::Linear fc(16, 32, gen);
    check_uniform(fc.weight, 1.f / 4.f, "weight");
    check_uniform(fc.bias, 1.f / 4.f, "bias");
  }
  SUBCASE("the same seed gives the same parameters") {
    Generator a(7), b(7);
    CHECK(snapshot(nn::Linear(4, 3, a)) == snapshot(nn::Linear(4, 3, b)));
  }
  SUBCASE("LayerNorm: weight ones, bias zeros") {
    nn::LayerNorm norm(6);
    check_constant(norm.weight, 1.f, "weight");
    check_constant(norm.bias, 0.f, "bias");
  }
  SUBCASE("Embedding: N(0, 1) with the padding row zeroed") {
    nn::Embedding emb(250, 4, gen, /*padding_idx=*/3);
    check_constant(emb.weight.narrow(0, 3, 1), 0.f, "padding row");
    const std::vector<float> v = emb.weight.to_vector();
    double mean = 0, sq = 0;
    for (float x : v) mean += x, sq += double(x) * x;
    mean /= v.size();
    const double std = std::sqrt(sq / v.size() - mean * mean);
    CHECK(std::abs(mean) < 0.15);
    CHECK(std > 0.85);
    CHECK(std < 1.15);
  }
  SUBCASE("LearnedPositionalEmbedding: N(0, 0.02^2)") {
    nn::LearnedPositionalEmbedding pos(256, 4, gen);
    double sq = 0;
    for (float x : pos.weight.to_vector()) sq += double(x) * x;
    const double rms = std::sqrt(sq / pos.weight.numel());
    CHECK(rms > 0.015);
    CHECK(rms < 0.025);
  }
  SUBCASE("LSTM: every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))") {
    nn::LSTM lstm({.input_size = 5, .hidden_size = 16, .num_layers = 2}, gen);
    for (const auto& [name, p] : lstm.named_parameters()) check_uniform(p, 0.25f, name);
  }
  SUBCASE("MultiheadAttention: xavier in_proj_weight, zero biases, Linear's out_proj.weight") {
    const int64_t e = 8;
    nn::MultiheadAttention mha(e, 2, 0.f, gen);
    // xavier_uniform_ on [3E, E]: fan_in E, fan_out 3E.
    check_uniform(mha.in_proj_weight, std::sqrt(6.f / (e + 3 * e)), "in_proj_weight");
    check_constant(mha.in_proj_bias, 0.f, "in_proj_bias");
    check_uniform(mha.out_proj->weight, 1.f / std::sqrt(float(e)), "out_proj.weight");
    check_constant(mha.out_proj->bias, 0.f, "out_proj.bias");
  }
  SUBCASE("TransformerEncoderLayer: LayerNorms ones/zeros, attention biases zeros") {
    nn::TransformerEncoderLayer layer(encoder_options(), gen);
    for (const auto& norm : {layer.norm1, layer.norm2}) {
      check_constant(norm->weight, 1.f, "norm weight");
      check_constant(norm->bias, 0.f, "norm bias");
    }
    check_constant(layer.self_attn->in_proj_bias, 0.f, "self_attn.in_proj_bias");
    check_uniform(layer.linear1->weight, 1.f / std::sqrt(8.f), "linear1.weight");
    check_uniform(layer.linear2->weight, 1.f / 4.f, "linear2.weight");
  }
}

TEST_CASE("train() and eval() reach every child") {
  Generator gen(0);
  nn::TransformerEncoderLayer layer(encoder_options(), gen);
  const std::vector<const Module*> all{&layer,
                                       layer.self_attn.get(),
                                       layer.self_attn->out_proj.get(),
                                       layer.linear1.get(),
                                       layer.linear2.get(),
                                       layer.norm1.get(),
                                       layer.norm2.get(),
                                       layer.dropout.get(),
                                       layer.dropout1.get(),
                                       layer.dropout2.get()};
  // Modules start in training mode, as PyTorch's.
  for (const Module* m : all) CHECK(m->is_training());
  layer.eval();
  for (const Module* m : all) CHECK_FALSE(m->is_training());
  layer.train();
  for (const Module* m : all) CHECK(m->is_training());
  layer.train(false);
  for (const Module* m : all) CHECK_FALSE(m->is_training());
}

TEST_CASE("dropout is active in training and the identity in eval") {
  Generator gen(0);
  const Tensor x = rnd({8, 64}, 1);
  SUBCASE("Dropout") {
    nn::Dropout drop(0.5f, gen);
    const std::vector<float> in = x.to_vector(), trained = drop.forward(x).to_vector();
    int zeros = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      if (trained[i] == 0.f)
        ++zeros;
      else
        CHECK(trained[i] == doctest::Approx(2.f * in[i]));  // survivors scaled by 1/(1-p)
    }
    CHECK(zeros > 150);  // ~256 of 512
    CHECK(zeros < 360);
    drop.eval();
    CHECK(drop.forward(x).to_vector() == in);
    nn::Dropout all(1.f, gen);
    CHECK(all.forward(x).to_vector() == std::vector<float>(in.size(), 0.f));
    all.eval();
    CHECK(all.forward(x).to_vector() == in);
  }
  SUBCASE("LSTM between layers, MultiheadAttention, TransformerEncoderLayer") {
    // In eval, a layer with dropout 0.5 computes exactly what the same weights with dropout 0 do.
    nn::LSTM lstm({.input_size = 4, .hidden_size = 3, .num_layers = 2, .dropout = 0.5f}, gen);
    nn::LSTM lstm0({.input_size = 4, .hidden_size = 3, .num_layers = 2}, gen);
    lstm0.load_state_dict(lstm.state_dict());
    const Tensor seq = rnd({2, 5, 4}, 2);
    CHECK(lstm.forward(seq).output.to_vector() != lstm0.forward(seq).output.to_vector());
    lstm.eval();
    CHECK(lstm.forward(seq).output.to_vector() == lstm0.forward(seq).output.to_vector());

    nn::MultiheadAttention mha(8, 2, 0.5f, gen), mha0(8, 2, 0.f, gen);
    mha0.load_state_dict(mha.state_dict());
    const Tensor tokens = rnd({2, 5, 8}, 3);
    CHECK(mha.forward(tokens, tokens, tokens).output.to_vector() !=
          mha0.forward(tokens, tokens, tokens).output.to_vector());
    mha.eval();
    CHECK(mha.forward(tokens, tokens, tokens).output.to_vector() ==
          mha0.forward(tokens, tokens, tokens).output.to_vector());

    nn::TransformerEncoderLayer enc(encoder_options(0.5f), gen), enc0(encoder_options(0.f), gen);
    enc0.load_state_dict(enc.state_dict());
    CHECK(enc.forward(tokens).to_vector() != enc0.forward(tokens).to_vector());
    enc.eval();
    CHECK(enc.forward(tokens).to_vector() == enc0.forward(tokens).to_vector());
  }
}

TEST_CASE("load_state_dict copies values in place and is strict") {
  Generator gen(0);
  SUBCASE("a matching state dict is copied, and the layer's handles stay valid") {
    nn::TransformerEncoderLayer src(encoder_options(), gen), dst(encoder_options(), gen);
    const Tensor weight_handle = dst.linear1->weight;
    dst.load_state_dict(src.state_dict());
    CHECK(snapshot(dst) == snapshot(src));
    CHECK(dst.linear1->weight.same(weight_handle));
    CHECK(dst.named_parameters()[4].second.same(weight_handle));
    src.linear1->weight.fill_(0.f);  // a copy, not an alias
    CHECK(dst.linear1->weight.to_vector() != src.linear1->weight.to_vector());
  }
  SUBCASE("the message lists missing, unexpected and mis-shaped keys") {
    nn::Linear fc(5, 3, gen);
    const auto before = snapshot(fc);
    const StateDict bad{{"weight", Tensor::zeros({3, 4})}, {"bais", Tensor::zeros({3})}};
    CHECK_THROWS_WITH_AS(
        fc.load_state_dict(bad),
        "load_state_dict: state does not match Linear(in_features=5, out_features=3, bias=true): "
        "missing keys: bias; unexpected keys: bais; mis-shaped keys: weight (checkpoint [3, 4], "
        "model [3, 5]);",
        heed::Error);
    CHECK(snapshot(fc) == before);
  }
  SUBCASE("nested keys: a 2-layer LSTM's state does not fit a 1-layer LSTM") {
    nn::LSTM one({.input_size = 4, .hidden_size = 3}, gen),
        two({.input_size = 4, .hidden_size = 3, .num_layers = 2}, gen);
    const auto before = snapshot(one);
    CHECK_THROWS_WITH_AS(
        one.load_state_dict(two.state_dict()),
        doctest::Contains("unexpected keys: bias_hh_l1, bias_ih_l1, weight_hh_l1, weight_ih_l1;"),
        heed::Error);
    CHECK(snapshot(one) == before);
    CHECK_THROWS_WITH_AS(
        two.load_state_dict(one.state_dict()),
        doctest::Contains("missing keys: weight_ih_l1, weight_hh_l1, bias_ih_l1, bias_hh_l1;"),
        heed::Error);
  }
  SUBCASE("a failed load changes nothing, even when every other key matches") {
    nn::TransformerEncoderLayer src(encoder_options(), gen), dst(encoder_options(), gen);
    const auto before = snapshot(dst);
    StateDict state = src.state_dict();
    for (auto& [name, t] : state)
      if (name == "norm2.bias") t = Tensor::zeros({9});
    CHECK_THROWS_WITH_AS(
        dst.load_state_dict(state),
        doctest::Contains("mis-shaped keys: norm2.bias (checkpoint [9], model [8]);"), heed::Error);
    CHECK(snapshot(dst) == before);
    state.pop_back();  // norm2.bias, the last key
    state.emplace_back("norm3.bias", Tensor::zeros({8}));
    CHECK_THROWS_WITH_AS(
        dst.load_state_dict(state),
        doctest::Contains("missing keys: norm2.bias; unexpected keys: norm3.bias;"), heed::Error);
    CHECK(snapshot(dst) == before);
  }
}

// load_state_dict checks names, shapes and element types before it copies anything.
TEST_CASE("load_state_dict: a wrong element type is rejected before anything is copied") {
  nn::LayerNorm src(6), dst(6);
  src.weight.fill_(2.f);
  const auto before = snapshot(dst);
  const StateDict state{{"weight", src.weight}, {"bias", Tensor::zeros({6}, Dtype::Int64)}};
  CHECK_THROWS_AS(dst.load_state_dict(state), heed::Error);
  CHECK(snapshot(dst) == before);
}

TEST_CASE("invalid options throw heed::Error naming the layer and the value") {
  Generator gen(0);
  using nn::LSTM;
  CHECK_THROWS_WITH_AS(nn::MultiheadAttention(10, 3, 0.f, gen),
                       "MultiheadAttention: embed_dim 10 must be divisible by num_heads 3",
                       heed::Error);
  CHECK_THROWS_WITH_AS(
      nn::MultiheadAttention(8, 2, -0.1f, gen),
      "MultiheadAttention: dropout probability has to be between 0 and 1, but got -0.1",
      heed::Error);
  CHECK_THROWS_WITH_AS(LSTM({.input_size = 4, .hidden_size = 3, .dropout = 1.5f}, gen),
                       "LSTM: dropout probability has to be between 0 and 1, but got 1.5",
                       heed::Error);
  CHECK_THROWS_WITH_AS(
      LSTM({.input_size = 4, .hidden_size = 0}, gen),
      "LSTM: input_size, hidden_size and num_layers must be positive, got 4, 0 and 1", heed::Error);
  CHECK_THROWS_WITH_AS(
      LSTM({.input_size = 4, .hidden_size = 3, .num_layers = 0}, gen),
      "LSTM: input_size, hidden_size and num_layers must be positive, got 4, 3 and 0", heed::Error);
  CHECK_THROWS_WITH_AS(nn::Linear(0, 3, gen),
                       "Linear: in_features and out_features must be positive, got 0 and 3",
                       heed::Error);
  CHECK_THROWS_WITH_AS(nn::Embedding(10, 4, gen, 10),
                       "Embedding: padding_idx 10 must be below num_embeddings 10", heed::Error);
  CHECK_THROWS_WITH_AS(nn::Embedding(0, 4, gen),
                       "Embedding: num_embeddings and embedding_dim must be positive, got 0 and 4",
                       heed::Error);
  CHECK_THROWS_WITH_AS(
      nn::LearnedPositionalEmbedding(-1, 4, gen),
      "LearnedPositionalEmbedding: max_len and d_model must be positive, got -1 and 4",
      heed::Error);
  CHECK_THROWS_WITH_AS(
      nn::LearnedPositionalEmbedding(16, 0, gen),
      "LearnedPositionalEmbedding: max_len and d_model must be positive, got 16 and 0",
      heed::Error);
  CHECK_THROWS_WITH_AS(nn::LayerNorm(0), "LayerNorm: normalized_shape must be positive, got 0",
                       heed::Error);
  CHECK_THROWS_WITH_AS(nn::Dropout(1.5f, gen),
                       "Dropout: dropout probability has to be between 0 and 1, but got 1.5",
                       heed::Error);
  CHECK_THROWS_WITH_AS(nn::Dropout(std::nanf(""), gen),
                       doctest::Contains("Dropout: dropout probability"), heed::Error);

  nn::TransformerEncoderLayerOptions o = encoder_options();
  o.activation = "tanh";
  CHECK_THROWS_WITH_AS(
      nn::TransformerEncoderLayer(o, gen),
      "TransformerEncoderLayer: activation \"tanh\" is not one of \"relu\", \"gelu\"", heed::Error);
  o = encoder_options();
  o.dim_feedforward = 0;
  CHECK_THROWS_WITH_AS(nn::TransformerEncoderLayer(o, gen),
                       "TransformerEncoderLayer: dim_feedforward must be positive, got 0",
                       heed::Error);
  o = encoder_options();
  o.nhead = 3;
  CHECK_THROWS_WITH_AS(nn::TransformerEncoderLayer(o, gen),
                       doctest::Contains("must be divisible by num_heads 3"), heed::Error);
  o = encoder_options(1.5f);
  CHECK_THROWS_WITH_AS(nn::TransformerEncoderLayer(o, gen), doctest::Contains("but got 1.5"),
                       heed::Error);
}

TEST_CASE("bad inputs to forward throw heed::Error naming the layer and the shapes") {
  Generator gen(0);
  nn::LSTM lstm({.input_size = 4, .hidden_size = 3, .num_layers = 2}, gen);
  CHECK_THROWS_WITH_AS(lstm.forward(Tensor::zeros({2, 5, 3})),
                       "LSTM: input of shape [2, 5, 3], expected [batch, seq, 4]", heed::Error);
  CHECK_THROWS_WITH_AS(lstm.forward(Tensor::zeros({2, 5, 4}), Tensor(), Tensor::zeros({1, 2, 3})),
                       "LSTM: initial state of shape [1, 2, 3], expected [2, 2, 3]", heed::Error);
  nn::MultiheadAttention mha(8, 2, 0.f, gen);
  const Tensor x = Tensor::zeros({2, 5, 8});
  CHECK_THROWS_WITH_AS(mha.forward(x, x, x, Tensor::zeros({2, 4})),
                       "MultiheadAttention: key_padding_mask of shape [2, 4], expected [2, 5]",
                       heed::Error);
  CHECK_THROWS_WITH_AS(mha.forward(x, x, x, Tensor(), Tensor::zeros({5, 4})),
                       "MultiheadAttention: attn_mask of shape [5, 4], expected [5, 5]",
                       heed::Error);
  CHECK_THROWS_WITH_AS(mha.forward(Tensor::zeros({2, 5, 6}), x, x),
                       doctest::Contains("MultiheadAttention: query"), heed::Error);
  nn::LearnedPositionalEmbedding pos(4, 8, gen);
  CHECK_THROWS_WITH_AS(pos.forward(x),
                       "LearnedPositionalEmbedding: sequence of length 5 exceeds max_len=4",
                       heed::Error);
  CHECK_THROWS_WITH_AS(nn::LayerNorm(6).forward(x),
                       "LayerNorm: input of shape [2, 5, 8] does not end in normalized_shape 6",
                       heed::Error);
  nn::Embedding emb(10, 4, gen);
  CHECK_THROWS_WITH_AS(
      emb.forward(Tensor::from_vector_i64({3, 10}, {2})),
      doctest::Contains("id 10 at position 1 is out of range for num_embeddings=10"), heed::Error);
}

// The recurrent family: the fused op ops::rnn_layer_fused, the layers nn::RNN / LSTM / GRU and the
// cells nn::RNNCell / LSTMCell / GRUCell.
//
// Where the numbers come from: finite differences (tests/gradcheck.h) for every gradient, and
// tests/fixtures/rnn_*.json, written by tests/fixtures/make_rnn_fixtures.py with PyTorch 1.13
// (float32 inputs, float64 references; variable lengths through pack_padded_sequence). Parameters
// are loaded with load_state_dict under PyTorch's keys, so each fixture is also a state-dict round
// trip from PyTorch.

#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "fixture.h"
#include "framework/config.h"
#include "framework/ops.h"
#include "framework/ops/rnn.h"
#include "framework/random.h"
#include "framework/registry.h"
#include "gradcheck.h"
#include "layers/models/sequence_classifier.h"
#include "layers/rnn.h"
#include "layers/rnn_cell.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using ops::RNNMode;
using V = const std::vector<Tensor>&;

namespace {

const char* mode_name(RNNMode m) {
  switch (m) {
    case RNNMode::RNN_TANH:
      return "RNN_TANH";
    case RNNMode::RNN_RELU:
      return "RNN_RELU";
    case RNNMode::LSTM:
      return "LSTM";
    default:
      return "GRU";
  }
}

// ---- The op

struct OpCase {
  RNNMode mode;
  bool reverse, bias;
  Tensor lengths;  // undefined: every sequence is seq long
};

// x [seq=4, batch=3, input=2], hidden 3; inputs in the order of rnn_layer_fused's arguments.
GradCase op_case(const OpCase& c, uint64_t seed) {
  const int64_t seq = 4, batch = 3, in = 2, H = 3, gh = ops::rnn_gates(c.mode) * H;
  const bool lstm = c.mode == RNNMode::LSTM;
  std::vector<Tensor> inputs{rnd({seq, batch, in}, seed), rnd({batch, H}, seed + 1, -0.5f, 0.5f),
                             lstm ? rnd({batch, H}, seed + 2, -0.5f, 0.5f) : Tensor(),
                             rnd({gh, in}, seed + 3, -0.7f, 0.7f),
                             rnd({gh, H}, seed + 4, -0.7f, 0.7f)};
  if (c.bias) {
    inputs.push_back(rnd({gh}, seed + 5, -0.5f, 0.5f));
    inputs.push_back(rnd({gh}, seed + 6, -0.5f, 0.5f));
  }
  std::string name = std::string(mode_name(c.mode)) + (c.reverse ? " reverse" : " forward") +
                     (c.bias ? "" : ", no bias") +
                     (c.lengths.defined() ? ", lengths 4,1,2" : ", full length");
  const OpCase cc = c;
  GradCase g{name,
             [cc](V x) {
               const Tensor c0 = x[2].dtype() == Dtype::Int64 ? Tensor() : x[2];
               const Tensor b_ih = x.size() > 5 ? x[5] : Tensor();
               const Tensor b_hh = x.size() > 6 ? x[6] : Tensor();
               return ops::rnn_layer_fused(cc.mode, x[0], x[1], c0, x[3], x[4], b_ih, b_hh,
                                           cc.lengths, cc.reverse);
             },
             {}};
  // check_gradients clones every input, so an absent c0 is an (unchecked) empty int64 tensor.
  for (const Tensor& t : inputs)
    g.inputs.push_back(t.defined() ? t : Tensor::zeros({0}, Dtype::Int64));
  if (c.mode == RNNMode::RNN_RELU) g.step = 1e-4f;  // stay clear of the kink at 0
  return g;
}

}  // namespace

TEST_CASE("rnn_gates: 1, 1, 4, 3") {
  CHECK(ops::rnn_gates(RNNMode::RNN_TANH) == 1);
  CHECK(ops::rnn_gates(RNNMode::RNN_RELU) == 1);
  CHECK(ops::rnn_gates(RNNMode::LSTM) == 4);
  CHECK(ops::rnn_gates(RNNMode::GRU) == 3);
}

TEST_CASE(
    "op gradients: rnn_layer_fused, every mode, forward and reverse, with and without lengths, "
    "without bias") {
  const Tensor lengths = Tensor::from_vector_i64({4, 1, 2}, {3});
  uint64_t seed = 100;
  for (RNNMode m : {RNNMode::RNN_TANH, RNNMode::RNN_RELU, RNNMode::LSTM, RNNMode::GRU})
    for (bool reverse : {false, true}) {
      check_gradients(op_case({m, reverse, true, Tensor()}, seed += 10));
      check_gradients(op_case({m, reverse, true, lengths}, seed += 10));
    }
  for (RNNMode m : {RNNMode::RNN_TANH, RNNMode::LSTM, RNNMode::GRU})
    check_gradients(op_case({m, true, false, lengths}, seed += 10));
}

TEST_CASE("rnn_layer_fused with lengths: each sequence as if it ran alone, zeros past its end") {
  const int64_t seq = 5, batch = 3, in = 2, H = 4;
  const std::vector<int64_t> len{5, 2, 3};
  const Tensor lengths = Tensor::from_vector_i64(len, {batch});
  for (RNNMode m : {RNNMode::RNN_TANH, RNNMode::RNN_RELU, RNNMode::LSTM, RNNMode::GRU})
    for (bool reverse : {false, true}) {
      INFO(mode_name(m), reverse ? " reverse" : " forward");
      const int64_t gh = ops::rnn_gates(m) * H;
      const bool lstm = m == RNNMode::LSTM;
      const Tensor x = rnd({seq, batch, in}, 1), h0 = rnd({batch, H}, 2),
                   c0 = lstm ? rnd({batch, H}, 3) : Tensor(), w_ih = rnd({gh, in}, 4),
                   w_hh = rnd({gh, H}, 5), b_ih = rnd({gh}, 6), b_hh = rnd({gh}, 7);
      const Tensor all =
          ops::rnn_layer_fused(m, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse);
      for (int64_t b = 0; b < batch; ++b) {
        const Tensor alone = ops::rnn_layer_fused(
            m, x.narrow(1, b, 1).narrow(0, 0, len[b]), h0.narrow(0, b, 1),
            lstm ? c0.narrow(0, b, 1) : Tensor(), w_ih, w_hh, b_ih, b_hh, Tensor(), reverse);
        check_close(all.narrow(1, b, 1).narrow(0, 0, len[b]).to_vector(),
                    alone.narrow(0, 0, len[b]).to_vector(), 1e-6f, 1e-5f, "outputs");
        CHECK(all.narrow(1, b, 1).narrow(0, len[b], seq - len[b]).to_vector() ==
              std::vector<float>((seq - len[b]) * H, 0.f));
        check_close(all.narrow(1, b, 1).narrow(0, seq, 2).to_vector(),
                    alone.narrow(0, len[b], 2).to_vector(), 1e-6f, 1e-5f, "h_n and c_n");
      }
      // Lengths all equal to seq are the same as none.
      const Tensor full = Tensor::from_vector_i64({seq, seq, seq}, {batch});
      CHECK(ops::rnn_layer_fused(m, x, h0, c0, w_ih, w_hh, b_ih, b_hh, full, reverse).to_vector() ==
            ops::rnn_layer_fused(m, x, h0, c0, w_ih, w_hh, b_ih, b_hh, Tensor(), reverse)
                .to_vector());
    }
}

TEST_CASE("rnn_layer_fused: bad arguments throw heed::Error naming the op and the shapes") {
  const Tensor x = Tensor::zeros({5, 2, 3}), h0 = Tensor::zeros({2, 4});
  const Tensor w_ih = Tensor::zeros({12, 3}), w_hh = Tensor::zeros({12, 4});
  const Tensor b = Tensor::zeros({12});
  auto gru = [&](const Tensor& xx, const Tensor& h, const Tensor& c, const Tensor& wi,
                 const Tensor& bi, const Tensor& lengths) {
    return ops::rnn_layer_fused(RNNMode::GRU, xx, h, c, wi, w_hh, bi, b, lengths, false);
  };
  CHECK_THROWS_WITH_AS(gru(Tensor::zeros({5, 2, 2}), h0, Tensor(), w_ih, b, Tensor()),
                       "gru_layer: input of shape [5, 2, 2] does not match weight_ih of shape "
                       "[12, 3] (expected [seq > 0, batch, input_size])",
                       heed::Error);
  CHECK_THROWS_WITH_AS(
      gru(x, h0, Tensor(), Tensor::zeros({16, 3}), b, Tensor()),
      "gru_layer: weight_ih [16, 3] and weight_hh [12, 4] are not [3*hidden, input_size] and "
      "[3*hidden, hidden]",
      heed::Error);
  CHECK_THROWS_WITH_AS(gru(x, h0, Tensor(), w_ih, Tensor::zeros({4}), Tensor()),
                       "gru_layer: bias of shape [4], expected [12]", heed::Error);
  CHECK_THROWS_WITH_AS(gru(x, h0, Tensor(), w_ih, Tensor(), Tensor()),
                       "gru_layer: bias_ih and bias_hh must both be given or both be undefined",
                       heed::Error);
  CHECK_THROWS_WITH_AS(gru(x, h0, h0, w_ih, b, Tensor()),
                       "gru_layer: c0 is only for the LSTM, got one of shape [2, 4]", heed::Error);
  CHECK_THROWS_WITH_AS(gru(x, Tensor::zeros({3, 4}), Tensor(), w_ih, b, Tensor()),
                       "gru_layer: initial state of shape [3, 4], expected [2, 4]", heed::Error);
  CHECK_THROWS_WITH_AS(
      gru(x, h0, Tensor(), w_ih, b, Tensor::from_vector_i64({5, 6}, {2})),
      "gru_layer: lengths[1] = 6 is outside [1, 5] for an input of shape [5, 2, 3]", heed::Error);
  CHECK_THROWS_WITH_AS(gru(x, h0, Tensor(), w_ih, b, Tensor::from_vector_i64({0, 5}, {2})),
                       doctest::Contains("gru_layer: lengths[0] = 0 is outside [1, 5]"),
                       heed::Error);
  CHECK_THROWS_WITH_AS(gru(x, h0, Tensor(), w_ih, b, Tensor::from_vector({5, 5}, {2})),
                       "gru_layer: lengths must be int64 of shape [2], got float32 of shape [2]",
                       heed::Error);
  CHECK_THROWS_WITH_AS(gru(x, h0, Tensor(), w_ih, b, Tensor::from_vector_i64({5, 5, 5}, {3})),
                       "gru_layer: lengths must be int64 of shape [2], got int64 of shape [3]",
                       heed::Error);
}

// ---- The layers and cells: gradients with respect to inputs and every parameter

namespace {

template <class Layer>
ModuleGradCase layer_case(const std::string& name, const nn::RNNOptions& o, int64_t batch,
                          int64_t seq, const Tensor& lengths, bool initial_state, uint64_t seed) {
  Generator gen(seed);
  auto layer = std::make_shared<Layer>(o, gen);
  const int64_t states = o.num_layers * (o.bidirectional ? 2 : 1);
  const bool lstm = layer->mode == RNNMode::LSTM;
  std::vector<Tensor> inputs{rnd(
      o.batch_first ? Shape{batch, seq, o.input_size} : Shape{seq, batch, o.input_size}, seed + 1)};
  if (initial_state) {
    inputs.push_back(rnd({states, batch, o.hidden_size}, seed + 2, -0.5f, 0.5f));
    if (lstm) inputs.push_back(rnd({states, batch, o.hidden_size}, seed + 3, -0.5f, 0.5f));
  }
  ModuleGradCase c{
      name, layer,
      [layer, lengths, initial_state, lstm](V x) {
        const nn::RNNOutput out = initial_state
                                      ? layer->forward(x[0], lengths, x[1], lstm ? x[2] : Tensor())
                                      : layer->forward(x[0], lengths);
        return lstm ? flat({out.output, out.h_n, out.c_n}) : flat({out.output, out.h_n});
      },
      inputs};
  if (layer->mode == RNNMode::RNN_RELU) c.step = 1e-3f;
  return c;
}

}  // namespace

TEST_CASE(
    "layer gradients: RNN, LSTM, GRU, bidirectional, 2 layers, lengths, h0/c0, through output, "
    "h_n and c_n") {
  const Tensor len = Tensor::from_vector_i64({3, 1}, {2});
  const nn::RNNOptions bi2{
      .input_size = 2, .hidden_size = 2, .num_layers = 2, .bidirectional = true};
  nn::RNNOptions relu = bi2;
  relu.nonlinearity = "relu";
  nn::RNNOptions seq_first{.input_size = 2, .hidden_size = 3, .batch_first = false};
  nn::RNNOptions no_bias{.input_size = 3, .hidden_size = 2, .bias = false, .bidirectional = true};
  const std::vector<ModuleGradCase> cases{
      layer_case<nn::RNN>("RNN tanh, bidirectional, 2 layers, lengths, h0", bi2, 2, 3, len, true,
                          10),
      layer_case<nn::RNN>("RNN relu, bidirectional, 2 layers, lengths", relu, 2, 3, len, false, 20),
      layer_case<nn::LSTM>("LSTM bidirectional, 2 layers, lengths, h0/c0", bi2, 2, 3, len, true,
                           30),
      layer_case<nn::LSTM>("LSTM bidirectional, 2 layers, full length, zero state", bi2, 2, 3,
                           Tensor(), false, 40),
      layer_case<nn::GRU>("GRU bidirectional, 2 layers, lengths, h0", bi2, 2, 3, len, true, 50),
      layer_case<nn::GRU>("GRU 1 layer, batch_first=false, h0", seq_first, 2, 3, Tensor(), true,
                          60),
      layer_case<nn::LSTM>("LSTM bidirectional, bias=false, lengths", no_bias, 2, 3, len, true, 70),
      layer_case<nn::GRU>("GRU bidirectional, bias=false, lengths", no_bias, 2, 3, len, false, 80),
  };
  for (const ModuleGradCase& c : cases) check_module_gradients(c);
}

TEST_CASE("layer gradients: RNNCell (tanh, relu), LSTMCell, GRUCell, with and without a state") {
  Generator gen(7);
  auto rnn =
      std::make_shared<nn::RNNCell>(nn::RNNCellOptions{.input_size = 3, .hidden_size = 2}, gen);
  auto relu = std::make_shared<nn::RNNCell>(
      nn::RNNCellOptions{.input_size = 3, .hidden_size = 2, .nonlinearity = "relu"}, gen);
  auto lstm =
      std::make_shared<nn::LSTMCell>(nn::RNNCellOptions{.input_size = 3, .hidden_size = 2}, gen);
  auto gru =
      std::make_shared<nn::GRUCell>(nn::RNNCellOptions{.input_size = 3, .hidden_size = 2}, gen);
  auto gru_nb = std::make_shared<nn::GRUCell>(
      nn::RNNCellOptions{.input_size = 3, .hidden_size = 2, .bias = false}, gen);
  const Tensor x = rnd({2, 3}, 1), h = rnd({2, 2}, 2, -0.5f, 0.5f), c = rnd({2, 2}, 3, -0.5f, 0.5f);
  std::vector<ModuleGradCase> cases{
      {"RNNCell tanh", rnn, [rnn](V v) { return rnn->forward(v[0], v[1]); }, {x, h}},
      {"RNNCell relu", relu, [relu](V v) { return relu->forward(v[0], v[1]); }, {x, h}},
      {"LSTMCell",
       lstm,
       [lstm](V v) {
         const nn::LSTMState s = lstm->forward(v[0], v[1], v[2]);
         return flat({s.h, s.c});
       },
       {x, h, c}},
      {"LSTMCell, zero state",
       lstm,
       [lstm](V v) {
         const nn::LSTMState s = lstm->forward(v[0]);
         return flat({s.h, s.c});
       },
       {x}},
      {"GRUCell", gru, [gru](V v) { return gru->forward(v[0], v[1]); }, {x, h}},
      {"GRUCell, bias=false",
       gru_nb,
       [gru_nb](V v) { return gru_nb->forward(v[0], v[1]); },
       {x, h}},
  };
  cases[1].step = 1e-3f;
  for (const ModuleGradCase& k : cases) check_module_gradients(k);
}

// ---- PyTorch fixtures

namespace {

constexpr float kAtol = 1e-5f, kRtol = 1e-4f;

void check_tensor(const Tensor& got, const Tensor& want, const std::string& what) {
  REQUIRE_MESSAGE(got.defined(), what, " is undefined");
  CHECK_MESSAGE(got.shape() == want.shape(), what, ": shape ", got.shape(), " vs ", want.shape());
  check_close(got.to_vector(), want.to_vector(), kAtol, kRtol, what);
}

// Loss, then every input's and parameter's gradient against the fixture's.
void check_backward(const Fixture& f, const std::vector<std::pair<std::string, Tensor>>& outputs,
                    const std::vector<std::pair<std::string, Tensor>>& inputs, const Module& m) {
  Tensor loss = Tensor::scalar(0.f);
  for (const auto& [name, out] : outputs) {
    check_tensor(out, f.output(name), name);
    loss = loss + ops::sum(out * f.grad_output(name));
  }
  loss.backward();
  size_t n = 0;
  for (const auto& [name, x] : inputs) {
    ++n;
    check_tensor(x.grad(), f.grad(name), "grad of " + name);
  }
  for (const auto& [name, p] : m.named_parameters()) {
    ++n;
    check_tensor(p.grad(), f.grad(name), "grad of " + name);
  }
  CHECK(n == f.json.at("grads").size());
}

void check_layer_fixture(const std::string& file) {
  INFO("fixture ", file);
  const Fixture f = load_fixture(file);
  const nlohmann::json& c = f.config;
  nn::RNNOptions o{.input_size = c.at("input_size"),
                   .hidden_size = c.at("hidden_size"),
                   .num_layers = c.value("num_layers", 1),
                   .nonlinearity = c.value("nonlinearity", "tanh"),
                   .bias = c.at("bias"),
                   .batch_first = c.value("batch_first", false),
                   .bidirectional = c.value("bidirectional", false)};
  Generator gen(0);
  const std::string kind = c.at("mode");
  std::unique_ptr<nn::RNNBase> layer;
  if (kind == "RNN") layer = std::make_unique<nn::RNN>(o, gen);
  if (kind == "LSTM") layer = std::make_unique<nn::LSTM>(o, gen);
  if (kind == "GRU") layer = std::make_unique<nn::GRU>(o, gen);
  REQUIRE(layer);
  layer->load_state_dict(f.params());
  const nlohmann::json& in = f.json.at("inputs");
  std::vector<std::pair<std::string, Tensor>> inputs{{"input", f.input("input").requires_grad_()}};
  for (const char* s : {"h0", "c0"})
    if (in.contains(s)) inputs.emplace_back(s, f.input(s).requires_grad_());
  const Tensor lengths = in.contains("lengths") ? f.input("lengths") : Tensor();
  const Tensor h0 = in.contains("h0") ? inputs[1].second : Tensor();
  const Tensor c0 = in.contains("c0") ? inputs[2].second : Tensor();
  const nn::RNNOutput out = layer->forward(inputs[0].second, lengths, h0, c0);
  std::vector<std::pair<std::string, Tensor>> outputs{{"output", out.output}, {"h_n", out.h_n}};
  if (kind == "LSTM") outputs.emplace_back("c_n", out.c_n);
  check_backward(f, outputs, inputs, *layer);
}

}  // namespace

TEST_CASE(
    "nn::RNN / LSTM / GRU match PyTorch: 2 layers, bidirectional, batch_first or not, h0/c0, "
    "packed lengths (tests/fixtures/rnn_*.json, make_rnn_fixtures.py)") {
  for (const char* file :
       {"rnn_tanh", "rnn_relu", "rnn_lstm", "rnn_lstm_packed", "rnn_gru", "rnn_gru_packed"})
    check_layer_fixture(file);
}

TEST_CASE("nn::RNNCell / LSTMCell / GRUCell match PyTorch (tests/fixtures/rnn_*cell.json)") {
  Generator gen(0);
  const nn::RNNCellOptions o{.input_size = 4, .hidden_size = 3};
  {
    const Fixture f = load_fixture("rnn_cell");
    nn::RNNCell cell(o, gen);
    cell.load_state_dict(f.params());
    const Tensor x = f.input("input").requires_grad_(), h = f.input("h").requires_grad_();
    check_backward(f, {{"h", cell.forward(x, h)}}, {{"input", x}, {"h", h}}, cell);
  }
  {
    const Fixture f = load_fixture("rnn_lstm_cell");
    nn::LSTMCell cell(o, gen);
    cell.load_state_dict(f.params());
    const Tensor x = f.input("input").requires_grad_(), h = f.input("h").requires_grad_(),
                 c = f.input("c").requires_grad_();
    const nn::LSTMState s = cell.forward(x, h, c);
    check_backward(f, {{"h", s.h}, {"c", s.c}}, {{"input", x}, {"h", h}, {"c", c}}, cell);
  }
  {
    const Fixture f = load_fixture("rnn_gru_cell");
    nn::GRUCell cell(o, gen);
    cell.load_state_dict(f.params());
    const Tensor x = f.input("input").requires_grad_(), h = f.input("h").requires_grad_();
    check_backward(f, {{"h", cell.forward(x, h)}}, {{"input", x}, {"h", h}}, cell);
  }
}

TEST_CASE("a GRUCell stepped by hand reproduces a 1-layer GRU with the same weights") {
  Generator gen(3);
  nn::GRU gru({.input_size = 3, .hidden_size = 4}, gen);
  nn::GRUCell cell({.input_size = 3, .hidden_size = 4}, gen);
  StateDict state;
  for (const auto& [name, t] : gru.named_parameters())
    state.emplace_back(name.substr(0, name.size() - 3), t);  // "weight_ih_l0" -> "weight_ih"
  cell.load_state_dict(state);
  const Tensor x = rnd({2, 5, 3}, 9);
  const nn::RNNOutput out = gru.forward(x);
  Tensor h;
  for (int64_t t = 0; t < 5; ++t) {
    h = cell.forward(x.select(1, t), h);
    check_close(h.to_vector(), out.output.select(1, t).to_vector(), 1e-5f, 1e-4f, "step");
  }
  check_close(h.to_vector(), out.h_n.select(0, 0).to_vector(), 1e-5f, 1e-4f, "h_n");
}

// ---- Options, state dicts, regularization, errors

TEST_CASE("state_dict round trip: a saved bidirectional GRU loads into a fresh one") {
  Generator gen(1);
  const nn::GRUOptions o{.input_size = 3, .hidden_size = 4, .num_layers = 2, .bidirectional = true};
  nn::GRU a(o, gen), b(o, gen);
  const Tensor x = rnd({2, 5, 3}, 2), len = Tensor::from_vector_i64({5, 3}, {2});
  CHECK(a.forward(x, len).output.to_vector() != b.forward(x, len).output.to_vector());
  b.load_state_dict(a.state_dict());
  CHECK(a.forward(x, len).output.to_vector() == b.forward(x, len).output.to_vector());
  CHECK(a.forward(x, len).h_n.to_vector() == b.forward(x, len).h_n.to_vector());
}

TEST_CASE("output shapes: D*hidden features, h_n [num_layers*D, batch, hidden], c_n for LSTM") {
  Generator gen(0);
  const nn::RNNOptions o{.input_size = 3, .hidden_size = 4, .num_layers = 3, .bidirectional = true};
  const Tensor x = rnd({2, 5, 3}, 1);
  const nn::RNNOutput l = nn::LSTM(o, gen).forward(x);
  CHECK(l.output.shape() == Shape{2, 5, 8});
  CHECK(l.h_n.shape() == Shape{6, 2, 4});
  CHECK(l.c_n.shape() == Shape{6, 2, 4});
  const nn::RNNOutput g = nn::GRU(o, gen).forward(x);
  CHECK(g.output.shape() == Shape{2, 5, 8});
  CHECK(!g.c_n.defined());
  // The last layer's h_n: forward direction = output at the last step, reverse = at step 0.
  CHECK(g.h_n.select(0, 4).to_vector() == g.output.select(1, 4).narrow(1, 0, 4).to_vector());
  CHECK(g.h_n.select(0, 5).to_vector() == g.output.select(1, 0).narrow(1, 4, 4).to_vector());
}

TEST_CASE("weight_drop: DropConnect on weight_hh in training only, one mask for every step") {
  Generator gen(5);
  nn::LSTMOptions o{.input_size = 3, .hidden_size = 8, .weight_drop = 0.5f};
  nn::LSTM dropped(o, gen);
  o.weight_drop = 0.f;
  nn::LSTM plain(o, gen);
  plain.load_state_dict(dropped.state_dict());
  const Tensor x = rnd({2, 6, 3}, 6);
  CHECK(dropped.forward(x).output.to_vector() != plain.forward(x).output.to_vector());
  // The gradient of a dropped weight is exactly zero (the same mask at every step), and about half
  // of weight_hh is dropped; weight_ih is untouched.
  ops::sum(dropped.forward(x).output).backward();
  int64_t zeros = 0;
  for (float g : dropped.named_parameters()[1].second.grad().to_vector()) zeros += g == 0.f;
  CHECK(dropped.named_parameters()[1].first == "weight_hh_l0");
  CHECK(zeros > 32 * 8 / 4);
  CHECK(zeros < 32 * 8 * 3 / 4);
  for (float g : dropped.named_parameters()[0].second.grad().to_vector()) CHECK(g != 0.f);
  dropped.eval();
  CHECK(dropped.forward(x).output.to_vector() == plain.forward(x).output.to_vector());
}

TEST_CASE("layers: bad options and inputs throw heed::Error naming the layer and the values") {
  Generator gen(0);
  CHECK_THROWS_WITH_AS(nn::RNN({.input_size = 4, .hidden_size = 3, .nonlinearity = "sigmoid"}, gen),
                       "RNN: nonlinearity \"sigmoid\" is not one of \"tanh\", \"relu\"",
                       heed::Error);
  CHECK_THROWS_WITH_AS(nn::GRU({.input_size = 4, .hidden_size = 3, .nonlinearity = "relu"}, gen),
                       "GRU: has no nonlinearity option, got \"relu\"", heed::Error);
  CHECK_THROWS_WITH_AS(nn::GRU({.input_size = 4, .hidden_size = 3, .weight_drop = 1.f}, gen),
                       "GRU: weight_drop has to be in [0, 1), but got 1", heed::Error);
  CHECK_THROWS_WITH_AS(nn::RNN({.input_size = 0, .hidden_size = 3}, gen),
                       "RNN: input_size, hidden_size and num_layers must be positive, got 0, 3 "
                       "and 1",
                       heed::Error);
  CHECK_THROWS_WITH_AS(nn::LSTMCell({.input_size = 4, .hidden_size = 0}, gen),
                       "LSTMCell: input_size and hidden_size must be positive, got 4 and 0",
                       heed::Error);
  CHECK_THROWS_WITH_AS(
      nn::RNNCell({.input_size = 4, .hidden_size = 3, .nonlinearity = "gelu"}, gen),
      "RNNCell: nonlinearity \"gelu\" is not one of \"tanh\", \"relu\"", heed::Error);

  nn::GRU gru({.input_size = 4, .hidden_size = 3, .num_layers = 2, .bidirectional = true}, gen);
  const Tensor x = Tensor::zeros({2, 5, 4});
  CHECK_THROWS_WITH_AS(gru.forward(Tensor::zeros({2, 5, 3})),
                       "GRU: input of shape [2, 5, 3], expected [batch, seq, 4]", heed::Error);
  CHECK_THROWS_WITH_AS(gru.forward(x, Tensor(), Tensor::zeros({2, 2, 3})),
                       "GRU: initial state of shape [2, 2, 3], expected [4, 2, 3]", heed::Error);
  CHECK_THROWS_WITH_AS(gru.forward(x, Tensor(), Tensor(), Tensor::zeros({4, 2, 3})),
                       "GRU: c0 is only for the LSTM, got one of shape [4, 2, 3]", heed::Error);
  CHECK_THROWS_WITH_AS(gru.forward(x, Tensor::from_vector_i64({5, 6}, {2})),
                       "GRU: lengths[1] = 6 is outside [1, 5], the sequence length of the input",
                       heed::Error);
  CHECK_THROWS_WITH_AS(gru.forward(x, Tensor::from_vector_i64({0, 5}, {2})),
                       "GRU: lengths[0] = 0 is outside [1, 5], the sequence length of the input",
                       heed::Error);
  CHECK_THROWS_WITH_AS(
      gru.forward(x, Tensor::from_vector({5, 5}, {2})),
      "GRU: lengths must be int64 of shape [batch] = [2], got float32 of shape [2]", heed::Error);
  CHECK_THROWS_WITH_AS(gru.forward(x, Tensor::from_vector_i64({5, 5, 5}, {3})),
                       "GRU: lengths must be int64 of shape [batch] = [2], got int64 of shape [3]",
                       heed::Error);
  // The pre-lengths argument order, forward(x, h0), is caught by the dtype check.
  CHECK_THROWS_WITH_AS(gru.forward(x, Tensor::zeros({4, 2, 3})),
                       doctest::Contains("GRU: lengths must be int64"), heed::Error);

  nn::LSTMCell cell({.input_size = 4, .hidden_size = 3}, gen);
  CHECK_THROWS_WITH_AS(cell.forward(Tensor::zeros({2, 5})),
                       "LSTMCell: input of shape [2, 5], expected [batch, 4]", heed::Error);
  CHECK_THROWS_WITH_AS(
      cell.forward(Tensor::zeros({2, 4}), Tensor::zeros({2, 3}), Tensor::zeros({3, 3})),
      "LSTMCell: state of shape [3, 3], expected [2, 3]", heed::Error);
}

TEST_CASE("repr(): one line with the options") {
  Generator gen(0);
  CHECK(nn::RNN({.input_size = 28, .hidden_size = 64, .nonlinearity = "relu"}, gen).repr() ==
        "RNN(input_size=28, hidden_size=64, num_layers=1, nonlinearity=relu, bias=true, "
        "batch_first=true, dropout=0, bidirectional=false, weight_drop=0, locked_dropout=false)");
  CHECK(nn::GRU({.input_size = 28,
                 .hidden_size = 64,
                 .num_layers = 2,
                 .dropout = 0.1f,
                 .bidirectional = true,
                 .weight_drop = 0.2f,
                 .locked_dropout = true},
                gen)
            .repr() ==
        "GRU(input_size=28, hidden_size=64, num_layers=2, bias=true, batch_first=true, "
        "dropout=0.1, bidirectional=true, weight_drop=0.2, locked_dropout=true)");
  CHECK(nn::RNNCell({.input_size = 4, .hidden_size = 3}, gen).repr() ==
        "RNNCell(input_size=4, hidden_size=3, bias=true, nonlinearity=tanh)");
  CHECK(nn::LSTMCell({.input_size = 4, .hidden_size = 3, .bias = false}, gen).repr() ==
        "LSTMCell(input_size=4, hidden_size=3, bias=false)");
  CHECK(nn::GRUCell({.input_size = 4, .hidden_size = 3}, gen).repr() ==
        "GRUCell(input_size=4, hidden_size=3, bias=true)");
}

TEST_CASE("sequence_classifier: encoder types rnn, lstm, gru with the recurrent keys") {
  Generator gen(0);
  auto build = [&](const nlohmann::json& encoder, const std::string& pooling = "last") {
    return build_model(
        Config({{"type", "sequence_classifier"}, {"encoder", encoder}, {"pooling", pooling}},
               "model"),
        DataInfo{{6, 5}, 3}, gen);
  };
  const auto gru = build({{"type", "gru"},
                          {"hidden_size", 4},
                          {"num_layers", 2},
                          {"bidirectional", true},
                          {"dropout", 0.1},
                          {"weight_drop", 0.2}});
  const StateDict params = gru->named_parameters();
  CHECK(params.front().first == "gru.weight_ih_l0");
  CHECK(params[4].first == "gru.weight_ih_l0_reverse");
  CHECK(params.back().first == "fc.bias");
  CHECK(params.back().second.shape() == Shape{3});
  CHECK(params[params.size() - 2].second.shape() == Shape{3, 8});  // fc over 2 * hidden_size
  const auto rnn = build({{"type", "rnn"}, {"hidden_size", 4}, {"nonlinearity", "relu"}}, "mean");
  CHECK(rnn->named_parameters().front().first == "rnn.weight_ih_l0");
  CHECK(build({{"type", "lstm"}, {"hidden_size", 4}})->named_parameters().front().first ==
        "lstm.weight_ih_l0");
  CHECK_THROWS_WITH_AS(
      build({{"type", "lstm"}, {"nonlinearity", "relu"}}),
      doctest::Contains("\"model.encoder.nonlinearity\" is not an option of encoder "
                        "\"lstm\""),
      heed::Error);
}

TEST_CASE("sequence_classifier: pooling last of a bidirectional encoder is the last layer's h_n") {
  Generator gen(0);
  const nlohmann::json recipe{
      {"type", "sequence_classifier"},
      {"encoder",
       {{"type", "lstm"}, {"hidden_size", 3}, {"num_layers", 2}, {"bidirectional", true}}}};
  auto model = build_model(Config(recipe, "model"), DataInfo{{5, 4}, 2}, gen);
  nn::LSTM lstm({.input_size = 4, .hidden_size = 3, .num_layers = 2, .bidirectional = true}, gen);
  StateDict lstm_state, fc_state;
  for (const auto& [name, t] : model->named_parameters())
    (name.rfind("lstm.", 0) == 0 ? lstm_state : fc_state)
        .emplace_back(name.substr(name.find('.') + 1), t);
  lstm.load_state_dict(lstm_state);
  const Tensor x = rnd({2, 5, 4}, 3);
  const nn::RNNOutput out = lstm.forward(x);
  const Tensor h_n = ops::concat({out.h_n.select(0, 2), out.h_n.select(0, 3)}, 1);  // [2, 6]
  const Tensor logits = ops::linear(h_n, fc_state[0].second, fc_state[1].second);
  auto* classifier = dynamic_cast<nn::SequenceClassifier*>(model.get());
  REQUIRE(classifier);
  check_close(classifier->logits(x).to_vector(), logits.to_vector(), 1e-6f, 1e-5f, "logits");
}

// The oneDNN recurrent layer op (ops::rnn_layer_dnnl, framework/ops/rnn_dnnl.cpp): values and
// gradients against PyTorch (tests/fixtures/rnn_op_*.json from make_rnn_op_fixtures.py), finite-
// difference gradient checks of every mode and direction, with and without bias, and the errors.

#include <doctest/doctest.h>

#include "fixture.h"
#include "framework/ops/rnn.h"
#include "framework/precision.h"
#include "gradcheck.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using ops::RNNMode;

namespace {

struct ModeName {
  RNNMode mode;
  const char* name;
};
const ModeName kModes[] = {{RNNMode::RNN_TANH, "rnn_tanh"},
                           {RNNMode::RNN_RELU, "rnn_relu"},
                           {RNNMode::LSTM, "lstm"},
                           {RNNMode::GRU, "gru"}};

// Rows [begin, begin + count) of the packed [seq + 2, batch, hidden] result.
std::vector<float> rows(const Tensor& packed, int64_t begin, int64_t count) {
  return packed.detach().narrow(0, begin, count).contiguous().to_vector();
}

// Runs fixture rnn_op_<mode>_<direction> through rnn_layer_dnnl and checks the outputs and every
// gradient against PyTorch's within atol + rtol * |expected|; returns the output rows.
std::vector<float> check_fixture(const ModeName& m, const std::string& direction, float atol,
                                 float rtol) {
  const std::string name = std::string("rnn_op_") + m.name + "_" + direction;
  INFO("fixture: ", name);
  const testing::Fixture f = testing::load_fixture(name);
  const bool lstm = m.mode == RNNMode::LSTM;
  Tensor x = f.input("input").requires_grad_(), h0 = f.input("h0").requires_grad_();
  Tensor c0 = lstm ? f.input("c0").requires_grad_() : Tensor();
  Tensor w_ih = f.param("weight_ih_l0").requires_grad_();
  Tensor w_hh = f.param("weight_hh_l0").requires_grad_();
  Tensor b_ih = f.param("bias_ih_l0").requires_grad_();
  Tensor b_hh = f.param("bias_hh_l0").requires_grad_();
  const Tensor out =
      ops::rnn_layer_dnnl(m.mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, direction == "reverse");
  const int64_t seq = x.size(0), batch = x.size(1), hidden = w_hh.size(1);
  REQUIRE(out.shape() == Shape({seq + 2, batch, hidden}));
  check_close(rows(out, 0, seq), f.output("output").to_vector(), atol, rtol, "output");
  check_close(rows(out, seq, 1), f.output("h_n").to_vector(), atol, rtol, "h_n");
  Tensor g = Tensor::zeros(out.shape());
  g.narrow(0, 0, seq).copy_(f.grad_output("output"));
  g.narrow(0, seq, 1).copy_(f.grad_output("h_n").unsqueeze(0));
  if (lstm) {
    check_close(rows(out, seq + 1, 1), f.output("c_n").to_vector(), atol, rtol, "c_n");
    g.narrow(0, seq + 1, 1).copy_(f.grad_output("c_n").unsqueeze(0));
  } else {
    CHECK(rows(out, seq + 1, 1) == std::vector<float>(batch * hidden, 0.f));
  }
  out.backward(g);
  check_close(x.grad().to_vector(), f.grad("input").to_vector(), atol, rtol, "d input");
  check_close(h0.grad().to_vector(), f.grad("h0").to_vector(), atol, rtol, "d h0");
  if (lstm) check_close(c0.grad().to_vector(), f.grad("c0").to_vector(), atol, rtol, "d c0");
  for (const auto& [key, t] : {std::pair<const char*, Tensor>{"weight_ih_l0", w_ih},
                               {"weight_hh_l0", w_hh},
                               {"bias_ih_l0", b_ih},
                               {"bias_hh_l0", b_hh}})
    check_close(t.grad().to_vector(), f.grad(key).to_vector(), atol, rtol, key);
  return rows(out, 0, seq + 2);
}

// Sets the float32 matmul precision for one scope.
struct PrecisionScope {
  explicit PrecisionScope(MatmulPrecision p) { set_float32_matmul_precision(p); }
  ~PrecisionScope() { set_float32_matmul_precision(MatmulPrecision::Highest); }
};

}  // namespace

TEST_CASE("rnn_layer_dnnl matches PyTorch for every mode and direction (rnn_op_*.json)") {
  for (const ModeName& m : kModes)
    for (const char* direction : {"forward", "reverse"})
      // Twice, so that the second run goes through the cached primitives and must not see the
      // first run's accumulated weight gradients.
      for (int run = 0; run < 2; ++run) check_fixture(m, direction, 1e-5f, 1e-4f);
}

TEST_CASE("float32_matmul_precision medium: rnn_layer_dnnl in bfloat16 within its rounding") {
  PrecisionScope medium(MatmulPrecision::Medium);
  if (!rnn_uses_bfloat16()) {
    MESSAGE("this CPU has no AVX512_BF16: medium runs in float32, nothing to check");
    return;
  }
  for (const ModeName& m : kModes)
    for (const char* direction : {"forward", "reverse"}) {
      // bfloat16 keeps 8 bits of mantissa (relative rounding 2^-9 = 0.002 per operand); summed
      // over the fixtures' steps, gradients of order 1 move by up to 0.02 (measured on an AMD
      // EPYC: 5e-3 fails on a dozen weight gradients, 3e-2 holds).
      const std::vector<float> bf16 = check_fixture(m, direction, 3e-2f, 3e-2f);
      set_float32_matmul_precision(MatmulPrecision::Highest);
      const std::vector<float> f32 = check_fixture(m, direction, 1e-5f, 1e-4f);
      set_float32_matmul_precision(MatmulPrecision::Medium);
      // The bfloat16 kernels really ran: their rounding shows.
      CHECK(bf16 != f32);
    }
}

TEST_CASE("rnn_layer_dnnl gradients agree with central differences") {
  const int64_t seq = 3, batch = 2, input = 3, hidden = 4;
  std::vector<GradCase> cases;
  for (const ModeName& m : kModes)
    for (bool reverse : {false, true})
      for (bool bias : {true, false}) {
        const int64_t rows_ = ops::rnn_gates(m.mode) * hidden;
        const bool lstm = m.mode == RNNMode::LSTM;
        std::vector<Tensor> inputs{
            rnd({seq, batch, input}, 1, -1.f, 1.f), rnd({batch, hidden}, 2, -0.5f, 0.5f),
            rnd({rows_, input}, 3, -0.5f, 0.5f), rnd({rows_, hidden}, 4, -0.5f, 0.5f)};
        if (lstm) inputs.push_back(rnd({batch, hidden}, 5, -0.5f, 0.5f));
        if (bias) {
          inputs.push_back(rnd({rows_}, 6, -0.5f, 0.5f));
          inputs.push_back(rnd({rows_}, 7, -0.5f, 0.5f));
        }
        const RNNMode mode = m.mode;
        GradCase c{
            std::string(m.name) + (reverse ? " reverse" : " forward") + (bias ? "" : " no bias"),
            [mode, reverse, bias, lstm](const std::vector<Tensor>& v) {
              const size_t b = lstm ? 5 : 4;
              return ops::rnn_layer_dnnl(mode, v[0], v[1], lstm ? v[4] : Tensor(), v[2], v[3],
                                         bias ? v[b] : Tensor(), bias ? v[b + 1] : Tensor(),
                                         reverse);
            },
            inputs};
        // Central differences in float32 across relu's kink are meaningless: a smaller step.
        if (mode == RNNMode::RNN_RELU) c.step = 2e-3f;
        cases.push_back(c);
      }
  for (const GradCase& c : cases) check_gradients(c);
}

TEST_CASE("rnn_layer_dnnl: inference equals training, undefined h0 is zeros, skipped grads") {
  const int64_t seq = 4, batch = 3, input = 5, hidden = 6;
  for (const ModeName& m : kModes) {
    INFO("mode: ", m.name);
    const int64_t r = ops::rnn_gates(m.mode) * hidden;
    const bool lstm = m.mode == RNNMode::LSTM;
    const Tensor x = rnd({seq, batch, input}, 11, -1.f, 1.f);
    const Tensor zeros = Tensor::zeros({batch, hidden});
    Tensor w_ih = rnd({r, input}, 12, -0.5f, 0.5f).requires_grad_(),
           w_hh = rnd({r, hidden}, 13, -0.5f, 0.5f);
    const Tensor b_ih = rnd({r}, 14, -0.5f, 0.5f), b_hh = rnd({r}, 15, -0.5f, 0.5f);
    const Tensor train =
        ops::rnn_layer_dnnl(m.mode, x, Tensor(), Tensor(), w_ih, w_hh, b_ih, b_hh, true);
    REQUIRE(train.grad_fn() != nullptr);
    Tensor infer;
    {
      NoGradGuard no_grad;
      infer = ops::rnn_layer_dnnl(m.mode, x, zeros, lstm ? zeros : Tensor(), w_ih, w_hh, b_ih, b_hh,
                                  true);
    }
    CHECK(infer.grad_fn() == nullptr);
    check_close(train.detach().to_vector(), infer.to_vector(), 1e-6f, 1e-5f, "inference");
    ops::sum(train).backward();
    CHECK(w_ih.grad().defined());
    CHECK(!w_hh.grad().defined());
  }
}

TEST_CASE("rnn_layer_dnnl: bad shapes and dtypes name the op and the shapes") {
  const Tensor x = Tensor::zeros({5, 3, 4}), h0 = Tensor::zeros({3, 6});
  const Tensor w_ih = Tensor::zeros({24, 4}), w_hh = Tensor::zeros({24, 6});
  const Tensor b = Tensor::zeros({24});
  auto lstm = [&](const Tensor& xx, const Tensor& hh, const Tensor& wi, const Tensor& bi) {
    return [=] { ops::rnn_layer_dnnl(RNNMode::LSTM, xx, hh, hh, wi, w_hh, bi, bi, false); };
  };
  CHECK(error_of(lstm(Tensor::zeros({5, 3, 5}), h0, w_ih, b)) ==
        "rnn_layer_dnnl: weight_ih of shape [24, 4] does not match input [5, 3, 5] and weight_hh "
        "of shape [24, 6] (expected [24, 5])");
  CHECK(error_of(lstm(x, Tensor::zeros({2, 6}), w_ih, b)) ==
        "rnn_layer_dnnl: h0 of shape [2, 6] for input [5, 3, 4] and hidden size 6 (expected "
        "[3, 6])");
  CHECK(error_of(lstm(x, h0, w_ih, Tensor::zeros({12}))) ==
        "rnn_layer_dnnl: bias of shape [12] for weight_hh of shape [24, 6] (expected [24])");
  CHECK(error_of(lstm(Tensor::zeros({5, 3}), h0, w_ih, b)).find("[seq, batch, input_size]") !=
        std::string::npos);
  CHECK(error_of(lstm(Tensor::zeros({5, 3, 4}, Dtype::Int64), h0, w_ih, b)) ==
        "rnn_layer_dnnl: expected float32 tensors, got int64");
  CHECK(error_of([&] {
          ops::rnn_layer_dnnl(RNNMode::GRU, x, h0, h0, Tensor::zeros({18, 4}),
                              Tensor::zeros({18, 6}), Tensor(), Tensor(), false);
        }) == "rnn_layer_dnnl: c0 of shape [3, 6] given, but only LSTM has a cell state");
  CHECK(error_of([&] {
          ops::rnn_layer_dnnl(RNNMode::GRU, x, h0, Tensor(), w_ih, w_hh, b, b, false);
        }) == "rnn_layer_dnnl: weight_hh of shape [24, 6] is not [3*hidden, hidden]");
}

TEST_CASE("rnn_layer_dnnl and rnn_layer_fused agree in values and gradients") {
  const int64_t seq = 6, batch = 3, input = 5, hidden = 7;
  for (const ModeName& m : kModes)
    for (bool reverse : {false, true}) {
      INFO("mode: ", m.name, reverse ? " reverse" : " forward");
      const int64_t r = ops::rnn_gates(m.mode) * hidden;
      const bool lstm = m.mode == RNNMode::LSTM;
      const std::vector<Tensor> values{rnd({seq, batch, input}, 21, -1.f, 1.f),
                                       rnd({batch, hidden}, 22, -0.5f, 0.5f),
                                       lstm ? rnd({batch, hidden}, 23, -0.5f, 0.5f) : Tensor(),
                                       rnd({r, input}, 24, -0.5f, 0.5f),
                                       rnd({r, hidden}, 25, -0.5f, 0.5f),
                                       rnd({r}, 26, -0.5f, 0.5f),
                                       rnd({r}, 27, -0.5f, 0.5f)};
      const Tensor g = rnd({seq + 2, batch, hidden}, 28, -1.f, 1.f);
      std::vector<std::vector<Tensor>> leaves(2);
      std::vector<Tensor> outs;
      for (int path = 0; path < 2; ++path) {
        for (const Tensor& v : values)
          leaves[path].push_back(v.defined() ? v.clone().requires_grad_() : Tensor());
        const auto& l = leaves[path];
        outs.push_back(path == 0 ? ops::rnn_layer_dnnl(m.mode, l[0], l[1], l[2], l[3], l[4], l[5],
                                                       l[6], reverse)
                                 : ops::rnn_layer_fused(m.mode, l[0], l[1], l[2], l[3], l[4], l[5],
                                                        l[6], Tensor(), reverse));
        outs.back().backward(g);
      }
      check_close(outs[0].detach().to_vector(), outs[1].detach().to_vector(), 2e-5f, 1e-4f,
                  "output");
      for (size_t k = 0; k < values.size(); ++k)
        if (values[k].defined())
          check_close(leaves[0][k].grad().to_vector(), leaves[1][k].grad().to_vector(), 2e-5f,
                      1e-4f, "gradient of input " + std::to_string(k));
    }
}

TEST_CASE("rnn_layer: lengths all equal to seq take oneDNN's path, as no lengths do") {
  const int64_t seq = 5, batch = 3, input = 4, hidden = 6;
  const Tensor full = Tensor::from_vector_i64({seq, seq, seq}, {batch});
  const Tensor ragged = Tensor::from_vector_i64({seq, 2, seq}, {batch});
  for (RNNMode mode : {RNNMode::LSTM, RNNMode::GRU}) {
    const int64_t r = ops::rnn_gates(mode) * hidden;
    const Tensor x = rnd({seq, batch, input}, 31, -1.f, 1.f).requires_grad_();
    const Tensor w_ih = rnd({r, input}, 32, -0.5f, 0.5f), w_hh = rnd({r, hidden}, 33, -0.5f, 0.5f);
    const auto run = [&](const Tensor& lengths) {
      return ops::rnn_layer(mode, x, Tensor(), Tensor(), w_ih, w_hh, Tensor(), Tensor(), lengths,
                            false);
    };
    const Tensor with_full = run(full);
    CHECK(with_full.grad_fn()->name == "rnn_dnnl");
    CHECK(with_full.to_vector() == run(Tensor()).to_vector());
    CHECK(run(ragged).grad_fn()->name != "rnn_dnnl");
  }
}

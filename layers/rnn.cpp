#include "layers/rnn.h"

#include <cmath>
#include <sstream>

#include "framework/ops.h"
#include "framework/random.h"
#include "layers/dropout.h"

namespace heed::nn {

namespace {

ops::RNNMode rnn_mode(const RNNOptions& o) {
  HEED_CHECK(o.nonlinearity == "tanh" || o.nonlinearity == "relu", "RNN: nonlinearity \"",
             o.nonlinearity, "\" is not one of \"tanh\", \"relu\"");
  return o.nonlinearity == "tanh" ? ops::RNNMode::RNN_TANH : ops::RNNMode::RNN_RELU;
}

const char* boolean(bool b) {
  return b ? "true" : "false";
}

}  // namespace

RNNBase::RNNBase(ops::RNNMode m, const char* name, const RNNOptions& o, Generator& gen)
    : options(o), mode(m), name_(name), gen_(&gen) {
  HEED_CHECK(o.input_size > 0 && o.hidden_size > 0 && o.num_layers > 0, name,
             ": input_size, hidden_size and num_layers must be positive, got ", o.input_size, ", ",
             o.hidden_size, " and ", o.num_layers);
  HEED_CHECK(m == ops::RNNMode::RNN_TANH || m == ops::RNNMode::RNN_RELU || o.nonlinearity == "tanh",
             name, ": has no nonlinearity option, got \"", o.nonlinearity, "\"");
  check_dropout(o.dropout, name);
  HEED_CHECK(o.weight_drop >= 0.f && o.weight_drop < 1.f, name,
             ": weight_drop has to be in [0, 1), but got ", o.weight_drop);
  const float bound = 1.f / std::sqrt(static_cast<float>(o.hidden_size));
  const int64_t gates = ops::rnn_gates(m) * o.hidden_size;
  auto init = [&](const std::string& key, const Shape& shape) {
    return register_parameter(key, Tensor::rand(shape, gen, -bound, bound));
  };
  for (int64_t k = 0; k < o.num_layers; ++k)
    for (int64_t d = 0; d < directions(); ++d) {
      const std::string suffix = "_l" + std::to_string(k) + (d == 1 ? "_reverse" : "");
      const int64_t in = k == 0 ? o.input_size : directions() * o.hidden_size;
      Weights w;
      w.w_ih = init("weight_ih" + suffix, {gates, in});
      w.w_hh = init("weight_hh" + suffix, {gates, o.hidden_size});
      if (o.bias) {
        w.b_ih = init("bias_ih" + suffix, {gates});
        w.b_hh = init("bias_hh" + suffix, {gates});
      }
      weights_.push_back(w);
    }
}

void RNNBase::check_inputs(const Tensor& seq_first, const Tensor& lengths, const Tensor& h0,
                           const Tensor& c0) const {
  const int64_t seq = seq_first.size(0), batch = seq_first.size(1);
  const Shape state{options.num_layers * directions(), batch, options.hidden_size};
  HEED_CHECK(mode == ops::RNNMode::LSTM || !c0.defined(), name_,
             ": c0 is only for the LSTM, got one of shape ", c0.shape());
  for (const Tensor* s : {&h0, &c0})
    HEED_CHECK(!s->defined() || s->shape() == state, name_, ": initial state of shape ", s->shape(),
               ", expected ", state);
  if (!lengths.defined()) return;
  HEED_CHECK(lengths.dtype() == Dtype::Int64 && lengths.shape() == Shape({batch}), name_,
             ": lengths must be int64 of shape [batch] = ", Shape({batch}), ", got ",
             lengths.dtype() == Dtype::Int64 ? "int64" : "float32", " of shape ", lengths.shape());
  const std::vector<int64_t> len = lengths.to_vector_i64();
  for (int64_t b = 0; b < batch; ++b)
    HEED_CHECK(len[b] >= 1 && len[b] <= seq, name_, ": lengths[", b, "] = ", len[b],
               " is outside [1, ", seq, "], the sequence length of the input");
}

RNNOutput RNNBase::forward(const Tensor& x, const Tensor& lengths, const Tensor& h0,
                           const Tensor& c0) const {
  HEED_CHECK(x.dim() == 3 && x.size(2) == options.input_size && x.numel() > 0, name_,
             ": input of shape ", x.shape(), ", expected [",
             options.batch_first ? "batch, seq, " : "seq, batch, ", options.input_size, "]");
  const Tensor seq_first = options.batch_first ? x.transpose(0, 1) : x;
  check_inputs(seq_first, lengths, h0, c0);
  const int64_t seq = seq_first.size(0), D = directions();
  const bool lstm = mode == ops::RNNMode::LSTM;
  const bool drop_weights = is_training() && options.weight_drop > 0.f;
  std::vector<Tensor> h_n, c_n;
  Tensor layer_in = seq_first;
  for (int64_t k = 0; k < options.num_layers; ++k) {
    std::vector<Tensor> outs;
    for (int64_t d = 0; d < D; ++d) {
      const int64_t i = k * D + d;
      const Weights& w = weights_[i];
      const Tensor w_hh =
          drop_weights ? ops::dropout(w.w_hh, options.weight_drop, true, *gen_) : w.w_hh;
      const Tensor r = ops::rnn_layer(mode, layer_in, h0.defined() ? h0.select(0, i) : Tensor(),
                                      c0.defined() ? c0.select(0, i) : Tensor(), w.w_ih, w_hh,
                                      w.b_ih, w.b_hh, lengths, d == 1);
      outs.push_back(r.narrow(0, 0, seq));
      h_n.push_back(r.select(0, seq));
      if (lstm) c_n.push_back(r.select(0, seq + 1));
    }
    const Tensor out = D == 1 ? outs[0] : ops::concat(outs, 2);
    const bool last = k + 1 == options.num_layers;
    layer_in = last                     ? out
               : options.locked_dropout ? locked_dropout(out, options.dropout, is_training(), *gen_,
                                                         /*batch_first=*/false)
                                        : ops::dropout(out, options.dropout, is_training(), *gen_);
  }
  return {options.batch_first ? layer_in.transpose(0, 1) : layer_in, ops::stack(h_n, 0),
          lstm ? ops::stack(c_n, 0) : Tensor()};
}

std::string RNNBase::repr() const {
  const RNNOptions& o = options;
  std::ostringstream out;
  out << name_ << "(input_size=" << o.input_size << ", hidden_size=" << o.hidden_size
      << ", num_layers=" << o.num_layers;
  if (mode == ops::RNNMode::RNN_TANH || mode == ops::RNNMode::RNN_RELU)
    out << ", nonlinearity=" << o.nonlinearity;
  out << ", bias=" << boolean(o.bias) << ", batch_first=" << boolean(o.batch_first)
      << ", dropout=" << o.dropout << ", bidirectional=" << boolean(o.bidirectional)
      << ", weight_drop=" << o.weight_drop << ", locked_dropout=" << boolean(o.locked_dropout)
      << ")";
  return out.str();
}

RNN::RNN(const RNNOptions& o, Generator& gen) : RNNBase(rnn_mode(o), "RNN", o, gen) {}

LSTM::LSTM(const LSTMOptions& o, Generator& gen) : RNNBase(ops::RNNMode::LSTM, "LSTM", o, gen) {}

GRU::GRU(const GRUOptions& o, Generator& gen) : RNNBase(ops::RNNMode::GRU, "GRU", o, gen) {}

}  // namespace heed::nn

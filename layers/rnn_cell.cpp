#include "layers/rnn_cell.h"

#include <cmath>
#include <sstream>

#include "framework/random.h"

namespace heed::nn {

RNNCellBase::RNNCellBase(const char* name, int64_t gates, const RNNCellOptions& o, Generator& gen)
    : options(o), name_(name) {
  HEED_CHECK(o.input_size > 0 && o.hidden_size > 0, name,
             ": input_size and hidden_size must be positive, got ", o.input_size, " and ",
             o.hidden_size);
  const float bound = 1.f / std::sqrt(static_cast<float>(o.hidden_size));
  auto init = [&](const char* key, const Shape& shape) {
    return register_parameter(key, Tensor::rand(shape, gen, -bound, bound));
  };
  weight_ih = init("weight_ih", {gates * o.hidden_size, o.input_size});
  weight_hh = init("weight_hh", {gates * o.hidden_size, o.hidden_size});
  if (o.bias) {
    bias_ih = init("bias_ih", {gates * o.hidden_size});
    bias_hh = init("bias_hh", {gates * o.hidden_size});
  }
}

void RNNCellBase::check_inputs(const Tensor& x, const Tensor& h, const Tensor& c) const {
  HEED_CHECK(x.dim() == 2 && x.size(1) == options.input_size, name_, ": input of shape ", x.shape(),
             ", expected [batch, ", options.input_size, "]");
  const Shape state{x.size(0), options.hidden_size};
  for (const Tensor* s : {&h, &c})
    HEED_CHECK(!s->defined() || s->shape() == state, name_, ": state of shape ", s->shape(),
               ", expected ", state);
}

Tensor RNNCellBase::step(ops::RNNMode mode, const Tensor& x, const Tensor& h,
                         const Tensor& c) const {
  return ops::rnn_layer_fused(mode, x.unsqueeze(0), h, c, weight_ih, weight_hh, bias_ih, bias_hh,
                              Tensor(), false);
}

std::string RNNCellBase::repr() const {
  std::ostringstream out;
  out << name_ << "(input_size=" << options.input_size << ", hidden_size=" << options.hidden_size
      << ", bias=" << (options.bias ? "true" : "false");
  if (std::string(name_) == "RNNCell") out << ", nonlinearity=" << options.nonlinearity;
  out << ")";
  return out.str();
}

RNNCell::RNNCell(const RNNCellOptions& o, Generator& gen) : RNNCellBase("RNNCell", 1, o, gen) {
  HEED_CHECK(o.nonlinearity == "tanh" || o.nonlinearity == "relu", "RNNCell: nonlinearity \"",
             o.nonlinearity, "\" is not one of \"tanh\", \"relu\"");
}

Tensor RNNCell::forward(const Tensor& x, const Tensor& h) const {
  check_inputs(x, h, Tensor());
  const auto mode =
      options.nonlinearity == "tanh" ? ops::RNNMode::RNN_TANH : ops::RNNMode::RNN_RELU;
  return step(mode, x, h, Tensor()).select(0, 0);
}

LSTMCell::LSTMCell(const RNNCellOptions& o, Generator& gen) : RNNCellBase("LSTMCell", 4, o, gen) {
  HEED_CHECK(o.nonlinearity == "tanh", "LSTMCell: has no nonlinearity option, got \"",
             o.nonlinearity, "\"");
}

LSTMState LSTMCell::forward(const Tensor& x, const Tensor& h, const Tensor& c) const {
  check_inputs(x, h, c);
  const Tensor out = step(ops::RNNMode::LSTM, x, h, c);
  return {out.select(0, 0), out.select(0, 2)};
}

GRUCell::GRUCell(const RNNCellOptions& o, Generator& gen) : RNNCellBase("GRUCell", 3, o, gen) {
  HEED_CHECK(o.nonlinearity == "tanh", "GRUCell: has no nonlinearity option, got \"",
             o.nonlinearity, "\"");
}

Tensor GRUCell::forward(const Tensor& x, const Tensor& h) const {
  check_inputs(x, h, Tensor());
  return step(ops::RNNMode::GRU, x, h, Tensor()).select(0, 0);
}

}  // namespace heed::nn

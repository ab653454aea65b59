#include "layers/rnn_cell.h"

#include <cmath>
#include <sstream>

#include "framework/ops.h"
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

Tensor RNNCellBase::input_part(const Tensor& x) const {
  return ops::linear(x, weight_ih, bias_ih);
}

Tensor RNNCellBase::hidden_part(const Tensor& h) const {
  return ops::linear(h, weight_hh, bias_hh);
}

std::string RNNCellBase::repr() const {
  std::ostringstream out;
  out << name_ << "(input_size=" << options.input_size << ", hidden_size=" << options.hidden_size
      << ", bias=" << (options.bias ? "true" : "false");
  if (std::string(name_) == "RNNCell") out << ", nonlinearity=" << options.nonlinearity;
  out << ")";
  return out.str();
}

namespace {

Tensor zeros_if_undefined(const Tensor& s, const Tensor& x, int64_t hidden) {
  return s.defined() ? s : Tensor::zeros({x.size(0), hidden});
}

}  // namespace

RNNCell::RNNCell(const RNNCellOptions& o, Generator& gen) : RNNCellBase("RNNCell", 1, o, gen) {
  HEED_CHECK(o.nonlinearity == "tanh" || o.nonlinearity == "relu", "RNNCell: nonlinearity \"",
             o.nonlinearity, "\" is not one of \"tanh\", \"relu\"");
}

Tensor RNNCell::forward(const Tensor& x, const Tensor& h) const {
  check_inputs(x, h, Tensor());
  const Tensor pre = input_part(x) + hidden_part(zeros_if_undefined(h, x, options.hidden_size));
  return options.nonlinearity == "tanh" ? ops::tanh(pre) : ops::relu(pre);
}

LSTMCell::LSTMCell(const RNNCellOptions& o, Generator& gen) : RNNCellBase("LSTMCell", 4, o, gen) {
  HEED_CHECK(o.nonlinearity == "tanh", "LSTMCell: has no nonlinearity option, got \"",
             o.nonlinearity, "\"");
}

LSTMState LSTMCell::forward(const Tensor& x, const Tensor& h, const Tensor& c) const {
  check_inputs(x, h, c);
  const int64_t H = options.hidden_size;
  const Tensor pre = input_part(x) + hidden_part(zeros_if_undefined(h, x, H));
  const std::vector<Tensor> g = ops::split(pre, {H, H, H, H}, 1);  // i, f, g, o
  const Tensor c_next =
      ops::sigmoid(g[1]) * zeros_if_undefined(c, x, H) + ops::sigmoid(g[0]) * ops::tanh(g[2]);
  return {ops::sigmoid(g[3]) * ops::tanh(c_next), c_next};
}

GRUCell::GRUCell(const RNNCellOptions& o, Generator& gen) : RNNCellBase("GRUCell", 3, o, gen) {
  HEED_CHECK(o.nonlinearity == "tanh", "GRUCell: has no nonlinearity option, got \"",
             o.nonlinearity, "\"");
}

Tensor GRUCell::forward(const Tensor& x, const Tensor& h_in) const {
  check_inputs(x, h_in, Tensor());
  const int64_t H = options.hidden_size;
  const Tensor h = zeros_if_undefined(h_in, x, H);
  // b_hn stays inside the reset gate's product: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
  const std::vector<Tensor> gx = ops::split(input_part(x), {H, H, H}, 1);
  const std::vector<Tensor> gh = ops::split(hidden_part(h), {H, H, H}, 1);
  const Tensor r = ops::sigmoid(gx[0] + gh[0]);
  const Tensor z = ops::sigmoid(gx[1] + gh[1]);
  const Tensor n = ops::tanh(gx[2] + r * gh[2]);
  return (1.f - z) * n + z * h;
}

}  // namespace heed::nn

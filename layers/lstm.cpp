#include "layers/lstm.h"

#include <cmath>
#include <sstream>

#include "framework/ops.h"
#include "framework/ops/rnn.h"
#include "framework/random.h"
#include "layers/dropout.h"

namespace heed::nn {

LSTM::LSTM(const LSTMOptions& o, Generator& gen) : options(o), gen_(&gen) {
  HEED_CHECK(o.input_size > 0 && o.hidden_size > 0 && o.num_layers > 0,
             "LSTM: input_size, hidden_size and num_layers must be positive, got ", o.input_size,
             ", ", o.hidden_size, " and ", o.num_layers);
  check_dropout(o.dropout, "LSTM");
  const float bound = 1.f / std::sqrt(static_cast<float>(o.hidden_size));
  const int64_t gates = 4 * o.hidden_size;
  auto init = [&](const std::string& name, const Shape& shape) {
    return register_parameter(name, Tensor::rand(shape, gen, -bound, bound));
  };
  for (int64_t k = 0; k < o.num_layers; ++k) {
    const std::string l = "_l" + std::to_string(k);
    const int64_t in = k == 0 ? o.input_size : o.hidden_size;
    LayerWeights w;
    w.w_ih = init("weight_ih" + l, {gates, in});
    w.w_hh = init("weight_hh" + l, {gates, o.hidden_size});
    if (o.bias) {
      w.b_ih = init("bias_ih" + l, {gates});
      w.b_hh = init("bias_hh" + l, {gates});
    }
    layers_.push_back(w);
  }
}

LSTMOutput LSTM::forward(const Tensor& x, const Tensor& h0, const Tensor& c0) const {
  HEED_CHECK(x.dim() == 3 && x.size(2) == options.input_size, "LSTM: input of shape ", x.shape(),
             ", expected [", options.batch_first ? "batch, seq, " : "seq, batch, ",
             options.input_size, "]");
  Tensor seq_first = options.batch_first ? x.transpose(0, 1) : x;
  const int64_t batch = seq_first.size(1), hidden = options.hidden_size;
  const Shape state_shape{options.num_layers, batch, hidden};
  for (const Tensor* s : {&h0, &c0})
    HEED_CHECK(!s->defined() || s->shape() == state_shape, "LSTM: initial state of shape ",
               s->shape(), ", expected ", state_shape);
  std::vector<Tensor> h_n, c_n;
  Tensor layer_in = seq_first;
  for (int64_t k = 0; k < options.num_layers; ++k) {
    const LayerWeights& w = layers_[k];
    const Tensor h = h0.defined() ? h0.select(0, k) : Tensor::zeros({batch, hidden});
    const Tensor c = c0.defined() ? c0.select(0, k) : Tensor::zeros({batch, hidden});
    const Tensor hc = ops::lstm_layer(layer_in, h, c, w.w_ih, w.w_hh, w.b_ih, w.b_hh);
    const Tensor out = hc.narrow(2, 0, hidden);
    h_n.push_back(out.select(0, -1));
    c_n.push_back(hc.narrow(2, hidden, hidden).select(0, -1));
    const bool last = k + 1 == options.num_layers;
    layer_in = last ? out : ops::dropout(out, options.dropout, is_training(), *gen_);
  }
  Tensor output = options.batch_first ? layer_in.transpose(0, 1) : layer_in;
  return {output, ops::stack(h_n, 0), ops::stack(c_n, 0)};
}

std::string LSTM::repr() const {
  std::ostringstream out;
  out << "LSTM(input_size=" << options.input_size << ", hidden_size=" << options.hidden_size
      << ", num_layers=" << options.num_layers << ", bias=" << (options.bias ? "true" : "false")
      << ", batch_first=" << (options.batch_first ? "true" : "false")
      << ", dropout=" << options.dropout << ")";
  return out.str();
}

}  // namespace heed::nn

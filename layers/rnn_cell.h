#pragma once
// One step of a recurrent network, for decoders that feed each output back in: PyTorch's
// nn.RNNCell, nn.LSTMCell and nn.GRUCell, with their equations (ops::RNNMode in
// framework/ops/rnn.h; Elman 1990, Hochreiter & Schmidhuber 1997, Cho et al. 2014) and names:
//   weight_ih [G*hidden_size, input_size], weight_hh [G*hidden_size, hidden_size],
//   bias_ih, bias_hh [G*hidden_size], G = 1 (RNNCell), 4 (LSTMCell, gates i, f, g, o),
//   3 (GRUCell, gates r, z, n); all ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
// Shapes: x [batch, input_size], h and c [batch, hidden_size] (zeros when undefined).
// Composed from differentiable ops (linear, sigmoid, tanh), so autograd does the backward.
//
//   LSTMCell cell({.input_size = 16, .hidden_size = 32}, gen);
//   LSTMState s;
//   for (const Tensor& x_t : steps) s = cell.forward(x_t, s.h, s.c);  // s.h [batch, 32]

#include <string>

#include "framework/module.h"

namespace heed {
class Generator;
}

namespace heed::nn {

struct RNNCellOptions {
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  bool bias = true;
  std::string nonlinearity = "tanh";  // RNNCell only: "tanh" | "relu"
};

/// The weights every cell has; `gates` rows per unit of hidden_size.
class RNNCellBase : public Module {
 public:
  std::string repr() const override;

  const RNNCellOptions options;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;  // bias_* undefined when options.bias is false

 protected:
  RNNCellBase(const char* name, int64_t gates, const RNNCellOptions& options, Generator& gen);
  /// Throws unless x is [batch, input_size] and each defined state is [batch, hidden_size].
  void check_inputs(const Tensor& x, const Tensor& h, const Tensor& c) const;
  /// W_ih x + b_ih and W_hh h + b_hh, each [batch, gates*hidden_size] (h zeros if undefined).
  Tensor input_part(const Tensor& x) const;
  Tensor hidden_part(const Tensor& h) const;
  const char* name_;
};

/// h' = tanh or relu(W_ih x + b_ih + W_hh h + b_hh); returns h' [batch, hidden_size].
class RNNCell : public RNNCellBase {
 public:
  RNNCell(const RNNCellOptions& options, Generator& gen);
  Tensor forward(const Tensor& x, const Tensor& h = Tensor()) const;
};

struct LSTMState {
  Tensor h, c;  // [batch, hidden_size]
};

class LSTMCell : public RNNCellBase {
 public:
  LSTMCell(const RNNCellOptions& options, Generator& gen);
  LSTMState forward(const Tensor& x, const Tensor& h = Tensor(), const Tensor& c = Tensor()) const;
};

/// Returns h' [batch, hidden_size].
class GRUCell : public RNNCellBase {
 public:
  GRUCell(const RNNCellOptions& options, Generator& gen);
  Tensor forward(const Tensor& x, const Tensor& h = Tensor()) const;
};

}  // namespace heed::nn

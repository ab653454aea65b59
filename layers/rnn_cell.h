#pragma once
// One step of a recurrent network, for decoders that feed each output back in: PyTorch's
// nn.RNNCell, nn.LSTMCell and nn.GRUCell, with their equations (ops::RNNMode in
// framework/ops/rnn.h; Elman 1990, Hochreiter & Schmidhuber 1997, Cho et al. 2014) and names:
//   weight_ih [G*hidden_size, input_size], weight_hh [G*hidden_size, hidden_size],
//   bias_ih, bias_hh [G*hidden_size], G = 1 (RNNCell), 4 (LSTMCell, gates i, f, g, o),
//   3 (GRUCell, gates r, z, n); all ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
// Shapes: x [batch, input_size], h and c [batch, hidden_size] (zeros when undefined).
// Each step is one step of the fused recurrent op (ops::rnn_layer_fused): a GEMM per projection
// and one gate kernel with its backward written out, where composing linear, split, sigmoid and
// tanh cost a dozen graph nodes with their copies and allocations per step, which a decoder pays
// at every output position.

#include <string>

#include "framework/module.h"
#include "framework/ops/rnn.h"

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
  /// One step of ops::rnn_layer_fused: [3, batch, hidden_size] = h', h' again (as h_n), c'
  /// (zeros but for the LSTM); h and c zeros when undefined.
  Tensor step(ops::RNNMode mode, const Tensor& x, const Tensor& h, const Tensor& c) const;
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

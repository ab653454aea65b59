#pragma once
// Multi-layer recurrent networks with PyTorch's nn.RNN / nn.LSTM / nn.GRU equations, gate orders
// and parameter names, so weights move between heed and PyTorch unchanged:
//   RNN  (Elman 1990)                         h' = tanh or relu(W_ih x + b_ih + W_hh h + b_hh)
//   LSTM (Hochreiter & Schmidhuber 1997, Gers et al. 2000 forget gate), gates i, f, g, o
//   GRU  (Cho et al. 2014, eq. 5-8, PyTorch's variant with b_hn inside r * (W_hn h + b_hn)),
//        gates r, z, n
// (the equations in full are at ops::RNNMode, framework/ops/rnn.h).
//
// Parameters, G = 1 (RNN), 4 (LSTM) or 3 (GRU), D = 2 if bidirectional else 1, for each layer k
// and direction (suffix "" forward, "_reverse" backward), in PyTorch's order:
//   weight_ih_l{k}{suffix} [G*hidden_size, input_size (k = 0) or D*hidden_size (k > 0)],
//   weight_hh_l{k}{suffix} [G*hidden_size, hidden_size], bias_ih_l{k}{suffix},
//   bias_hh_l{k}{suffix} [G*hidden_size]; all ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
// Shapes: x [batch, seq, input_size] when batch_first (heed's default; PyTorch's is false), else
//   [seq, batch, input_size]; output [batch, seq, D*hidden_size] (likewise), the forward
//   direction's features first, then the reverse one's; h_n, c_n [num_layers*D, batch,
//   hidden_size], row k*D + d for layer k and direction d.
// Variable lengths: lengths int64 [batch], 1 <= lengths[b] <= seq, as PyTorch's
//   pack_padded_sequence(enforce_sorted=False) + pad_packed_sequence: steps t >= lengths[b] output
//   zeros and never update a state; h_n is taken at each sequence's own last step; the reverse
//   direction starts at step lengths[b]-1.
// Regularization in training: `dropout` on the outputs of every layer but the last (PyTorch's:
//   a new mask for every element, so every step); with `locked_dropout`, that dropout is
//   variational instead (Gal & Ghahramani 2016, sec. 4; AWD-LSTM's dropouth, Merity et al. 2018,
//   sec. 4.2): one mask per sequence and feature [batch, D*hidden_size], shared by all steps and
//   read by both directions of the next layer (a mask over the features of the concatenated
//   output does not depend on a direction), zeros past a sequence's end staying zeros;
//   `weight_drop`, DropConnect on every weight_hh with one mask per forward, shared by all steps
//   (AWD-LSTM, Merity et al. 2018, sec. 2).
// Each layer and direction is one fused op, ops::rnn_layer.
//
//   LSTM lstm({.input_size = 28, .hidden_size = 128, .bidirectional = true}, gen);
//   auto [out, h_n, c_n] = lstm.forward(x, lengths);  // out [batch, 28, 256], h_n [2, batch, 128]
//   GRU gru({.input_size = 28, .hidden_size = 64}, gen);  Tensor h = gru.forward(x).output;

#include <string>
#include <vector>

#include "framework/module.h"
#include "framework/ops/rnn.h"

namespace heed {
class Generator;
}

namespace heed::nn {

/// The options of PyTorch's RNNBase, in its order, plus weight_drop and locked_dropout (heed's;
/// PyTorch has neither: AWD-LSTM applies both around its nn.LSTM layers).
struct RNNOptions {
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  std::string nonlinearity = "tanh";  // RNN only: "tanh" | "relu"
  bool bias = true;
  bool batch_first = true;  // heed's convention; PyTorch's default is false
  float dropout = 0.f;      // between layers, in training
  bool bidirectional = false;
  float weight_drop = 0.f;  // DropConnect probability on each weight_hh, in training
  // `dropout` between layers with one mask per sequence and feature, the same at every step
  // (variational); false: PyTorch's, a new mask per element
  bool locked_dropout = false;
};
using LSTMOptions = RNNOptions;
using GRUOptions = RNNOptions;

/// output [batch, seq, D*hidden] (batch_first), h_n and c_n [num_layers*D, batch, hidden];
/// c_n is undefined except for the LSTM.
struct RNNOutput {
  Tensor output, h_n, c_n;
};
using LSTMOutput = RNNOutput;

class RNNBase : public Module {
 public:
  /// x [batch, seq, input_size] (batch_first) or [seq, batch, input_size]; lengths int64 [batch]
  /// or undefined (all of length seq); h0, c0 [num_layers*D, batch, hidden_size] default to zeros
  /// (c0 for the LSTM only). Throws heed::Error naming the layer and the shapes on a mismatch, a
  /// length outside [1, seq] or a float lengths tensor.
  RNNOutput forward(const Tensor& x, const Tensor& lengths = Tensor(), const Tensor& h0 = Tensor(),
                    const Tensor& c0 = Tensor()) const;
  /// One line with every option, e.g. "GRU(input_size=28, hidden_size=64, num_layers=1, ...)".
  std::string repr() const override;

  const RNNOptions options;
  const ops::RNNMode mode;

 protected:
  /// `name` ("RNN", "LSTM", "GRU") prefixes error messages and repr().
  RNNBase(ops::RNNMode mode, const char* name, const RNNOptions& options, Generator& gen);

 private:
  struct Weights {
    Tensor w_ih, w_hh, b_ih, b_hh;
  };
  int64_t directions() const { return options.bidirectional ? 2 : 1; }
  void check_inputs(const Tensor& seq_first, const Tensor& lengths, const Tensor& h0,
                    const Tensor& c0) const;
  const char* name_;
  std::vector<Weights> weights_;  // [layer * D + direction]
  Generator* gen_;
};

/// Elman RNN; options.nonlinearity "tanh" (default) or "relu".
class RNN : public RNNBase {
 public:
  RNN(const RNNOptions& options, Generator& gen);
};

class LSTM : public RNNBase {
 public:
  LSTM(const LSTMOptions& options, Generator& gen);
};

class GRU : public RNNBase {
 public:
  GRU(const GRUOptions& options, Generator& gen);
};

}  // namespace heed::nn

#pragma once
// LSTM (Hochreiter & Schmidhuber 1997), multi-layer, PyTorch's nn.LSTM equations, gate order
// (i, f, g, o) and parameter names, so weights move between heed and PyTorch unchanged:
//   weight_ih_l{k} [4*hidden_size, input_size or hidden_size], weight_hh_l{k} [4*hidden_size,
//   hidden_size], bias_ih_l{k}, bias_hh_l{k} [4*hidden_size]; all ~ U(-1/sqrt(hidden_size),
//   1/sqrt(hidden_size)).
// Input [batch, seq, input_size] when batch_first (else [seq, batch, input_size]); output
// [batch, seq, hidden_size] (likewise); h_n and c_n [num_layers, batch, hidden_size].
// `dropout` applies to the outputs of every layer but the last, in training.
// Each layer is one fused op (ops::lstm_layer) with backpropagation through time written out.
//
//   LSTM lstm({.input_size = 28, .hidden_size = 128}, gen);
//   auto [out, h_n, c_n] = lstm.forward(x);  // out [batch, 28, 128]

#include "framework/module.h"

namespace heed {
class Generator;
}

namespace heed::nn {

struct LSTMOptions {
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = true;  // heed's convention; PyTorch's default is false
  float dropout = 0.f;
};

struct LSTMOutput {
  Tensor output, h_n, c_n;
};

class LSTM : public Module {
 public:
  LSTM(const LSTMOptions& options, Generator& gen);
  /// h0 and c0 [num_layers, batch, hidden_size] default to zeros.
  LSTMOutput forward(const Tensor& x, const Tensor& h0 = Tensor(),
                     const Tensor& c0 = Tensor()) const;
  std::string repr() const override;

  const LSTMOptions options;

 private:
  struct LayerWeights {
    Tensor w_ih, w_hh, b_ih, b_hh;
  };
  std::vector<LayerWeights> layers_;
  Generator* gen_;
};

}  // namespace heed::nn

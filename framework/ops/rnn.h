#pragma once
// Fused recurrent layers: one op runs a whole sequence and its backward is backpropagation through
// time written out, so a 128-step sequence is two large GEMMs plus one small GEMM and one fused
// gate kernel per step, instead of a graph of a dozen nodes per step.

#include "framework/tensor.h"

namespace heed::ops {

/// One LSTM layer in one direction (Hochreiter & Schmidhuber 1997, with a forget gate; PyTorch's
/// equations and gate order i, f, g, o):
///   i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)   f = sigmoid(...)   g = tanh(...)   o =
///   sigmoid(...) c' = f * c + i * g                            h' = o * tanh(c')
/// x [seq, batch, input_size] (time-major), h0 and c0 [batch, hidden_size],
/// weight_ih [4*hidden, input_size], weight_hh [4*hidden, hidden], bias_ih and bias_hh [4*hidden].
/// Returns [seq, batch, 2*hidden]: h_t in the first half of the last dimension, c_t in the second,
/// so both the outputs and the final cell state carry gradients through one node.
Tensor lstm_layer(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& weight_ih,
                  const Tensor& weight_hh, const Tensor& bias_ih, const Tensor& bias_hh);

}  // namespace heed::ops

#pragma once
// Fused recurrent layers: one op runs a whole sequence and its backward is backpropagation through
// time written out, so a 128-step sequence is two large GEMMs plus one small GEMM and one fused
// gate kernel per step, instead of a graph of a dozen nodes per step.

#include "framework/tensor.h"

namespace heed::ops {

// ---------------------------------------------------------------------------------------------
// The general recurrent layer op (issue 3). Contract shared by the fused fallback
// (rnn_layer_fused, framework/ops/rnn.cpp) and the oneDNN path (rnn_layer_dnnl,
// framework/ops/rnn_dnnl.cpp); rnn_layer picks one.

/// Which recurrence, with PyTorch's equations and gate order (the rows of weight_ih/weight_hh):
///   RNN_TANH / RNN_RELU: h' = act(W_ih x + b_ih + W_hh h + b_hh)              1 gate
///   LSTM: gates i, f, g, o (Hochreiter & Schmidhuber 1997, with a forget gate): 4 gates
///         i = sigmoid(W_ii x + b_ii + W_hi h + b_hi), f, o likewise, g = tanh(...)
///         c' = f * c + i * g,  h' = o * tanh(c')
///   GRU:  gates r, z, n (Cho et al. 2014), 3 gates:
///         r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
///         z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
///         n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
///         h' = (1 - z) * n + z * h
///   (oneDNN calls this GRU "linear-before-reset", lbr_gru, with gates u, r, o.)
enum class RNNMode { RNN_TANH, RNN_RELU, LSTM, GRU };

/// Number of gates of `mode` (1, 4 or 3).
int64_t rnn_gates(RNNMode mode);

/// One layer in one direction over a whole (possibly padded) batch of sequences.
///   x [seq, batch, input_size] (time-major), h0 [batch, hidden], c0 [batch, hidden] (LSTM only;
///   undefined otherwise), weight_ih [gates*hidden, input_size], weight_hh [gates*hidden, hidden],
///   bias_ih, bias_hh [gates*hidden] (both undefined when the layer has no bias),
///   lengths: undefined (every sequence is `seq` long) or int64 [batch] with 1 <= lengths[b] <=
///   seq. reverse: run from the last valid step of each sequence down to step 0.
/// Returns one tensor [seq + 2, batch, hidden]: rows 0..seq-1 are the outputs h_t (zeros at padded
/// steps t >= lengths[b], as PyTorch's pad_packed_sequence gives), row seq is h_n (the state after
/// each sequence's own last step: step lengths[b]-1 forward, step 0 in reverse), row seq+1 is c_n
/// (LSTM; zeros otherwise). Padding never updates a state. Gradients flow to x, h0, c0 and the
/// weights from all three parts. Throws heed::Error naming the op and the shapes on any mismatch.
Tensor rnn_layer(RNNMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                 const Tensor& weight_ih, const Tensor& weight_hh, const Tensor& bias_ih,
                 const Tensor& bias_hh, const Tensor& lengths, bool reverse);

/// The fused-gate fallback: one GEMM for all input projections, then per step one GEMM and one
/// fused gate kernel; backpropagation through time written out. Handles every case.
Tensor rnn_layer_fused(RNNMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                       const Tensor& weight_ih, const Tensor& weight_hh, const Tensor& bias_ih,
                       const Tensor& bias_hh, const Tensor& lengths, bool reverse);

/// oneDNN's RNN primitives (vanilla_rnn, lstm, lbr_gru; forward_training + backward), same
/// contract; only for lengths undefined (oneDNN has no per-sequence lengths).
Tensor rnn_layer_dnnl(RNNMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                      const Tensor& weight_ih, const Tensor& weight_hh, const Tensor& bias_ih,
                      const Tensor& bias_hh, bool reverse);

}  // namespace heed::ops

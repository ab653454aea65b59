#pragma once
// The decoders "lstm" and "gru": an RNN cell ("decoder": nn::LSTMCell or GRUCell) of the width of
// the encoder's final states, started from them (h, and c when both are LSTMs; zeros otherwise),
// reading at step t the target embedding x_t (of <s> or y_{t-1}) and the context of an alignment
// ("attention", layers/attention/alignment.h) over the encoder's outputs, padded source steps
// masked. Two ways to wire them:
//   Bahdanau et al. 2015 (default): the context c_t is queried by the previous state (eq. 5-6)
//     c_t = align(s_{t-1}, memory),  s_t = cell([x_t; c_t], s_{t-1}),  logits_t = head(s_t)
//   Luong et al. 2015 with input feeding (input_feeding true, eq. 5 and section 3.3): the context
//   is queried by the new state and combined with it by "linear_out" (OpenNMT-py's name; Linear
//   [hidden, memory_size + hidden], no bias) into the attentional state h~_t, which the next step
//   reads beside its embedding (h~_0 = 0):
//     s_t = cell([x_t; h~_{t-1}], s_{t-1}),  c_t = align(s_t, memory),
//     h~_t = tanh(linear_out([c_t; s_t])),  logits_t = head(h~_t)
// with "head" a Linear [target_vocab, hidden]. Any alignment works (local_m centres its window on
// source step t); attention "none" leaves the decoder the encoder's final states alone:
// s_t = cell(x_t, s_{t-1}). The alignment binds the memory once per batch (Alignment::bind:
// additive projects its keys once, which bench g2p_attn measures).
//   inputs [batch, target_len, embedding_size], memory [batch, source_len, memory_size]
//   -> logits [batch, target_len, target_vocab]; hidden = state_size, the cell's input
//   embedding_size + memory_size (Bahdanau) or + hidden (input feeding), embedding_size (none)
// Options: embedding_size (64), attention (an alignment, or "none"; default "additive", its
// hidden_size defaulting to the decoder's width), input_feeding (false; needs an alignment).
//
//   {"type": "lstm", "embedding_size": 64, "attention": {"type": "additive", "hidden_size": 128}}
//   {"type": "lstm", "attention": "luong_general", "input_feeding": true}

#include <optional>

#include "layers/attention/alignment.h"
#include "layers/decoders/decoder.h"
#include "layers/linear.h"
#include "layers/rnn_cell.h"

namespace heed::nn {

struct RecurrentDecoderOptions {
  std::string cell = "lstm";            // "lstm" | "gru"
  int64_t embedding_size = 64;          // the target embeddings' width
  AlignmentFactory attention;           // empty: attention "none"
  std::string attention_type = "none";  // the alignment's name, for repr
  std::string attention_path;           // its recipe path, for errors while building it
  bool input_feeding = false;           // Luong et al. 2015's wiring, with "linear_out"
};

class RecurrentDecoder : public Decoder {
 public:
  RecurrentDecoder(const RecurrentDecoderOptions& options, const DecoderInput& input,
                   Generator& gen);
  static DecoderFactory lstm_from_config(const Config& c);
  static DecoderFactory gru_from_config(const Config& c);
  Tensor forward(const Tensor& inputs, const Tensor& memory, const Tensor& key_padding_mask,
                 const EncoderState& state) const override;
  std::unique_ptr<DecoderState> start(const Tensor& memory, const Tensor& key_padding_mask,
                                      const EncoderState& state) const override;
  Tensor step(DecoderState& state, const Tensor& input) const override;
  std::string repr() const override;

  std::shared_ptr<RNNCellBase> cell;
  std::shared_ptr<Linear> head;
  std::optional<Alignment> attention;  // none with attention "none"
  std::shared_ptr<Linear> linear_out;  // with input_feeding only

 private:
  struct State;
  // Step t of either wiring: reads x [batch, embedding_size], advances `state` and returns the
  // output the head reads: s_t, or h~_t with input feeding.
  Tensor advance(State& state, const Tensor& x) const;
  // One step of the cell: (x, {h, c}) -> {h', c'}; c stays undefined in a GRU.
  std::function<LSTMState(const Tensor& x, const LSTMState& s)> step_;
  const RecurrentDecoderOptions options_;
};

}  // namespace heed::nn

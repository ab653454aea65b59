#pragma once
// The decoders "lstm" and "gru": an RNN cell ("decoder": nn::LSTMCell or GRUCell) of the width of
// the encoder's final states, started from them (h, and c when both are LSTMs; zeros otherwise),
// with Bahdanau et al. 2015's attention: step t reads the target embedding x_t (of <s> or y_{t-1})
// and the context c_t of the alignment ("attention", layers/attention/alignment.h) over the
// encoder's outputs, queried by the previous state s_{t-1} (eq. 5-6), padded source steps masked:
//   c_t = align(s_{t-1}, memory),  s_t = cell([x_t; c_t], s_{t-1}),  logits_t = head(s_t)
// with "head" a Linear [target_vocab, hidden]. Any alignment works (local_m centres its window on
// source step t); attention "none" leaves the decoder the encoder's final states alone:
// s_t = cell(x_t, s_{t-1}). The alignment binds the memory once per batch (Alignment::bind:
// additive projects its keys once, which bench g2p_attn measures).
//   inputs [batch, target_len, embedding_size], memory [batch, source_len, memory_size]
//   -> logits [batch, target_len, target_vocab]; hidden = state_size, the cell's input
//   embedding_size (+ memory_size with attention)
// Options: embedding_size (64), attention (an alignment, or "none"; default "additive", its
// hidden_size defaulting to the decoder's width).
//
//   {"type": "lstm", "embedding_size": 64, "attention": {"type": "additive", "hidden_size": 128}}

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
};

class RecurrentDecoder : public Decoder {
 public:
  RecurrentDecoder(const RecurrentDecoderOptions& options, const DecoderInput& input,
                   Generator& gen);
  static DecoderFactory lstm_from_config(const Config& c);
  static DecoderFactory gru_from_config(const Config& c);
  Tensor forward(const Tensor& inputs, const Tensor& memory, const Tensor& key_padding_mask,
                 const EncoderState& state) const override;
  std::string repr() const override;

  std::shared_ptr<RNNCellBase> cell;
  std::shared_ptr<Linear> head;
  std::optional<Alignment> attention;  // none with attention "none"

 private:
  // One step of the cell: (x, {h, c}) -> {h', c'}; c stays undefined in a GRU.
  std::function<LSTMState(const Tensor& x, const LSTMState& s)> step_;
  const RecurrentDecoderOptions options_;
};

}  // namespace heed::nn

#pragma once
// Seq2Seq: an RNN encoder-decoder (Sutskever et al. 2014; with attention, Bahdanau, Cho & Bengio
// 2015), trained with teacher forcing; the model recipes name "seq2seq" (and bench/g2p.cpp builds
// through the registry):
//   input  int64 [batch, source_len]  token ids of DataInfo::input_vocab, <pad> after each end
//   target int64 [batch, target_len]  token ids of DataInfo::target_vocab without <s> (usually
//          ending in </s>), <pad> after each end
// Encoder: source_embedding (Embedding [source_vocab, encoder.embedding_size]) -> "encoder",
//   nn::LSTM or GRU (num_layers, dropout, bidirectional; reads input_lengths, so each sequence's
//   final state is taken at its own end) -> memory [batch, source_len, D * hidden_size].
// Decoder: a decoder part (layers/decoders/decoder.h, built by name: "lstm" or "gru", an RNN
//   cell of width D * hidden_size), started from the last encoder layer's final states, forward ||
//   reverse (h; c too after an LSTM encoder). It reads target_embedding (Embedding [target_vocab,
//   decoder.embedding_size]) of <s> and then target[:, :-1] (teacher forcing) and, through its
//   alignment "decoder.attention" (any of layers/attention/alignment.h, or "none"), the encoder's
//   outputs with the padded source steps masked (key_padding_mask from input_lengths):
//     s_t = cell([E y_{t-1}; c_t], s_{t-1}),  logits_t = head(s_t)  ("head", Linear [vocab, D*hid])
//   with c_t the context queried by s_{t-1} (Bahdanau's eq. 5-6); attention "none" leaves the
//   decoder only the encoder's final states.
// Loss: mean cross-entropy over every target position that is not <pad> (token_loss.h), with
// optional label smoothing; metric "token_accuracy" (teacher-forced).
// State dict: source_embedding, target_embedding, encoder, then the decoder's "decoder" (its
// cell), "head" and "attention".
// Decoding (SequenceTransducer, framework/search.h): greedy or beam search from <s>, the decoder
// stepping token by token (Decoder::step) on the encoder's outputs; evaluation reports the error
// rates of the decoded outputs (framework/error_rates.h).
// Encoder "transformer" (layers/encoders/transformer.h): source_embedding, then the Transformer
// encoder part (its children "input_proj", "pos_embedding", "encoder"), reading the source's
// key-padding mask; it gives no final states, so its decoder is the "transformer" decoder
// (layers/decoders/transformer.h), which any encoder can also feed.
//
//   {"type": "seq2seq", "encoder": {"type": "lstm", "hidden_size": 128, "bidirectional": true},
//    "decoder": {"type": "lstm", "attention": {"type": "additive", "hidden_size": 128}}}

#include "framework/config.h"
#include "framework/registry.h"
#include "layers/decoders/decoder.h"
#include "layers/embedding.h"
#include "layers/encoders/transformer.h"
#include "layers/rnn.h"

namespace heed::nn {

/// The model section's options, read without building anything (`heed list` describes them).
struct Seq2SeqOptions {
  std::string encoder_type;  // "lstm" | "gru" | "transformer"
  RNNOptions encoder;        // input_size: the source embedding's size (all encoder types)
  TransformerSequenceEncoderOptions transformer;  // "transformer"
  DecoderFactory decoder;                         // the decoder part, with its alignment
  float label_smoothing = 0.f;
  /// Throws heed::RecipeError naming the recipe path.
  static Seq2SeqOptions from_config(const Config& c);
};

class Seq2Seq : public Model, public SequenceTransducer {
 public:
  /// Reads the recipe's model section (docs/recipes.md); throws heed::RecipeError on bad options
  /// and heed::Error when the data are not token sequences.
  Seq2Seq(const Config& config, const DataInfo& info, Generator& gen);
  ModelOutput forward(const Batch& batch) override;
  /// Teacher-forced logits [batch, target_len, target_vocab].
  Tensor logits(const Batch& batch) const;
  std::vector<Hypothesis> decode(const Batch& batch, const SearchOptions& options) const override;
  std::string repr() const override;

 private:
  /// What the decoder reads of a batch: the encoder's outputs [batch, source_len, width], the
  /// source's key-padding mask and the final states.
  struct Encoded {
    Tensor memory, key_padding_mask;
    EncoderState state;
  };
  Encoded encode(const Batch& batch) const;
  /// [batch, target_len]: <s>, then target[:, :-1].
  static Tensor decoder_input(const Tensor& target);
  std::string encoder_type_;
  int64_t target_vocab_ = 0;
  float label_smoothing_ = 0.f;
  std::shared_ptr<Embedding> source_embedding_, target_embedding_;
  std::shared_ptr<RNNBase> encoder_;                         // "lstm" | "gru"
  std::unique_ptr<TransformerSequenceEncoder> transformer_;  // "transformer"
  std::unique_ptr<Decoder> decoder_;
};

}  // namespace heed::nn

#pragma once
// LanguageModel: next-token prediction over a token sequence, the model recipes name
// "language_model" (and bench/lstm_lm.cpp, bench/transformer_lm.cpp build through the registry):
//   input  int64 [batch, seq]  token ids of DataInfo::input_vocab (<pad> = 0 after each end)
//   target int64 [batch, seq]  the next token at each position (<pad> where there is none)
//   embedding ("embedding", Embedding [vocab, embedding_size], with embedding_dropout: whole
//   character types dropped per batch, AWD-LSTM's dropoute) -> dropout ("dropout")
//   -> an encoder, one of
//      "rnn" | "lstm" | "gru": nn::RNN / LSTM / GRU (child named as the type), unidirectional,
//        reading input_lengths (steps past an end output zeros and are never read); with the
//        encoder keys input_dropout and output_dropout, LockedDropout ("input_dropout",
//        "output_dropout": one mask per stream and feature for the window) on its input and
//        output, AWD-LSTM's dropouti and dropout (Merity et al. 2018, sec. 4.2), as the sequence
//        classifier's recurrent encoder has them (layers/encoders/recurrent.h);
//      "transformer": positions (learned: child "pos_embedding" [max_len, d_model]; sinusoidal;
//        rope or alibi inside attention; none) + TransformerEncoder ("encoder") under the causal
//        mask (step t sees steps 0..t only) and the key-padding mask from input_lengths; any
//        attention variant of layers/attention/registry.h ("attention"), all of which take a
//        causal mask; the embedding size is d_model
//   -> dropout -> logits [batch, seq, vocab] from Linear ("head", [vocab, width] + bias), or with
//      tie_weights from the embedding's own weight (Press & Wolf 2017, "Using the Output Embedding
//      to Improve Language Models"; Inan et al. 2017): logits = h E^T + b, parameter "head_bias"
//      [vocab], which needs the encoder's width (hidden_size, d_model) == embedding_size.
// Loss: mean cross-entropy over every position whose target is not <pad> (layers/models/
// token_loss.h), optionally label-smoothed; metric "token_accuracy".
// This is PyTorch's examples/word_language_model (RNNModel, TransformerModel) with batch_first.
//
// Carried state (data.carry_state, DataInfo::carry_state: the text split laid out as one stream
// per batch row, datasets/text.h): an RNN encoder starts each batch from the final states
// (h_n, and c_n for the LSTM) of the previous batch, detached from its graph (truncated BPTT,
// PyTorch's repackage_hidden), so a row reads its stream's whole past while gradients stop at
// the window's start. A batch of another row count than the carried state's starts from zeros.
// The trainer resets the state at each epoch's start, sets it aside during an evaluation, and
// checkpoints it (framework/model.h, StateCarryingModel). A Transformer has no recurrent state:
// with it, carry_state is a recipe error.
//
//   {"type": "language_model", "embedding_size": 128, "tie_weights": false,
//    "encoder": {"type": "lstm", "hidden_size": 256, "num_layers": 2}}

#include "framework/config.h"
#include "framework/registry.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/encoders/transformer.h"
#include "layers/linear.h"
#include "layers/positional.h"
#include "layers/rnn.h"
#include "layers/transformer.h"

namespace heed::nn {

/// The model section's options, read without building anything (`heed list` describes them).
struct LanguageModelOptions {
  std::string encoder_type;    // "rnn" | "lstm" | "gru" | "transformer"
  int64_t embedding_size = 0;  // rnn/lstm/gru (a Transformer's embedding is d_model wide)
  float dropout = 0.f;
  float embedding_dropout = 0.f;  // dropoute (Embedding's embedding_dropout)
  float input_dropout = 0.f;      // rnn/lstm/gru: LockedDropout before the encoder (dropouti)
  float output_dropout = 0.f;     // rnn/lstm/gru: LockedDropout after it
  bool tie_weights = false;
  float label_smoothing = 0.f;
  RNNOptions rnn;                                 // rnn/lstm/gru, input_size = embedding_size
  TransformerSequenceEncoderOptions transformer;  // transformer
  bool final_norm = false;                        // transformer
  std::string path, encoder_path;                 // "model", "model.encoder"
  /// Reads the model's options and its encoder's; throws heed::RecipeError naming the recipe path.
  static LanguageModelOptions from_config(const Config& c);
};

/// An RNN language model's state between windows: h [num_layers, batch, hidden_size], and c
/// alike for an LSTM (undefined otherwise); an undefined h means zeros.
struct RecurrentState {
  Tensor h, c;
};

class LanguageModel : public Model, public NextTokenModel, public StateCarryingModel {
 public:
  /// Reads the recipe's model section (docs/recipes.md); throws heed::RecipeError on bad options
  /// (and naming data.carry_state with a Transformer) and heed::Error when the data are not token
  /// sequences.
  LanguageModel(const Config& config, const DataInfo& info, Generator& gen);
  /// With carry_state, starts from the carried state and keeps the batch's final one (above).
  ModelOutput forward(const Batch& batch) override;
  /// logits [batch, seq, vocab] for input [batch, seq]; input_lengths int64 [batch] or undefined.
  /// An RNN encoder starts from `start` (default zeros) and, with `end`, gives its final state
  /// there (attached to the graph); a Transformer takes neither (heed::Error).
  Tensor logits(const Tensor& input, const Tensor& input_lengths = Tensor(),
                const RecurrentState& start = {}, RecurrentState* end = nullptr) const;
  std::string repr() const override;
  /// logits [batch, vocab] of the token after tokens [batch, len] (`heed generate`).
  Tensor next_token_logits(const Tensor& tokens) const override;
  /// The data's window length (DataInfo::input_shape[0]), which the model was trained on; an RNN
  /// language model without one reads any length.
  int64_t max_context() const override { return max_context_; }
  /// {"h_n"} (and {"c_n"} for the LSTM) [num_layers, batch, hidden_size]; empty without
  /// carry_state or before the first batch.
  StateDict carried_state() const override;
  void set_carried_state(const StateDict& state, int64_t batch) override;

 private:
  int64_t make_rnn(const LanguageModelOptions& o, Generator& gen);
  int64_t make_transformer(const LanguageModelOptions& o, int64_t max_len, Generator& gen);
  std::string encoder_type_;
  int64_t vocab_ = 0, width_ = 0, max_context_ = 0;
  float label_smoothing_ = 0.f;
  bool carry_state_ = false;
  RecurrentState carried_;  // detached; undefined h: the next batch starts from zeros
  std::shared_ptr<Embedding> embedding_;
  std::shared_ptr<Dropout> dropout_;
  std::shared_ptr<RNNBase> rnn_;                                   // "rnn" | "lstm" | "gru"
  std::shared_ptr<LockedDropout> input_dropout_, output_dropout_;  // rnn; null when p is 0
  std::shared_ptr<LearnedPositionalEmbedding> pos_embedding_;      // transformer, learned
  std::shared_ptr<SinusoidalPositionalEncoding> sinusoidal_;       // transformer, sinusoidal
  std::shared_ptr<TransformerEncoder> encoder_;                    // "transformer"
  std::shared_ptr<Linear> head_;                                   // untied
  Tensor head_bias_;                                               // tied
};

}  // namespace heed::nn

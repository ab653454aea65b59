#pragma once
// Decoders: the second half of a sequence-to-sequence model, built by name from one registry
// (layers/decoders/registry.cpp):
//   lstm | gru   RecurrentDecoder (recurrent.h): an LSTMCell / GRUCell started from the encoder's
//                final states, reading the context of any alignment (additive, Luong global or
//                local: layers/attention/alignment.h) or of none
//   transformer  TransformerSeqDecoder (transformer.h): TransformerDecoder layers, causal
//                self-attention and cross-attention to the encoder's outputs
// A recipe names one as {"type": "lstm", "embedding_size": 64, "attention": "luong_general"} (or a
// bare name); an option the chosen decoder does not read is an error naming the decoders that have
// it. Trained with teacher forcing: the decoder reads the embeddings of <s>, y_1, ..., y_{T-1} and
// gives the logits of y_1, ..., y_T at once. Its modules (the cell "decoder", the output layer
// "head", the alignment "attention") are registered by the model under these names (layers/part.h).
//
// The decoder owns its output layer, as fairseq's decoders do: a decoder with Luong's input feeding
// (issue 11) reads its own attentional output h~_{t-1} (Luong et al. 2015, eq. 5) at step t, and
// its head sits between the cell and the alignment in the parameter order the seq2seq model has
// had since bench/g2p.cpp (so initial weights and checkpoints stay as they were).

#include <functional>
#include <memory>
#include <string>

#include "layers/part.h"

namespace heed::nn {

/// What a decoder is built for.
struct DecoderInput {
  int64_t memory_size = 0;   // the encoder's output width: the alignment's keys and values
  int64_t state_size = 0;    // the width of the encoder's final states (EncoderState)
  int64_t target_vocab = 0;  // the logits' width
};

/// The encoder's final states, each [batch, state_size]: h, and c after an LSTM encoder
/// (undefined otherwise).
struct EncoderState {
  Tensor h, c;
};

/// What a decoder carries from one output step to the next in step-wise decoding (Decoder::start,
/// Decoder::step): its recurrent state, the step number, the memory it binds once.
class DecoderState {
 public:
  virtual ~DecoderState() = default;
  /// Row r takes the state of row rows[r] (int64 [rows], each < rows): beam search's reordering of
  /// hypotheses. Every row must take a row of the same source sequence, since the memory bound at
  /// start stays as it is.
  virtual void reorder(const Tensor& rows) = 0;
};

class Decoder : public Part {
 public:
  /// Teacher forcing: inputs [batch, target_len, embedding_size] (the target embeddings of <s>,
  /// y_1, ..., y_{T-1}), memory [batch, source_len, memory_size] (the encoder's outputs),
  /// key_padding_mask [batch, source_len] (nonzero = padding, undefined = none), the encoder's
  /// final states -> logits [batch, target_len, target_vocab].
  virtual Tensor forward(const Tensor& inputs, const Tensor& memory, const Tensor& key_padding_mask,
                         const EncoderState& state) const = 0;
  /// Step-wise decoding (greedy and beam search, framework/search.h), without teacher forcing:
  /// binds memory [rows, source_len, memory_size] and key_padding_mask [rows, source_len] once, and
  /// starts from the encoder's final states [rows, state_size].
  virtual std::unique_ptr<DecoderState> start(const Tensor& memory, const Tensor& key_padding_mask,
                                              const EncoderState& state) const = 0;
  /// One output step: input [rows, embedding_size] (the embedding of <s>, then of each row's
  /// previous token) -> logits [rows, target_vocab] of the next token; advances `state`. The same
  /// arithmetic as forward's step t, so decoding a target token by token gives forward's logits.
  virtual Tensor step(DecoderState& state, const Tensor& input) const = 0;
  /// "lstm, attention=additive", for the model's repr.
  virtual std::string repr() const = 0;
};

/// A decoder read from a recipe: the width of the target embeddings it reads (the model builds
/// the embedding before the encoder) and how to build it.
struct DecoderFactory {
  int64_t embedding_size = 0;
  std::function<std::unique_ptr<Decoder>(const DecoderInput&, Generator&)> build;
};

/// Reads the decoder at `parent`.`key` (absent: "lstm"), checking the name and every option;
/// throws heed::RecipeError naming the recipe path. `type` receives the name.
DecoderFactory decoder_from_config(const Config& parent, const std::string& key = "decoder",
                                   std::string* type = nullptr);

std::vector<std::string> decoder_names();
std::vector<RegistryEntry> list_decoders();

}  // namespace heed::nn

#pragma once
// Encoders: [batch, seq, input_size] -> [batch, seq, features], the first part of a sequence
// model, built by name from one registry (layers/encoders/registry.cpp):
//   rnn | lstm | gru   RecurrentEncoder (recurrent.h): nn::RNN / LSTM / GRU with AWD-LSTM's
//                      locked dropouts
//   transformer        TransformerSequenceEncoder (transformer.h): input projection, positions,
//                      TransformerEncoder
// A recipe names one as {"type": "lstm", "hidden_size": 128, ...} (or a bare name); an option the
// chosen encoder does not read is an error naming the encoders that have it. The encoder's
// modules are registered by the model under the encoder's own names (layers/part.h), so a state
// dict reads "lstm.weight_ih_l0" or "encoder.layers.0.self_attn.in_proj_weight".

#include <optional>

#include "layers/part.h"
#include "layers/transformer.h"

namespace heed::nn {

/// What an encoder is built for: one example is [seq, input_size].
struct EncoderInput {
  int64_t seq = 0;
  int64_t input_size = 0;
};

/// What an encoder gives the parts after it (a pooling).
struct EncoderShape {
  int64_t features = 0;  // the output's last dimension
  /// A bidirectional RNN: the width of the trailing reverse-direction half, whose summary of the
  /// whole sequence is at step 0 (pooling "last"); 0 otherwise.
  int64_t reverse_features = 0;
  /// A Transformer encoder: its layers' options (pooling "query" builds a decoder layer alike).
  std::optional<TransformerEncoderLayerOptions> transformer;
  std::string default_pooling;  // the pooling when the recipe names none
};

class Encoder : public Part {
 public:
  /// x [batch, seq, input_size] -> [batch, seq, shape.features]. `lengths` int64 [batch], each
  /// in [1, seq], gives each sequence's real steps (undefined: every step is real): the steps
  /// t >= lengths[b] are padding, which no real step's output reads (an RNN stops at each
  /// sequence's end, a Transformer masks padded keys); their own outputs are finite but
  /// meaningless (an RNN's are zeros), for the pooling to skip. Throws heed::Error on a length
  /// outside [1, seq].
  virtual Tensor forward(const Tensor& x, const Tensor& lengths) const = 0;
  EncoderShape shape;
};

using EncoderFactory = std::function<std::unique_ptr<Encoder>(const EncoderInput&, Generator&)>;

/// Reads the encoder at `parent`.`key` (absent: "lstm"), checking the name and every option;
/// throws heed::RecipeError naming the recipe path. `type` receives the name.
EncoderFactory encoder_from_config(const Config& parent, const std::string& key = "encoder",
                                   std::string* type = nullptr);

std::vector<std::string> encoder_names();
std::vector<RegistryEntry> list_encoders();

}  // namespace heed::nn

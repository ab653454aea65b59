#pragma once
// The encoder "transformer": a Linear input projection ("input_proj"), positions, and a
// TransformerEncoder ("encoder", pre-norm by default with its final LayerNorm).
//   x [batch, seq, input_size] -> [batch, seq, d_model]
// Options: d_model (divisible by nhead), nhead, num_layers, dim_feedforward, dropout, activation,
// norm_first, "attention" (the mechanism of every layer: layers/attention/registry.h) and
// "positional": "learned" (LearnedPositionalEmbedding "pos_embedding"), "sinusoidal", "rope" or
// "alibi" (the last two inside attention; rope needs an even d_model / nhead) or "none".

#include "layers/embedding.h"
#include "layers/encoders/encoder.h"
#include "layers/linear.h"
#include "layers/positional.h"

namespace heed::nn {

struct TransformerSequenceEncoderOptions {
  TransformerEncoderLayerOptions layer;
  int64_t num_layers = 2;
  std::string positional = "learned";  // "learned" | "sinusoidal" | "rope" | "alibi" | "none"
};

/// Reads d_model, nhead, dim_feedforward, dropout, activation, norm_first, attention, positional
/// and num_layers (docs/recipes.md); throws heed::RecipeError on a bad value or combination.
/// Shared by every model with a Transformer encoder (the sequence classifier, the language model).
TransformerSequenceEncoderOptions transformer_encoder_options(const Config& e);

class TransformerSequenceEncoder : public Encoder {
 public:
  TransformerSequenceEncoder(const TransformerSequenceEncoderOptions& options,
                             const EncoderInput& input, Generator& gen);
  static EncoderFactory from_config(const Config& c);
  Tensor forward(const Tensor& x, const Tensor& lengths) const override;

  std::shared_ptr<Linear> input_proj;
  std::shared_ptr<LearnedPositionalEmbedding> pos_embedding;  // positional "learned"
  std::shared_ptr<SinusoidalPositionalEncoding> sinusoidal;   // positional "sinusoidal"
  std::shared_ptr<TransformerEncoder> encoder;
};

}  // namespace heed::nn

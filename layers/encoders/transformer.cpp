#include "layers/encoders/transformer.h"

#include "framework/data.h"
#include "layers/attention/registry.h"

namespace heed::nn {

TransformerSequenceEncoderOptions transformer_encoder_options(const Config& e) {
  TransformerSequenceEncoderOptions options;
  TransformerEncoderLayerOptions& o = options.layer;
  o.d_model = e.get<int64_t>("d_model", 64, range::size);
  o.nhead = e.get<int64_t>("nhead", 4, range::size);
  HEED_RECIPE_CHECK(o.d_model % o.nhead == 0, e.path_of("d_model"), " (", o.d_model,
                    ") must be divisible by \"", e.path_of("nhead"), "\" (", o.nhead, ")");
  o.dim_feedforward = e.get<int64_t>("dim_feedforward", 4 * o.d_model, range::size);
  o.dropout = e.get<float>("dropout", 0.1f, range::probability);
  o.activation = e.choice("activation", "gelu", {"relu", "gelu"});
  o.norm_first = e.get<bool>("norm_first", true);
  o.attention = attention_from_config(e);
  options.positional =
      e.choice("positional", "learned", {"learned", "sinusoidal", "rope", "alibi", "none"});
  if (options.positional == "rope" || options.positional == "alibi")
    o.attention.positional = options.positional;
  HEED_RECIPE_CHECK(options.positional != "rope" || (o.d_model / o.nhead) % 2 == 0,
                    e.path_of("positional"), " \"rope\" rotates pairs of features: \"",
                    e.path_of("d_model"), "\" / \"", e.path_of("nhead"), "\" (", o.d_model, " / ",
                    o.nhead, ") must be even");
  options.num_layers = e.get<int64_t>("num_layers", 2, range::layers);
  return options;
}

EncoderFactory TransformerSequenceEncoder::from_config(const Config& e) {
  const TransformerSequenceEncoderOptions options = transformer_encoder_options(e);
  return [options](const EncoderInput& input, Generator& gen) {
    return std::make_unique<TransformerSequenceEncoder>(options, input, gen);
  };
}

TransformerSequenceEncoder::TransformerSequenceEncoder(
    const TransformerSequenceEncoderOptions& options, const EncoderInput& input, Generator& gen) {
  const TransformerEncoderLayerOptions& o = options.layer;
  input_proj = add_module("input_proj", std::make_shared<Linear>(input.input_size, o.d_model, gen));
  if (options.positional == "learned")
    pos_embedding = add_module(
        "pos_embedding", std::make_shared<LearnedPositionalEmbedding>(input.seq, o.d_model, gen));
  if (options.positional == "sinusoidal")
    sinusoidal = std::make_shared<SinusoidalPositionalEncoding>(o.d_model, input.seq);
  encoder = add_module(
      "encoder", std::make_shared<TransformerEncoder>(o, options.num_layers, o.norm_first, gen));
  shape.features = o.d_model;
  shape.transformer = o;
  shape.default_pooling = "mean";
}

Tensor TransformerSequenceEncoder::forward(const Tensor& x, const Tensor& lengths) const {
  if (lengths.defined()) check_lengths("transformer encoder", lengths, x.size(0), x.size(1));
  Tensor h = input_proj->forward(x);
  if (pos_embedding) h = pos_embedding->forward(h);
  if (sinusoidal) h = sinusoidal->forward(h);
  return encoder->forward(h, padding_mask(lengths, x.size(1)));
}

}  // namespace heed::nn

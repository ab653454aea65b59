#include "layers/transformer.h"

#include <sstream>

#include "framework/ops.h"

namespace heed::nn {

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerEncoderLayerOptions& o,
                                                 Generator& gen)
    : options(o) {
  HEED_CHECK(o.activation == "relu" || o.activation == "gelu",
             "TransformerEncoderLayer: activation \"", o.activation,
             "\" is not one of \"relu\", \"gelu\"");
  HEED_CHECK(o.dim_feedforward > 0,
             "TransformerEncoderLayer: dim_feedforward must be positive, got ", o.dim_feedforward);
  self_attn = register_module("self_attn", std::make_shared<MultiheadAttention>(
                                               MultiheadAttentionOptions{.embed_dim = o.d_model,
                                                                         .num_heads = o.nhead,
                                                                         .dropout = o.dropout,
                                                                         .variant = o.attention},
                                               gen));
  linear1 = register_module("linear1", std::make_shared<Linear>(o.d_model, o.dim_feedforward, gen));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout, gen));
  linear2 = register_module("linear2", std::make_shared<Linear>(o.dim_feedforward, o.d_model, gen));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(o.dropout, gen));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(o.dropout, gen));
}

Tensor TransformerEncoderLayer::self_attention_block(const Tensor& x, const Tensor& padding,
                                                     const Tensor& mask) const {
  return dropout1->forward(self_attn->forward(x, x, x, padding, mask, false).output);
}

Tensor TransformerEncoderLayer::feed_forward_block(const Tensor& x) const {
  Tensor h = linear1->forward(x);
  h = options.activation == "gelu" ? ops::gelu(h) : ops::relu(h);
  return dropout2->forward(linear2->forward(dropout->forward(h)));
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const Tensor& padding,
                                        const Tensor& mask) const {
  if (options.norm_first) {
    Tensor x = src + self_attention_block(norm1->forward(src), padding, mask);
    return x + feed_forward_block(norm2->forward(x));
  }
  Tensor x = norm1->forward(src + self_attention_block(src, padding, mask));
  return norm2->forward(x + feed_forward_block(x));
}

std::string TransformerEncoderLayer::repr() const {
  std::ostringstream out;
  out << "TransformerEncoderLayer(d_model=" << options.d_model << ", nhead=" << options.nhead
      << ", dim_feedforward=" << options.dim_feedforward << ", dropout=" << options.dropout
      << ", activation=" << options.activation
      << ", norm_first=" << (options.norm_first ? "true" : "false") << ")";
  return out.str();
}

TransformerEncoder::TransformerEncoder(const TransformerEncoderLayerOptions& layer,
                                       int64_t num_layers, bool final_norm, Generator& gen) {
  HEED_CHECK(num_layers > 0, "TransformerEncoder: num_layers must be positive, got ", num_layers);
  for (int64_t i = 0; i < num_layers; ++i)
    layers.push_back(register_module("layers." + std::to_string(i),
                                     std::make_shared<TransformerEncoderLayer>(layer, gen)));
  if (final_norm)
    norm =
        register_module("norm", std::make_shared<LayerNorm>(layer.d_model, layer.layer_norm_eps));
}

Tensor TransformerEncoder::forward(const Tensor& src, const Tensor& padding,
                                   const Tensor& mask) const {
  Tensor x = src;
  for (const auto& layer : layers) x = layer->forward(x, padding, mask);
  return norm ? norm->forward(x) : x;
}

std::string TransformerEncoder::repr() const {
  return "TransformerEncoder(num_layers=" + std::to_string(layers.size()) +
         ", norm=" + (norm ? "true" : "false") + ")";
}

}  // namespace heed::nn

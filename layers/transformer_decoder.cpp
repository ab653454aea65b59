#include "layers/transformer_decoder.h"

#include <sstream>

#include "framework/ops.h"

namespace heed::nn {

namespace {

MultiheadAttentionOptions attention_options(const TransformerEncoderLayerOptions& o, bool cross) {
  MultiheadAttentionOptions a{
      .embed_dim = o.d_model, .num_heads = o.nhead, .dropout = o.dropout, .variant = o.attention};
  // Positions inside attention relate a query to keys of its own sequence.
  if (cross) a.variant.positional = "none", a.cross = true;
  return a;
}

}  // namespace

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerEncoderLayerOptions& o,
                                                 Generator& gen)
    : options(o) {
  HEED_CHECK(o.activation == "relu" || o.activation == "gelu",
             "TransformerDecoderLayer: activation \"", o.activation,
             "\" is not one of \"relu\", \"gelu\"");
  HEED_CHECK(o.dim_feedforward > 0,
             "TransformerDecoderLayer: dim_feedforward must be positive, got ", o.dim_feedforward);
  // PyTorch's registration order, hence its state_dict order.
  self_attn = register_module(
      "self_attn", std::make_shared<MultiheadAttention>(attention_options(o, false), gen));
  multihead_attn = register_module(
      "multihead_attn", std::make_shared<MultiheadAttention>(attention_options(o, true), gen));
  linear1 = register_module("linear1", std::make_shared<Linear>(o.d_model, o.dim_feedforward, gen));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout, gen));
  linear2 = register_module("linear2", std::make_shared<Linear>(o.dim_feedforward, o.d_model, gen));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  norm3 = register_module("norm3", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(o.dropout, gen));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(o.dropout, gen));
  dropout3 = register_module("dropout3", std::make_shared<Dropout>(o.dropout, gen));
}

Tensor TransformerDecoderLayer::feed_forward_block(const Tensor& x) const {
  Tensor h = linear1->forward(x);
  h = options.activation == "gelu" ? ops::gelu(h) : ops::relu(h);
  return dropout3->forward(linear2->forward(dropout->forward(h)));
}

Tensor TransformerDecoderLayer::forward(const Tensor& tgt, const Tensor& memory,
                                        const Tensor& tgt_mask, const Tensor& memory_mask,
                                        const Tensor& tgt_padding,
                                        const Tensor& memory_padding) const {
  HEED_CHECK(tgt.dim() == 3 && memory.dim() == 3 && tgt.size(0) == memory.size(0) &&
                 tgt.size(2) == options.d_model && memory.size(2) == options.d_model,
             "TransformerDecoderLayer: tgt ", tgt.shape(), " and memory ", memory.shape(),
             " are not [batch, tgt_len, ", options.d_model, "] and [batch, src_len, ",
             options.d_model, "]");
  auto self_block = [&](const Tensor& x) {
    return dropout1->forward(self_attn->forward(x, x, x, tgt_padding, tgt_mask, false).output);
  };
  auto cross_block = [&](const Tensor& x) {
    return dropout2->forward(
        multihead_attn->forward(x, memory, memory, memory_padding, memory_mask, false).output);
  };
  if (options.norm_first) {
    Tensor x = tgt + self_block(norm1->forward(tgt));
    x = x + cross_block(norm2->forward(x));
    return x + feed_forward_block(norm3->forward(x));
  }
  Tensor x = norm1->forward(tgt + self_block(tgt));
  x = norm2->forward(x + cross_block(x));
  return norm3->forward(x + feed_forward_block(x));
}

std::string TransformerDecoderLayer::repr() const {
  std::ostringstream out;
  out << "TransformerDecoderLayer(d_model=" << options.d_model << ", nhead=" << options.nhead
      << ", dim_feedforward=" << options.dim_feedforward << ", dropout=" << options.dropout
      << ", activation=" << options.activation
      << ", norm_first=" << (options.norm_first ? "true" : "false") << ")";
  return out.str();
}

TransformerDecoder::TransformerDecoder(const TransformerEncoderLayerOptions& layer,
                                       int64_t num_layers, bool final_norm, Generator& gen) {
  HEED_CHECK(num_layers > 0, "TransformerDecoder: num_layers must be positive, got ", num_layers);
  for (int64_t i = 0; i < num_layers; ++i)
    layers.push_back(register_module("layers." + std::to_string(i),
                                     std::make_shared<TransformerDecoderLayer>(layer, gen)));
  if (final_norm)
    norm =
        register_module("norm", std::make_shared<LayerNorm>(layer.d_model, layer.layer_norm_eps));
}

Tensor TransformerDecoder::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                   const Tensor& memory_mask, const Tensor& tgt_padding,
                                   const Tensor& memory_padding) const {
  Tensor x = tgt;
  for (const auto& layer : layers)
    x = layer->forward(x, memory, tgt_mask, memory_mask, tgt_padding, memory_padding);
  return norm ? norm->forward(x) : x;
}

std::string TransformerDecoder::repr() const {
  return "TransformerDecoder(num_layers=" + std::to_string(layers.size()) +
         ", norm=" + (norm ? "true" : "false") + ")";
}

}  // namespace heed::nn

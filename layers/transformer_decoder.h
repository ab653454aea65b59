#pragma once
// Transformer decoder layer (Vaswani et al. 2017, section 3.1), PyTorch's
// nn.TransformerDecoderLayer with batch_first=true: masked self-attention over the target, then
// cross-attention from the target to the encoder's output (memory), then the feed-forward block;
// pre-LayerNorm when norm_first (Xiong et al. 2020), post-LayerNorm otherwise:
//   pre:  x = x + dropout1(self_attn(norm1(x)))
//         x = x + dropout2(multihead_attn(norm2(x), memory))
//         x = x + dropout3(linear2(dropout(act(linear1(norm3(x))))))
//   post: x = norm1(x + dropout1(self_attn(x)))
//         x = norm2(x + dropout2(multihead_attn(x, memory)))
//         x = norm3(x + dropout3(linear2(dropout(act(linear1(x))))))
//
//   tgt [batch, tgt_len, d_model], memory [batch, src_len, d_model] -> [batch, tgt_len, d_model]
//   tgt_mask [tgt_len, tgt_len], memory_mask [tgt_len, src_len], tgt_key_padding_mask
//   [batch, tgt_len], memory_key_padding_mask [batch, src_len]; nonzero = masked.
// Children carry PyTorch's names (self_attn, multihead_attn, linear1, linear2, norm1..3), so state
// dicts match PyTorch key for key. The options are the encoder layer's; `attention` chooses the
// mechanism of both attentions, except that cross-attention never applies positional information
// (RoPE/ALiBi relate positions of one sequence) and "windowed" cross-attention is plain scaled
// dot-product (a band between two different sequences has no meaning).
// Throws heed::Error on bad options (as TransformerEncoderLayer) and on mismatched shapes.
//
//   TransformerDecoderLayer layer({.d_model = 64, .nhead = 4, .dim_feedforward = 128}, gen);
//   Tensor y = layer.forward(tgt, memory, causal_mask(T, T));

#include "layers/transformer.h"

namespace heed::nn {

class TransformerDecoderLayer : public Module {
 public:
  TransformerDecoderLayer(const TransformerEncoderLayerOptions& options, Generator& gen);
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = Tensor(),
                 const Tensor& memory_mask = Tensor(),
                 const Tensor& tgt_key_padding_mask = Tensor(),
                 const Tensor& memory_key_padding_mask = Tensor()) const;
  std::string repr() const override;

  const TransformerEncoderLayerOptions options;
  std::shared_ptr<MultiheadAttention> self_attn, multihead_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2, dropout3;

 private:
  Tensor feed_forward_block(const Tensor& x) const;
};

/// A stack of num_layers decoder layers (PyTorch's nn.TransformerDecoder): children "layers.0" ...
/// and, with `final_norm`, a LayerNorm "norm" after the last. Same arguments as the layer.
class TransformerDecoder : public Module {
 public:
  TransformerDecoder(const TransformerEncoderLayerOptions& layer, int64_t num_layers,
                     bool final_norm, Generator& gen);
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = Tensor(),
                 const Tensor& memory_mask = Tensor(),
                 const Tensor& tgt_key_padding_mask = Tensor(),
                 const Tensor& memory_key_padding_mask = Tensor()) const;
  std::string repr() const override;

  std::vector<std::shared_ptr<TransformerDecoderLayer>> layers;
  std::shared_ptr<LayerNorm> norm;
};

}  // namespace heed::nn

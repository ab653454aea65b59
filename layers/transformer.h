#pragma once
// Transformer encoder layer (Vaswani et al. 2017), PyTorch's nn.TransformerEncoderLayer with
// batch_first=true; pre-LayerNorm when norm_first (Xiong et al. 2020), post-LayerNorm otherwise:
//   pre:  x = x + dropout1(self_attn(norm1(x)))
//         x = x + dropout2(linear2(dropout(act(linear1(norm2(x))))))
//   post: x = norm1(x + dropout1(self_attn(x)))
//         x = norm2(x + dropout2(linear2(dropout(act(linear1(x))))))
// src [batch, seq, d_model] -> [batch, seq, d_model]. Children carry PyTorch's names (self_attn,
// linear1, linear2, norm1, norm2), so state dicts match PyTorch key for key. Throws heed::Error on
// an unknown activation or attention name, or a non-positive dim_feedforward.
//
//   TransformerEncoderLayer layer({.d_model = 64, .nhead = 4, .dim_feedforward = 128,
//                                  .norm_first = true, .attention = {.attention = "topk"}}, gen);
//   Tensor y = layer.forward(x, padding);  // x [batch, seq, 64]

#include "framework/module.h"
#include "layers/attention/multihead.h"
#include "layers/dropout.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"

namespace heed::nn {

struct TransformerEncoderLayerOptions {
  int64_t d_model = 0;
  int64_t nhead = 0;
  int64_t dim_feedforward = 2048;
  float dropout = 0.1f;
  std::string activation = "relu";  // "relu" or "gelu"
  float layer_norm_eps = 1e-5f;
  bool norm_first = false;
  /// The attention mechanism of self_attn (scaled dot-product by default; see
  /// layers/attention/multihead.h), so a recipe swaps it by name in an otherwise identical model.
  AttentionVariant attention = {};
};

class TransformerEncoderLayer : public Module {
 public:
  TransformerEncoderLayer(const TransformerEncoderLayerOptions& options, Generator& gen);
  /// src_key_padding_mask [batch, seq] and src_mask [seq, seq]: nonzero = masked.
  Tensor forward(const Tensor& src, const Tensor& src_key_padding_mask = Tensor(),
                 const Tensor& src_mask = Tensor()) const;
  std::string repr() const override;

  const TransformerEncoderLayerOptions options;
  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2;

 private:
  Tensor self_attention_block(const Tensor& x, const Tensor& padding, const Tensor& mask) const;
  Tensor feed_forward_block(const Tensor& x) const;
};

/// A stack of num_layers encoder layers (PyTorch's nn.TransformerEncoder): children "layers.0" ...
/// and, with `final_norm`, a LayerNorm "norm" after the last (customary with pre-LN layers).
class TransformerEncoder : public Module {
 public:
  TransformerEncoder(const TransformerEncoderLayerOptions& layer, int64_t num_layers,
                     bool final_norm, Generator& gen);
  /// src [batch, seq, d_model] -> [batch, seq, d_model]; masks as TransformerEncoderLayer.
  Tensor forward(const Tensor& src, const Tensor& src_key_padding_mask = Tensor(),
                 const Tensor& src_mask = Tensor()) const;
  std::string repr() const override;

  std::vector<std::shared_ptr<TransformerEncoderLayer>> layers;
  std::shared_ptr<LayerNorm> norm;
};

}  // namespace heed::nn

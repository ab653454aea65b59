#pragma once
// Multi-head attention (Vaswani et al. 2017, section 3.2.2), PyTorch's nn.MultiheadAttention with
// batch_first=true and kdim = vdim = embed_dim:
//   MultiHead(Q, K, V) = Concat(head_1..head_h) W^O,  head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)
// Parameters (PyTorch's names): in_proj_weight [3*embed_dim, embed_dim] (rows: Q, K, V; xavier
// uniform), in_proj_bias [3*embed_dim] (zeros), out_proj.weight [embed_dim, embed_dim],
// out_proj.bias [embed_dim] (zeros).
//   query [batch, query_len, embed_dim], key and value [batch, key_len, embed_dim]
//   key_padding_mask [batch, key_len] (nonzero = padding), attn_mask [query_len, key_len] (nonzero
//   = masked)
//   -> output [batch, query_len, embed_dim], weights [batch, num_heads, query_len, key_len]
//
//   MultiheadAttention attn(64, 4, 0.1f, gen);
//   auto [out, weights] = attn.forward(x, x, x, padding, causal_mask(28, 28));

#include "framework/module.h"
#include "layers/attention/scaled_dot_product.h"
#include "layers/linear.h"

namespace heed::nn {

class MultiheadAttention : public Module {
 public:
  /// Throws unless embed_dim is divisible by num_heads and 0 <= dropout <= 1.
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, float dropout, Generator& gen);
  AttentionOutput forward(const Tensor& query, const Tensor& key, const Tensor& value,
                          const Tensor& key_padding_mask = Tensor(),
                          const Tensor& attn_mask = Tensor()) const;
  std::string repr() const override;

  const int64_t embed_dim, num_heads;
  const float dropout;
  Tensor in_proj_weight, in_proj_bias;
  std::shared_ptr<Linear> out_proj;

 private:
  Tensor split_heads(const Tensor& x) const;
  Generator* gen_;
};

}  // namespace heed::nn

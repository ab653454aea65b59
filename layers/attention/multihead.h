#pragma once
// Multi-head attention (Vaswani et al. 2017, section 3.2.2), PyTorch's nn.MultiheadAttention with
// batch_first=true, with the attention mechanism inside each head chosen by name:
//   MultiHead(Q, K, V) = Concat(head_1..head_h) W^O,  head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)
//
// Parameters (PyTorch's names and initialization):
//   kdim = vdim = embed_dim: in_proj_weight [3*embed_dim, embed_dim] (rows: Q, K, V; xavier
//     uniform);
//   otherwise: q_proj_weight [embed_dim, embed_dim], k_proj_weight [embed_dim, kdim],
//     v_proj_weight [embed_dim, vdim] (each xavier uniform);
//   with bias: in_proj_bias [3*embed_dim] (zeros) and out_proj.bias [embed_dim] (zeros);
//   out_proj.weight [embed_dim, embed_dim];
//   attention "cosine" only: logit_scale [num_heads, 1, 1] = log 10, Swin v2's learned log
//     temperature (Liu et al. 2022, eq. 2), not a PyTorch parameter.
//
//   query [batch, query_len, embed_dim], key [batch, key_len, kdim], value [batch, key_len, vdim]
//   key_padding_mask [batch, key_len] (nonzero = padding), attn_mask [query_len, key_len]
//   (nonzero = masked)
//   -> output [batch, query_len, embed_dim], weights [batch, num_heads, query_len, key_len] (per
//   head, PyTorch's average_attn_weights=False; undefined when need_weights is false)
//
//   MultiheadAttention attn({.embed_dim = 64, .num_heads = 4, .dropout = 0.1f,
//                            .variant = {.attention = "sparsemax"}}, gen);
//   auto [out, weights] = attn.forward(x, x, x, padding, causal_mask(28, 28));

#include "framework/module.h"
#include "layers/attention/scaled_dot_product.h"
#include "layers/linear.h"

namespace heed::nn {

/// The attention mechanism inside each head and the positional information it applies.
struct AttentionVariant {
  /// "scaled_dot_product" (softmax), "sparsemax", "topk", "hard" (straight-through argmax),
  /// "gumbel" (Gumbel-softmax), "linear" (Katharopoulos et al. 2020: key_padding_mask and a causal
  /// attn_mask only, no dropout on weights), "cosine" (Swin v2), "windowed" (softmax within a
  /// band of +-window keys, Longformer's sliding window).
  std::string attention = "scaled_dot_product";
  int64_t topk = 4;         // "topk": keys kept per query
  float temperature = 1.f;  // "gumbel": softmax temperature
  bool hard = false;        // "gumbel": straight-through one-hot forward
  int64_t window = 4;       // "windowed": keys within this distance are seen
  /// Applied inside attention: "none", "rope" (rotary q and k, Su et al. 2021) or "alibi"
  /// (linear score bias, Press et al. 2022; not with "linear" or "cosine").
  std::string positional = "none";
};

/// The names AttentionVariant::attention and ::positional accept.
const std::vector<std::string>& attention_names();
const std::vector<std::string>& attention_positional_names();

struct MultiheadAttentionOptions {
  int64_t embed_dim = 0;
  int64_t num_heads = 0;
  float dropout = 0.f;  // on the attention weights, in training
  bool bias = true;     // in_proj_bias and out_proj.bias
  int64_t kdim = 0;     // key features; 0 = embed_dim
  int64_t vdim = 0;     // value features; 0 = embed_dim
  AttentionVariant variant = {};
};

class MultiheadAttention : public Module {
 public:
  /// Throws unless embed_dim is divisible by num_heads, 0 <= dropout <= 1, and the variant's
  /// names and numbers are valid (the message lists the valid names).
  MultiheadAttention(const MultiheadAttentionOptions& options, Generator& gen);
  /// The PyTorch-default layer: kdim = vdim = embed_dim, bias, scaled dot-product attention.
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, float dropout, Generator& gen);
  AttentionOutput forward(const Tensor& query, const Tensor& key, const Tensor& value,
                          const Tensor& key_padding_mask = Tensor(),
                          const Tensor& attn_mask = Tensor(), bool need_weights = true) const;
  std::string repr() const override;

  const MultiheadAttentionOptions options;
  const int64_t embed_dim, num_heads, kdim, vdim;
  const float dropout;
  // Defined as the options say (see the list of parameters above); the others stay undefined.
  Tensor in_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight, in_proj_bias, logit_scale;
  std::shared_ptr<Linear> out_proj;

 private:
  Tensor split_heads(const Tensor& x) const;
  void project(const Tensor& query, const Tensor& key, const Tensor& value, Tensor& q, Tensor& k,
               Tensor& v) const;
  AttentionOutput attend(const Tensor& q, const Tensor& k, const Tensor& v,
                         const Tensor& key_padding_mask, const Tensor& attn_mask,
                         bool need_weights) const;
  Generator* gen_;
};

}  // namespace heed::nn

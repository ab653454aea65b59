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
//   then the mechanism's own parameters under their names (attention "cosine": logit_scale
//     [num_heads, 1, 1] = log 10, Swin v2's learned log temperature; not PyTorch parameters);
//   for a mechanism that uses a context (attention "tri"): c_proj_weight [embed_dim, kdim] (xavier
//     uniform) and with bias c_proj_bias [embed_dim] (zeros), the context's projection of the key
//     input (not rotated by RoPE).
//
//   query [batch, query_len, embed_dim], key [batch, key_len, kdim], value [batch, key_len, vdim]
//   key_padding_mask [batch, key_len] (nonzero = padding), attn_mask [query_len, key_len]
//   (nonzero = masked)
//   -> output [batch, query_len, embed_dim], weights [batch, num_heads, query_len, key_len] (per
//   head, PyTorch's average_attn_weights=False; undefined when need_weights is false)
//
//   MultiheadAttention attn({.embed_dim = 64, .num_heads = 4, .dropout = 0.1f,
//                            .variant = {.type = "topk", .options = {{"topk", 8}}}}, gen);
//   auto [out, weights] = attn.forward(x, x, x, padding, causal_mask(28, 28));

#include "framework/module.h"
#include "layers/attention/alignment.h"
#include "layers/attention/registry.h"
#include "layers/linear.h"

namespace heed::nn {

struct MultiheadAttentionOptions {
  int64_t embed_dim = 0;
  int64_t num_heads = 0;
  float dropout = 0.f;  // on the attention weights, in training
  bool bias = true;     // in_proj_bias and out_proj.bias
  int64_t kdim = 0;     // key features; 0 = embed_dim
  int64_t vdim = 0;     // value features; 0 = embed_dim
  AttentionVariant variant = {};
  /// Queries and keys from different sequences (a decoder's cross-attention): there is no
  /// distance between them (windowed attention applies no band).
  bool cross = false;
};

class MultiheadAttention : public Module {
 public:
  /// Throws unless embed_dim is divisible by num_heads, 0 <= dropout <= 1, and the variant's
  /// name and options are valid (the message lists the valid names).
  MultiheadAttention(const MultiheadAttentionOptions& options, Generator& gen);
  /// The PyTorch-default layer: kdim = vdim = embed_dim, bias, scaled dot-product attention.
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, float dropout, Generator& gen);
  AttentionOutput forward(const Tensor& query, const Tensor& key, const Tensor& value,
                          const Tensor& key_padding_mask = Tensor(),
                          const Tensor& attn_mask = Tensor(), bool need_weights = true) const;
  std::string repr() const override;

  /// Keys and values projected and split into heads, [batch, num_heads, key_len, head_dim] each,
  /// and the keys' context projection when the mechanism uses one (undefined otherwise).
  struct ProjectedKeys {
    Tensor k, v, c;
  };
  /// The query-independent half of forward, done once for many queries (a decoder's steps):
  /// attend(query, project_keys(key, value), ...) is forward(query, key, value, ...) bit for bit
  /// when query is not key.
  ProjectedKeys project_keys(const Tensor& key, const Tensor& value) const;
  AttentionOutput attend(const Tensor& query, const ProjectedKeys& kv,
                         const Tensor& key_padding_mask = Tensor(),
                         const Tensor& attn_mask = Tensor(), bool need_weights = true) const;

  const MultiheadAttentionOptions options;
  const int64_t embed_dim, num_heads, kdim, vdim;
  const float dropout;
  // Defined as the options say (see the list of parameters above); the others stay undefined.
  Tensor in_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight, in_proj_bias;
  Tensor c_proj_weight, c_proj_bias;
  std::shared_ptr<Linear> out_proj;
  const std::unique_ptr<AttentionMechanism> mechanism;

 private:
  Tensor split_heads(const Tensor& x) const;
  // Each of Q, K, V's slice of the packed projection (in_proj_weight) or its own weight.
  Tensor projection(int which, const Tensor& x) const;
  void check_shapes(const Tensor& query, const Tensor& key, const Tensor& value,
                    const Tensor& key_padding_mask, const Tensor& attn_mask) const;
  // The context projection of the key input, split into heads; undefined unless the mechanism
  // uses a context.
  Tensor context_heads(const Tensor& key) const;
  AttentionOutput attend_heads(const Tensor& q, const ProjectedKeys& kv,
                               const Tensor& key_padding_mask, const Tensor& attn_mask,
                               bool need_weights) const;
  Generator* gen_;
  bool rope_ = false, alibi_ = false;  // variant.positional, decided once
};

/// Alignment "multihead": one query step attends to the keys through this layer, as an RNN
/// decoder or attention pooling uses it. embed_dim is the query's width, kdim = vdim the keys'
/// (the two must be equal: the output is embed_dim wide where an alignment's is the values'); the
/// weights returned are the heads' mean [batch, 1, query_len, key_len] (PyTorch's
/// average_attn_weights), while an Inspector still records every head. Options `num_heads` (4),
/// `dropout`, `attention` (the mechanism inside the heads, scaled dot-product by default).
AlignmentFactory multihead_alignment_from_config(const Config& c);

}  // namespace heed::nn

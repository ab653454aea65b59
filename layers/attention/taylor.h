#pragma once
// Taylor attention: the linear attention of Li, Su, Duan & Zheng 2020 ("Linear Attention
// Mechanism: An Efficient Attention for Semantic Segmentation", arXiv 2007.14902, eq. 8-12),
// which replaces exp(q . k) by its first-order Taylor expansion 1 + q . k, with q and k
// L2-normalized so that 1 + q^ . k^ >= 0:
//   out_i = sum_j (1 + q^_i . k^_j) v_j / sum_j (1 + q^_i . k^_j),   x^ = x / |x|
//         = (sum_j v_j + q^_i^T sum_j k^_j v_j^T) / (N + q^_i . sum_j k^_j)     (eq. 12)
// computed in O(seq * d_k * d_v) as feature-map attention (linear.h) with the feature map
// phi(x) = [1, x^], since phi(q) . phi(k) = 1 + q^ . k^. Causal: the sums run over j <= i (the
// running sums of linear.h). |x| = sqrt(sum x^2 + 1e-12), so a zero vector has q^ = 0, not NaN.
//
//   q [batch, heads, query, d_k], k [batch, heads, key, d_k], v [batch, heads, key, d_v],
//   key_padding_mask [batch, key] (nonzero = padding: the key enters neither sum, N counts the
//   real keys), causal (query == key)
//   -> output [batch, heads, query, d_v]; weights [batch, heads, query, key] only when
//   need_weights (the quadratic matrix of the normalized 1 + q^ . k^).
// Registered as "taylor" (no options); like "linear", it takes no attn_mask but a causal one, no
// ALiBi, and no dropout on weights. Throws heed::Error naming taylor_attention and the shapes.
//
//   auto [out, w] = taylor_attention(q, k, v, padding, /*causal=*/false, /*need_weights=*/true);

#include "layers/attention/linear.h"

namespace heed::nn {

AttentionOutput taylor_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                 const Tensor& key_padding_mask, bool causal, bool need_weights);

/// The registered mechanism "taylor": phi(x) = [1, x / |x|].
class TaylorAttention : public FeatureMapAttention {
 public:
  using FeatureMapAttention::FeatureMapAttention;
  static AttentionFactory from_config(const Config& options);

 protected:
  Tensor features(const Tensor& x) const override;
  const char* variant() const override { return "taylor"; }
  const char* op() const override { return "taylor_attention"; }
};

}  // namespace heed::nn

#pragma once
// Linear attention (Katharopoulos et al. 2020, "Transformers are RNNs"), with the feature map
// phi(x) = elu(x) + 1 (eq. 7):
//   non-causal (eq. 4-6): out_i = phi(q_i)^T (sum_j phi(k_j) v_j^T) / (phi(q_i) . sum_j phi(k_j) +
//   eps)
//     computed as two matmuls, phi(K)^T V then phi(Q) times it: O(seq * d_k * d_v);
//   causal (eq. 8-10): the sums run over j <= i; one fused op (ops::causal_linear_attention)
//     keeps running sums, so time and memory grow linearly with seq.
//
//   q [batch, heads, query, d_k], k [batch, heads, key, d_k], v [batch, heads, key, d_v]
//   key_padding_mask [batch, key], nonzero = padding (undefined = none): padded keys' phi(k) are
//   zeroed, so they enter neither sum. causal requires query == key.
//   -> output [batch, heads, query, d_v]; weights [batch, heads, query, key] = the normalized
//   phi(q_i) . phi(k_j) (the attention the output equals), computed only when need_weights,
//   which costs the quadratic [query, key] matrix.
// Throws heed::Error naming linear_attention and the shapes when they disagree.
//
//   auto [out, w] = linear_attention(q, k, v, padding, /*causal=*/true, /*need_weights=*/false);

#include "layers/attention/mechanism.h"

namespace heed::nn {

/// The computation above for any feature map: phi_q [batch, heads, query, f],
/// phi_k [batch, heads, key, f] (non-negative features; padded keys are zeroed here),
/// v [batch, heads, key, d_v]. Linear attention and Taylor attention (taylor.h) are this with
/// their own phi; errors name `op`.
AttentionOutput feature_map_attention(const Tensor& phi_q, const Tensor& phi_k, const Tensor& v,
                                      const Tensor& key_padding_mask, bool causal,
                                      bool need_weights, float eps = 1e-6f,
                                      const char* op = "feature_map_attention");

/// A mechanism that is feature_map_attention with its own feature map (linear, taylor): takes a
/// key_padding_mask and a causal attn_mask only (any other mask is an error naming the variant),
/// no ALiBi, and no dropout on its weights (it never forms them unless asked).
class FeatureMapAttention : public AttentionMechanism {
 public:
  using AttentionMechanism::AttentionMechanism;
  AttentionOutput attend(const Tensor& q, const Tensor& k, const Tensor& v,
                         const AttentionCall& call) const override;
  bool takes_score_bias() const override { return false; }

 protected:
  /// phi: [batch, heads, len, d_k] -> [batch, heads, len, f], non-negative.
  virtual Tensor features(const Tensor& x) const = 0;
  /// The registered name ("linear"), and the op name shape errors carry ("linear_attention").
  virtual const char* variant() const = 0;
  virtual const char* op() const = 0;
};

AttentionOutput linear_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                 const Tensor& key_padding_mask, bool causal, bool need_weights,
                                 float eps = 1e-6f);

/// The same equations in their quadratic form, (phi(Q) phi(K)^T masked) V / row sums: the
/// reference the tests compare the linear-time forms against.
AttentionOutput linear_attention_quadratic(const Tensor& q, const Tensor& k, const Tensor& v,
                                           const Tensor& key_padding_mask, bool causal,
                                           float eps = 1e-6f);

/// The registered mechanism "linear", no options: phi = elu + 1.
class LinearAttention : public FeatureMapAttention {
 public:
  using FeatureMapAttention::FeatureMapAttention;
  static AttentionFactory from_config(const Config& options);

 protected:
  Tensor features(const Tensor& x) const override;
  const char* variant() const override { return "linear"; }
  const char* op() const override { return "linear_attention"; }
};

}  // namespace heed::nn

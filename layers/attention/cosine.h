#pragma once
// Cosine attention with a learned temperature (Liu et al. 2022, Swin Transformer v2, eq. 2):
//   scores_ij = tau * cos(q_i, k_j),  tau = exp(min(log_tau, log 100))
// then masks, softmax over keys, dropout on the weights (training), times V. The clamp is Swin
// v2's logit_scale clamp (tau <= 100); above it log_tau gets no gradient, as torch.clamp.
// cos(q, k) = q.k / (|q| |k|) with |x| = sqrt(sum x^2 + 1e-12), so a zero vector gives 0, not NaN.
//
//   q [batch, heads, query, d_k], k [batch, heads, key, d_k], v [batch, heads, key, d_v]
//   masks: nonzero = not allowed, each broadcasting to [batch, heads, query, key] (a padding mask
//   [batch, key] is passed as [batch, 1, 1, key], a causal or band mask as [query, key])
//   log_tau: a one-element tensor (the learned parameter; Swin v2 starts it at log 10), or a
//   [heads, 1, 1] tensor for one temperature per head
//   -> output [batch, heads, query, d_v], weights [batch, heads, query, key]
// Throws heed::Error naming cosine_attention and the shapes when they disagree.
//
//   Tensor log_tau = Tensor::full({1}, std::log(10.f)).requires_grad_();
//   auto [out, w] = cosine_attention(q, k, v, {causal_mask(L, L)}, log_tau, 0.1f, true, gen);

#include "layers/attention/mechanism.h"

namespace heed::nn {

AttentionOutput cosine_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                 const std::vector<Tensor>& masks, const Tensor& log_tau,
                                 float dropout_p, bool training, Generator& gen);

/// The registered mechanism "cosine", no options: one learned log temperature per head, the
/// parameter logit_scale [num_heads, 1, 1] = log 10 (Swin v2's name and initial value), which
/// MultiheadAttention registers as its own ("self_attn.logit_scale").
class CosineAttention : public AttentionMechanism {
 public:
  explicit CosineAttention(const HeadShape& shape);
  /// With a given log temperature (one element or [heads, 1, 1]), not a parameter of its own.
  CosineAttention(const HeadShape& shape, const Tensor& log_tau);
  static AttentionFactory from_config(const Config& options);
  Tensor score(const Tensor& q, const Tensor& k) const override;
  bool takes_score_bias() const override { return false; }

  const Tensor logit_scale;
};

}  // namespace heed::nn

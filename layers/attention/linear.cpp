#include "layers/attention/linear.h"

#include "framework/ops.h"
#include "layers/attention/scaled_dot_product.h"

namespace heed::nn {

namespace {

void check_shapes(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                  const Tensor& padding, bool causal) {
  HEED_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && q.size(-1) == k.size(-1) &&
                 k.size(2) == v.size(2) && q.size(0) == k.size(0) && k.size(0) == v.size(0) &&
                 q.size(1) == k.size(1) && k.size(1) == v.size(1),
             op, ": q ", q.shape(), ", k ", k.shape(), " and v ", v.shape(),
             " are not [batch, heads, query, d_k], [batch, heads, key, d_k], "
             "[batch, heads, key, d_v]");
  HEED_CHECK(!causal || q.size(2) == k.size(2), op, ": causal needs query == key, got q ",
             q.shape(), " and k ", k.shape());
  HEED_CHECK(!padding.defined() || padding.shape() == Shape({k.size(0), k.size(2)}), op,
             ": key_padding_mask of shape ", padding.shape(), ", expected ",
             Shape({k.size(0), k.size(2)}));
}

// phi(k) with padded keys zeroed, so they enter neither the numerator nor the normalizer.
Tensor masked_key_features(const Tensor& phi_k, const Tensor& padding) {
  if (!padding.defined()) return phi_k;
  const int64_t batch = phi_k.size(0), key = phi_k.size(2);
  const Tensor keep =
      ops::masked_fill(Tensor::ones({batch, 1, key, 1}), padding.reshape({batch, 1, key, 1}), 0.f);
  return phi_k * keep;
}

// The normalized phi(q_i) . phi(k_j), [batch, heads, query, key].
Tensor quadratic_weights(const Tensor& phi_q, const Tensor& phi_k, bool causal, float eps) {
  Tensor a = ops::matmul(phi_q, phi_k.transpose(-1, -2));
  if (causal) a = ops::masked_fill(a, causal_mask(phi_q.size(2), phi_k.size(2)), 0.f);
  return a / (ops::sum(a, {-1}, true) + eps);
}

// True when the call's attn_mask is causal_mask(query, key), false when it has none; throws for any
// other mask, which a feature-map attention cannot apply.
bool causal_call(const char* variant, const Tensor& q, const Tensor& k, const AttentionCall& call) {
  HEED_CHECK(!call.attn_mask.defined() || is_causal_mask(call.attn_mask), "attention \"", variant,
             "\" takes only a causal attn_mask, got one of shape ", call.attn_mask.shape(),
             " that is not causal_mask(", q.size(2), ", ", k.size(2), ")");
  return call.attn_mask.defined();
}

}  // namespace

AttentionOutput feature_map_attention(const Tensor& phi_q, const Tensor& phi_k0, const Tensor& v,
                                      const Tensor& key_padding_mask, bool causal,
                                      bool need_weights, float eps, const char* op) {
  check_shapes(op, phi_q, phi_k0, v, key_padding_mask, causal);
  const Tensor phi_k = masked_key_features(phi_k0, key_padding_mask);
  Tensor out;
  if (causal) {
    out = ops::causal_linear_attention(phi_q, phi_k, v, eps);
  } else {
    // Eq. 5: phi(Q) (phi(K)^T V) / (phi(Q) sum_j phi(k_j)), never forming [query, key].
    const Tensor kv = ops::matmul(phi_k.transpose(-1, -2), v);          // [b, h, d_k, d_v]
    const Tensor k_sum = ops::sum(phi_k, {2}, true).transpose(-1, -2);  // [b, h, d_k, 1]
    out = ops::matmul(phi_q, kv) / (ops::matmul(phi_q, k_sum) + eps);
  }
  return {out, need_weights ? quadratic_weights(phi_q, phi_k, causal, eps) : Tensor()};
}

AttentionOutput linear_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                 const Tensor& key_padding_mask, bool causal, bool need_weights,
                                 float eps) {
  return feature_map_attention(ops::elu_plus_one(q), ops::elu_plus_one(k), v, key_padding_mask,
                               causal, need_weights, eps, "linear_attention");
}

AttentionOutput linear_attention_quadratic(const Tensor& q, const Tensor& k, const Tensor& v,
                                           const Tensor& key_padding_mask, bool causal, float eps) {
  check_shapes("linear_attention", q, k, v, key_padding_mask, causal);
  const Tensor w =
      quadratic_weights(ops::elu_plus_one(q),
                        masked_key_features(ops::elu_plus_one(k), key_padding_mask), causal, eps);
  return {ops::matmul(w, v), w};
}

AttentionFactory LinearAttention::from_config(const Config&) {
  return [](const HeadShape& s) { return std::make_unique<LinearAttention>(s); };
}

AttentionOutput FeatureMapAttention::attend(const Tensor& q, const Tensor& k, const Tensor& v,
                                            const AttentionCall& call) const {
  return feature_map_attention(features(q), features(k), v, call.key_padding_mask,
                               causal_call(variant(), q, k, call), call.need_weights, 1e-6f, op());
}

Tensor LinearAttention::features(const Tensor& x) const {
  return ops::elu_plus_one(x);
}

}  // namespace heed::nn

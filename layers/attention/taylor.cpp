#include "layers/attention/taylor.h"

#include "framework/ops.h"

namespace heed::nn {

namespace {

// phi(x) = [1, x / |x|] over the last dimension: [..., d] -> [..., 1 + d].
Tensor taylor_features(const Tensor& x) {
  Shape one = x.shape();
  one.back() = 1;
  const Tensor unit = x / ops::sqrt(ops::sum(x * x, {-1}, true) + 1e-12f);
  return ops::concat({Tensor::ones(one), unit}, -1);
}

}  // namespace

AttentionOutput taylor_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                 const Tensor& key_padding_mask, bool causal, bool need_weights) {
  HEED_CHECK(q.dim() == 4 && k.dim() == 4, "taylor_attention: q ", q.shape(), " and k ", k.shape(),
             " are not [batch, heads, query, d_k], [batch, heads, key, d_k]");
  return feature_map_attention(taylor_features(q), taylor_features(k), v, key_padding_mask, causal,
                               need_weights, 1e-6f, "taylor_attention");
}

AttentionFactory TaylorAttention::from_config(const Config&) {
  return [](const HeadShape& s) { return std::make_unique<TaylorAttention>(s); };
}

Tensor TaylorAttention::features(const Tensor& x) const {
  return taylor_features(x);
}

}  // namespace heed::nn

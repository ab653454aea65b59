#include "layers/attention/scaled_dot_product.h"

namespace heed::nn {

AttentionFactory ScaledDotProductAttention::from_config(const Config&) {
  return [](const HeadShape& s) { return std::make_unique<ScaledDotProductAttention>(s); };
}

AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const std::vector<Tensor>& masks, float dropout_p,
                                             bool training, Generator& gen, const Tensor& bias) {
  HEED_CHECK(
      q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && q.size(-1) == k.size(-1) &&
          k.size(2) == v.size(2),
      "scaled_dot_product_attention: q ", q.shape(), ", k ", k.shape(), " and v ", v.shape(),
      " are not [batch, heads, query, d_k], [batch, heads, key, d_k], [batch, heads, key, d_v]");
  AttentionCall call;
  call.score_bias = bias, call.dropout = dropout_p, call.training = training, call.gen = &gen;
  return ScaledDotProductAttention(HeadShape{}).attend_masked(q, k, v, masks, call);
}

Tensor causal_mask(int64_t query, int64_t key) {
  Tensor mask = Tensor::zeros({query, key});
  for (int64_t i = 0; i < query; ++i)
    for (int64_t j = i + 1; j < key; ++j) mask.data()[i * key + j] = 1.f;
  return mask;
}

bool is_causal_mask(const Tensor& mask) {
  if (!mask.defined() || mask.dim() != 2) return false;
  const int64_t lq = mask.size(0), lk = mask.size(1);
  const Tensor m = mask.to(Dtype::Float32).contiguous();
  const float* p = m.data();
  for (int64_t i = 0; i < lq; ++i)
    for (int64_t j = 0; j < lk; ++j)
      if ((p[i * lk + j] != 0.f) != (j > i)) return false;
  return true;
}

}  // namespace heed::nn

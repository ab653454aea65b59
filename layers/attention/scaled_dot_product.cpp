#include "layers/attention/scaled_dot_product.h"

#include <cmath>
#include <limits>

#include "framework/ops.h"

namespace heed::nn {

AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const std::vector<Tensor>& masks, float dropout_p,
                                             bool training, Generator& gen) {
  HEED_CHECK(
      q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && q.size(-1) == k.size(-1) &&
          k.size(2) == v.size(2),
      "scaled_dot_product_attention: q ", q.shape(), ", k ", k.shape(), " and v ", v.shape(),
      " are not [batch, heads, query, d_k], [batch, heads, key, d_k], [batch, heads, key, d_v]");
  const float scale = 1.f / std::sqrt(static_cast<float>(q.size(-1)));
  Tensor scores = ops::matmul(q * scale, k.transpose(-1, -2));
  for (const Tensor& mask : masks)
    if (mask.defined())
      scores = ops::masked_fill(scores, mask, -std::numeric_limits<float>::infinity());
  const Tensor weights = ops::softmax(scores, -1);
  const Tensor dropped = ops::dropout(weights, dropout_p, training, gen);
  return {ops::matmul(dropped, v), weights};
}

Tensor causal_mask(int64_t query, int64_t key) {
  Tensor mask = Tensor::zeros({query, key});
  for (int64_t i = 0; i < query; ++i)
    for (int64_t j = i + 1; j < key; ++j) mask.data()[i * key + j] = 1.f;
  return mask;
}

}  // namespace heed::nn

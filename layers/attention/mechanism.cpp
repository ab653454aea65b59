#include "layers/attention/mechanism.h"

#include <cmath>
#include <limits>

#include "framework/ops.h"

namespace heed::nn {

Tensor AttentionMechanism::score(const Tensor& q, const Tensor& k) const {
  const float scale = 1.f / std::sqrt(static_cast<float>(q.size(-1)));
  return ops::matmul(q * scale, k.transpose(-1, -2));
}

Tensor AttentionMechanism::normalize(const Tensor& scores, const AttentionCall&) const {
  return ops::softmax(scores, -1);
}

Tensor AttentionMechanism::add_parameter(const std::string& name, Tensor value) {
  value.requires_grad_();
  parameters_.emplace_back(name, value);
  return value;
}

Tensor dropout_weights(const Tensor& weights, const AttentionCall& call) {
  if (!call.training || call.dropout == 0.f) return weights;
  HEED_CHECK(call.gen != nullptr, "attention: dropout ", call.dropout,
             " in training needs the call's generator, and it has none");
  return ops::dropout(weights, call.dropout, call.training, *call.gen);
}

Tensor AttentionMechanism::add_buffer(const std::string& name, Tensor value) {
  buffers_.emplace_back(name, value);
  return value;
}

AttentionOutput AttentionMechanism::attend(const Tensor& q, const Tensor& k, const Tensor& v,
                                           const AttentionCall& call) const {
  HEED_CHECK(q.dim() == 4 && k.dim() == 4, "attention: q ", q.shape(), " and k ", k.shape(),
             " are not [batch, heads, query, d_k], [batch, heads, key, d_k]");
  const int64_t batch = q.size(0), len_q = q.size(2), len_k = k.size(2);
  std::vector<Tensor> masks;
  if (call.key_padding_mask.defined())
    masks.push_back(call.key_padding_mask.reshape({batch, 1, 1, len_k}));
  masks.push_back(call.attn_mask);
  masks.push_back(extra_mask(len_q, len_k));
  return attend_masked(q, k, v, masks, call);
}

AttentionOutput AttentionMechanism::attend_masked(const Tensor& q, const Tensor& k, const Tensor& v,
                                                  const std::vector<Tensor>& masks,
                                                  const AttentionCall& call) const {
  HEED_CHECK(
      q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && q.size(-1) == k.size(-1) &&
          k.size(2) == v.size(2),
      "attention: q ", q.shape(), ", k ", k.shape(), " and v ", v.shape(),
      " are not [batch, heads, query, d_k], [batch, heads, key, d_k], [batch, heads, key, d_v]");
  Tensor scores = score(q, k);
  if (call.score_bias.defined()) scores = scores + call.score_bias;
  for (const Tensor& mask : masks)
    if (mask.defined())
      scores = ops::masked_fill(scores, mask, -std::numeric_limits<float>::infinity());
  const Tensor weights = normalize(scores, call);
  const Tensor dropped = dropout_weights(weights, call);
  return {ops::matmul(dropped, v), weights};
}

}  // namespace heed::nn

#include "layers/attention/cosine.h"

#include <cmath>
#include <limits>

#include "framework/ops.h"

namespace heed::nn {

namespace {

Tensor unit_rows(const Tensor& x) {
  return x / ops::sqrt(ops::sum(x * x, {-1}, true) + 1e-12f);
}

// exp(min(log_tau, log 100)): clamped entries are the constant 100 (no gradient), as Swin v2.
Tensor temperature(const Tensor& log_tau) {
  const float max_log = std::log(100.f);
  Tensor over = Tensor::zeros(log_tau.shape());
  const std::vector<float> values = log_tau.to_vector();
  for (size_t i = 0; i < values.size(); ++i) over.data()[i] = values[i] > max_log ? 1.f : 0.f;
  return ops::masked_fill(ops::exp(log_tau), over, 100.f);
}

}  // namespace

AttentionOutput cosine_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                 const std::vector<Tensor>& masks, const Tensor& log_tau,
                                 float dropout_p, bool training, Generator& gen) {
  HEED_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && q.size(-1) == k.size(-1) &&
                 k.size(2) == v.size(2),
             "cosine_attention: q ", q.shape(), ", k ", k.shape(), " and v ", v.shape(),
             " are not [batch, heads, query, d_k], [batch, heads, key, d_k], "
             "[batch, heads, key, d_v]");
  HEED_CHECK(
      log_tau.defined() && (log_tau.numel() == 1 || log_tau.shape() == Shape({q.size(1), 1, 1})),
      "cosine_attention: log_tau of shape ", log_tau.defined() ? log_tau.shape() : Shape{},
      " is neither one element nor [heads, 1, 1] = ", Shape({q.size(1), 1, 1}));
  Tensor scores = ops::matmul(unit_rows(q), unit_rows(k).transpose(-1, -2)) * temperature(log_tau);
  for (const Tensor& mask : masks)
    if (mask.defined())
      scores = ops::masked_fill(scores, mask, -std::numeric_limits<float>::infinity());
  const Tensor weights = ops::softmax(scores, -1);
  return {ops::matmul(ops::dropout(weights, dropout_p, training, gen), v), weights};
}

}  // namespace heed::nn

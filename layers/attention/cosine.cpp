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

// tau * cos(q_i, k_j): [batch, heads, query, key].
Tensor cosine_scores(const Tensor& q, const Tensor& k, const Tensor& log_tau) {
  return ops::matmul(unit_rows(q), unit_rows(k).transpose(-1, -2)) * temperature(log_tau);
}

}  // namespace

CosineAttention::CosineAttention(const HeadShape& shape)
    : AttentionMechanism(shape),
      logit_scale(
          add_parameter("logit_scale", Tensor::full({shape.num_heads, 1, 1}, std::log(10.f)))) {}

CosineAttention::CosineAttention(const HeadShape& shape, const Tensor& log_tau)
    : AttentionMechanism(shape), logit_scale(log_tau) {}

AttentionFactory CosineAttention::from_config(const Config&) {
  return [](const HeadShape& s) { return std::make_unique<CosineAttention>(s); };
}

Tensor CosineAttention::score(const Tensor& q, const Tensor& k) const {
  return cosine_scores(q, k, logit_scale);
}

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
  AttentionCall call;
  call.dropout = dropout_p, call.training = training, call.gen = &gen;
  return CosineAttention(HeadShape{q.size(1), q.size(3)}, log_tau)
      .attend_masked(q, k, v, masks, call);
}

}  // namespace heed::nn

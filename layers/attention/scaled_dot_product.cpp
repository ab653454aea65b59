#include "layers/attention/scaled_dot_product.h"

#include <cmath>
#include <limits>

#include "framework/ops.h"

namespace heed::nn {

const std::vector<std::string>& score_normalizer_names() {
  static const std::vector<std::string> names = {"softmax", "sparsemax", "topk", "hard", "gumbel"};
  return names;
}

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

Tensor gumbel_softmax(const Tensor& scores, const ScoreNormalizer& n, bool training,
                      Generator& gen) {
  HEED_CHECK(n.temperature > 0.f, "gumbel attention: temperature must be positive, got ",
             n.temperature);
  Tensor logits = scores;
  if (training) {
    // -inf + noise stays -inf, so masked keys stay masked.
    const Tensor noise = n.noise.defined() ? n.noise : ops::gumbel_noise(scores.shape(), gen);
    logits = logits + noise;
  }
  const Tensor soft = ops::softmax(logits / n.temperature, -1);
  return n.hard ? ops::straight_through_one_hot(soft) : soft;
}

}  // namespace

Tensor normalize_scores(const Tensor& scores, const ScoreNormalizer& n, bool training,
                        Generator& gen) {
  if (n.kind == "softmax") return ops::softmax(scores, -1);
  if (n.kind == "sparsemax") return ops::sparsemax(scores);
  if (n.kind == "topk")
    return ops::softmax(ops::masked_fill(scores, ops::topk_mask(scores, n.topk), -kInf), -1);
  if (n.kind == "hard") return ops::straight_through_one_hot(ops::softmax(scores, -1));
  if (n.kind == "gumbel") return gumbel_softmax(scores, n, training, gen);
  HEED_CHECK(false, "attention: score normalizer \"", n.kind,
             "\" is not one of \"softmax\", \"sparsemax\", \"topk\", \"hard\", \"gumbel\"");
  return Tensor();
}

AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const std::vector<Tensor>& masks, float dropout_p,
                                             bool training, Generator& gen, const Tensor& bias,
                                             const ScoreNormalizer& normalizer) {
  HEED_CHECK(
      q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && q.size(-1) == k.size(-1) &&
          k.size(2) == v.size(2),
      "scaled_dot_product_attention: q ", q.shape(), ", k ", k.shape(), " and v ", v.shape(),
      " are not [batch, heads, query, d_k], [batch, heads, key, d_k], [batch, heads, key, d_v]");
  const float scale = 1.f / std::sqrt(static_cast<float>(q.size(-1)));
  Tensor scores = ops::matmul(q * scale, k.transpose(-1, -2));
  if (bias.defined()) scores = scores + bias;
  for (const Tensor& mask : masks)
    if (mask.defined()) scores = ops::masked_fill(scores, mask, -kInf);
  const Tensor weights = normalize_scores(scores, normalizer, training, gen);
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

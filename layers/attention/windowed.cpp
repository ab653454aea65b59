#include "layers/attention/windowed.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "framework/ops.h"
#include "layers/attention/scaled_dot_product.h"

namespace heed::nn {

Tensor band_mask(int64_t query, int64_t key, int64_t window, bool causal) {
  HEED_CHECK(query >= 0 && key >= 0 && window >= 0, "band_mask: query ", query, ", key ", key,
             " and window ", window, " must be nonnegative");
  Tensor mask = Tensor::zeros({query, key});
  float* p = mask.data();
  for (int64_t i = 0; i < query; ++i)
    for (int64_t j = 0; j < key; ++j) {
      const int64_t offset = i - j;  // how far back key j lies from query i
      const bool outside = causal ? (offset < 0 || offset > window) : std::abs(offset) > window;
      p[i * key + j] = outside ? 1.f : 0.f;
    }
  return mask;
}

WindowedAttention::WindowedAttention(const Options& o, const HeadShape& shape)
    : AttentionMechanism(shape), options(o) {
  HEED_CHECK(o.window >= 0, "windowed attention: window must be non-negative, got ", o.window);
}

AttentionFactory WindowedAttention::from_config(const Config& c) {
  Options o;
  o.window = c.get<int64_t>("window", o.window, range::size_or_zero);
  return [o](const HeadShape& s) { return std::make_unique<WindowedAttention>(o, s); };
}

AttentionOutput WindowedAttention::attend(const Tensor& q, const Tensor& k, const Tensor& v,
                                          const AttentionCall& call) const {
  const bool causal = is_causal_mask(call.attn_mask);
  if (shape.cross || call.score_bias.defined() || (call.attn_mask.defined() && !causal) ||
      q.dim() != 4 || k.dim() != 4 || q.size(2) != k.size(2))
    return AttentionMechanism::attend(q, k, v, call);
  // A window past the sequence's end would only add keys outside it.
  const int64_t seq = q.size(2), before = std::min(options.window, std::max<int64_t>(seq - 1, 0));
  const int64_t after = causal ? 0 : before;
  const float scale = 1.f / std::sqrt(static_cast<float>(q.size(-1)));
  Tensor scores = ops::band_scores(q * scale, k, before, after);
  if (call.key_padding_mask.defined())
    scores = ops::masked_fill(scores, ops::band_key_mask(call.key_padding_mask, before, after),
                              -std::numeric_limits<float>::infinity());
  const Tensor weights = ops::softmax(scores, -1);
  const Tensor dropped = dropout_weights(weights, call);
  return {ops::band_matmul(dropped, v, before),
          call.need_weights ? ops::band_to_dense(weights, before) : Tensor()};
}

Tensor WindowedAttention::extra_mask(int64_t query, int64_t key) const {
  return shape.cross ? Tensor() : band_mask(query, key, options.window, false);
}

std::string WindowedAttention::options_repr() const {
  return ", window=" + std::to_string(options.window);
}

}  // namespace heed::nn

#include "layers/attention/topk.h"

#include <limits>

#include "framework/ops.h"

namespace heed::nn {

TopkAttention::TopkAttention(const Options& o, const HeadShape& shape)
    : AttentionMechanism(shape), options(o) {
  HEED_CHECK(o.topk >= 1, "topk attention: topk must be at least 1, got ", o.topk);
}

AttentionFactory TopkAttention::from_config(const Config& c) {
  Options o;
  o.topk = c.get<int64_t>("topk", o.topk, range::size);
  return [o](const HeadShape& s) { return std::make_unique<TopkAttention>(o, s); };
}

Tensor TopkAttention::normalize(const Tensor& scores, const AttentionCall&) const {
  const Tensor dropped = ops::topk_mask(scores, options.topk);
  return ops::softmax(ops::masked_fill(scores, dropped, -std::numeric_limits<float>::infinity()),
                      -1);
}

std::string TopkAttention::options_repr() const {
  return ", topk=" + std::to_string(options.topk);
}

}  // namespace heed::nn

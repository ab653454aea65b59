#include "layers/attention/hard.h"

#include "framework/ops.h"

namespace heed::nn {

AttentionFactory HardAttention::from_config(const Config&) {
  return [](const HeadShape& s) { return std::make_unique<HardAttention>(s); };
}

Tensor HardAttention::normalize(const Tensor& scores, const AttentionCall&) const {
  return ops::straight_through_one_hot(ops::softmax(scores, -1));
}

}  // namespace heed::nn

#include "layers/attention/sparsemax.h"

#include "framework/ops.h"

namespace heed::nn {

AttentionFactory SparsemaxAttention::from_config(const Config&) {
  return [](const HeadShape& s) { return std::make_unique<SparsemaxAttention>(s); };
}

Tensor SparsemaxAttention::normalize(const Tensor& scores, const AttentionCall&) const {
  return ops::sparsemax(scores);
}

}  // namespace heed::nn

#include "layers/linear.h"

#include <cmath>

#include "framework/ops/matmul.h"
#include "framework/random.h"

namespace heed::nn {

namespace {
constexpr int64_t kMaxWeightElements = (int64_t{1} << 31) / 4;
}  // namespace

Linear::Linear(int64_t in, int64_t out, Generator& gen, bool has_bias)
    : in_features(in), out_features(out) {
  HEED_CHECK(in > 0 && out > 0, "Linear: in_features and out_features must be positive, got ", in,
             " and ", out);
  // Debian's oneDNN 2.6 matmul segfaults on some weights beyond 2 GiB with a long in_features
  // ([10, 60217600], [64, 40000000]; every weight measured below 2 GiB ran): refuse them here.
  HEED_CHECK(in <= kMaxWeightElements / out, "Linear: a weight of [", out, ", ", in,
             "] is beyond 2 GiB (", kMaxWeightElements, " float32 values), where oneDNN 2.6's ",
             "matmul can crash");
  const float bound = 1.f / std::sqrt(static_cast<float>(in));
  weight = register_parameter("weight", Tensor::rand({out, in}, gen, -bound, bound));
  if (has_bias) bias = register_parameter("bias", Tensor::rand({out}, gen, -bound, bound));
}

Tensor Linear::forward(const Tensor& x) const {
  return ops::linear(x, weight, bias);
}

std::string Linear::repr() const {
  return "Linear(in_features=" + std::to_string(in_features) +
         ", out_features=" + std::to_string(out_features) +
         ", bias=" + (bias.defined() ? "true" : "false") + ")";
}

}  // namespace heed::nn

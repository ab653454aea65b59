#include "layers/layer_norm.h"

#include <sstream>

#include "framework/ops/norm.h"

namespace heed::nn {

LayerNorm::LayerNorm(int64_t d, float eps_) : normalized_shape(d), eps(eps_) {
  HEED_CHECK(d > 0, "LayerNorm: normalized_shape must be positive, got ", d);
  weight = register_parameter("weight", Tensor::ones({d}));
  bias = register_parameter("bias", Tensor::zeros({d}));
}

Tensor LayerNorm::forward(const Tensor& x) const {
  HEED_CHECK(x.dim() >= 1 && x.size(-1) == normalized_shape, "LayerNorm: input of shape ",
             x.shape(), " does not end in normalized_shape ", normalized_shape);
  return ops::layer_norm(x, weight, bias, eps);
}

std::string LayerNorm::repr() const {
  std::ostringstream out;
  out << "LayerNorm((" << normalized_shape << ",), eps=" << eps << ")";
  return out.str();
}

}  // namespace heed::nn

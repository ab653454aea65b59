#pragma once
// Flatten (PyTorch's nn.Flatten): merges dimensions start_dim..end_dim into one, a view when the
// input is contiguous. x [batch, channels, H, W] -> [batch, channels * H * W] with the defaults.
//
//   Flatten flatten;
//   Tensor h = flatten.forward(features);  // [batch, 3136] for [batch, 64, 7, 7]

#include "framework/module.h"
#include "framework/ops/shape.h"

namespace heed::nn {

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : start_dim(start_dim), end_dim(end_dim) {}

  /// Throws heed::Error when start_dim or end_dim is outside x's dimensions or end < start.
  Tensor forward(const Tensor& x) const {
    const int64_t start = x.wrap_dim(start_dim), end = x.wrap_dim(end_dim);
    HEED_CHECK(start <= end, "Flatten: start_dim ", start_dim, " comes after end_dim ", end_dim,
               " for input ", x.shape());
    Shape shape(x.shape().begin(), x.shape().begin() + start);
    int64_t merged = 1;
    for (int64_t d = start; d <= end; ++d) merged *= x.size(d);
    shape.push_back(merged);
    shape.insert(shape.end(), x.shape().begin() + end + 1, x.shape().end());
    return ops::reshape(x, shape);
  }

  std::string repr() const override {
    return "Flatten(start_dim=" + std::to_string(start_dim) +
           ", end_dim=" + std::to_string(end_dim) + ")";
  }

  const int64_t start_dim, end_dim;
};

}  // namespace heed::nn

#pragma once
// LayerNorm over the last dimension (Ba, Kiros & Hinton 2016; PyTorch's nn.LayerNorm with a 1-D
// normalized_shape): x [..., d] -> same shape; weight [d] = 1 and bias [d] = 0 initially.

#include "framework/module.h"

namespace heed::nn {

class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t normalized_shape, float eps = 1e-5f);
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;

  const int64_t normalized_shape;
  const float eps;
  Tensor weight, bias;
};

}  // namespace heed::nn

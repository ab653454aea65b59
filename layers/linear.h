#pragma once
// Linear: y = x W^T + b (PyTorch's nn.Linear).
//   x [..., in_features] -> y [..., out_features]; weight [out_features, in_features], bias
//   [out_features].
// Initialization as PyTorch: weight and bias ~ U(-1/sqrt(in_features), 1/sqrt(in_features)).
//
//   Linear fc(128, 10, gen);
//   Tensor logits = fc.forward(h);  // [batch, 10]

#include "framework/module.h"

namespace heed {
class Generator;
}

namespace heed::nn {

class Linear : public Module {
 public:
  /// Throws heed::Error on a non-positive size, or a weight beyond 2 GiB (oneDNN 2.6's matmul
  /// crashes on some of those).
  Linear(int64_t in_features, int64_t out_features, Generator& gen, bool bias = true);
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;

  const int64_t in_features, out_features;
  Tensor weight, bias;
};

}  // namespace heed::nn

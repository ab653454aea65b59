#pragma once
// The pooling "mean": the mean of the encoder's outputs over steps. No options, no parameters.
//   h [batch, seq, features] -> [batch, features]

#include "layers/poolings/pooling.h"

namespace heed::nn {

class MeanPooling : public Pooling {
 public:
  explicit MeanPooling(const EncoderShape& encoder) { width = encoder.features; }
  static PoolingFactory from_config(const Config& c);
  Tensor forward(const Tensor& h, const Tensor& lengths) const override;
};

}  // namespace heed::nn

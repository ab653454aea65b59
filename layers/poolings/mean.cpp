#include "layers/poolings/mean.h"

#include "framework/ops.h"

namespace heed::nn {

PoolingFactory MeanPooling::from_config(const Config&) {
  return [](const EncoderShape& encoder, Generator&) {
    return std::make_unique<MeanPooling>(encoder);
  };
}

Tensor MeanPooling::forward(const Tensor& h) const {
  return ops::mean(h, {1});
}

}  // namespace heed::nn

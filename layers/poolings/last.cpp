#include "layers/poolings/last.h"

#include "framework/ops.h"

namespace heed::nn {

LastPooling::LastPooling(const EncoderShape& encoder) : reverse_(encoder.reverse_features) {
  width = encoder.features;
}

PoolingFactory LastPooling::from_config(const Config&) {
  return [](const EncoderShape& encoder, Generator&) {
    return std::make_unique<LastPooling>(encoder);
  };
}

Tensor LastPooling::forward(const Tensor& h) const {
  if (reverse_ == 0) return h.select(1, -1);
  const int64_t forward_width = width - reverse_;
  return ops::concat({h.select(1, -1).narrow(1, 0, forward_width),
                      h.select(1, 0).narrow(1, forward_width, reverse_)},
                     1);
}

}  // namespace heed::nn

#include "layers/poolings/mean.h"

#include "framework/data.h"
#include "framework/ops.h"

namespace heed::nn {

PoolingFactory MeanPooling::from_config(const Config&) {
  return [](const EncoderShape& encoder, Generator&) {
    return std::make_unique<MeanPooling>(encoder);
  };
}

Tensor MeanPooling::forward(const Tensor& h, const Tensor& lengths) const {
  if (!lengths.defined()) return ops::mean(h, {1});
  const int64_t batch = h.size(0), seq = h.size(1);
  check_lengths("mean pooling", lengths, batch, seq);
  // Zeroing the padding (rather than multiplying by 0) keeps whatever it holds out of the sum.
  const Tensor padding = padding_mask(lengths, seq).reshape({batch, seq, 1});
  return ops::sum(ops::masked_fill(h, padding, 0.f), {1}) /
         lengths.to(Dtype::Float32).reshape({batch, 1});
}

}  // namespace heed::nn

#include "layers/poolings/last.h"

#include "framework/data.h"
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

Tensor last_steps(const Tensor& h, const Tensor& lengths) {
  if (!lengths.defined()) return h.select(1, -1);
  const int64_t batch = h.size(0), seq = h.size(1);
  check_lengths("last_steps", lengths, batch, seq);
  const std::vector<int64_t> len = lengths.to_vector_i64();
  Tensor others = Tensor::full({batch, seq, 1}, 1.f);  // nonzero = not the last real step
  for (int64_t b = 0; b < batch; ++b) others.data()[b * seq + len[b] - 1] = 0.f;
  return ops::sum(ops::masked_fill(h, others, 0.f), {1});
}

Tensor LastPooling::forward(const Tensor& h, const Tensor& lengths) const {
  if (reverse_ == 0) return last_steps(h, lengths);
  // The reverse direction starts at each sequence's own last step and ends at step 0.
  const int64_t forward_width = width - reverse_;
  return ops::concat({last_steps(h, lengths).narrow(1, 0, forward_width),
                      h.select(1, 0).narrow(1, forward_width, reverse_)},
                     1);
}

}  // namespace heed::nn

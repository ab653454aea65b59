#pragma once
// The pooling "last": the last step's output, or with a bidirectional RNN encoder the forward
// direction's last step and the reverse direction's step 0, i.e. the last layer's h_n (the
// reverse direction has read the whole sequence at step 0). No options, no parameters.
//   h [batch, seq, features] -> [batch, features]

#include "layers/poolings/pooling.h"

namespace heed::nn {

class LastPooling : public Pooling {
 public:
  explicit LastPooling(const EncoderShape& encoder);
  static PoolingFactory from_config(const Config& c);
  Tensor forward(const Tensor& h, const Tensor& lengths) const override;

 private:
  int64_t reverse_ = 0;  // the trailing reverse-direction features
};

}  // namespace heed::nn

#pragma once
// Hard attention with a straight-through estimator: the forward pass puts all weight on the
// highest-scoring key (a one-hot argmax of the softmax), the backward pass uses the softmax's
// gradient (Bengio et al. 2013's straight-through estimator). Registered as "hard"; no options.
// Shapes as layers/attention/mechanism.h.

#include "layers/attention/mechanism.h"

namespace heed::nn {

class HardAttention : public AttentionMechanism {
 public:
  using AttentionMechanism::AttentionMechanism;
  static AttentionFactory from_config(const Config& options);
  Tensor normalize(const Tensor& scores, const AttentionCall& call) const override;
};

}  // namespace heed::nn

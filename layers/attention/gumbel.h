#pragma once
// Gumbel-softmax attention (Jang et al. 2017, eq. 1): in training the weights are
// softmax((scores + g) / temperature) with g ~ Gumbel(0, 1) drawn from the run's generator, and,
// when `hard`, a straight-through one-hot of them (one-hot forward, the soft weights' gradient);
// in eval mode softmax(scores / temperature), no noise (a one-hot of it when `hard`). Masked keys
// stay masked (-inf + g = -inf). Registered as "gumbel" with options temperature (> 0) and hard.
// Shapes as layers/attention/mechanism.h.

#include "layers/attention/mechanism.h"

namespace heed::nn {

class GumbelAttention : public AttentionMechanism {
 public:
  struct Options {
    float temperature = 1.f;  // > 0
    bool hard = false;        // straight-through one-hot forward
  };
  GumbelAttention(const Options& options, const HeadShape& shape);
  static AttentionFactory from_config(const Config& options);
  Tensor normalize(const Tensor& scores, const AttentionCall& call) const override;
  std::string options_repr() const override;

  const Options options;
  /// When defined, this noise [.., query, key] (broadcast to the scores) is used instead of drawing
  /// from the generator, so that tests can feed a reference implementation's noise.
  Tensor noise;
};

}  // namespace heed::nn

#pragma once
// Stochastic hard attention trained with REINFORCE (Xu et al. 2015, "Show, Attend and Tell",
// section 4.1): in a training step each query draws one key s from its softmax weights
// p = softmax(scores) and reads that key's value alone (weights one-hot at s). The draw has no
// gradient; the layer reports log p(s), summed over its heads and queries, per example, to
// framework/score_function.h, and the trainer adds the surrogate -mean_b (R_b - b) log p(s_b)
// with R_b = log p(y_b | x_b) the model's per-example log-likelihood (eq. 10-12 without the
// entropy term). b is the moving-average baseline b <- decay b + (1 - decay) mean R (eq. 10's
// variance reduction; option baseline false: b = 0). In evaluation, or in a forward pass no
// trainer collects (inference), each query takes its most likely key (a deterministic argmax).
// Registered as "reinforce", options baseline (true) and decay (0.9, Xu et al.'s); the baseline
// is the buffer reinforce_baseline [1] (zero at start, in checkpoints). The draws come from the
// run's generator, so a resumed run draws what the uninterrupted one would. Learns only in a model
// that reports example_log_likelihood (the classifiers); elsewhere the trainer's first step
// throws naming it. Shapes as layers/attention/mechanism.h.

#include "layers/attention/mechanism.h"

namespace heed::nn {

class ReinforceAttention : public AttentionMechanism {
 public:
  struct Options {
    bool baseline = true;
    float decay = 0.9f;
  };
  ReinforceAttention(const Options& options, const HeadShape& shape);
  static AttentionFactory from_config(const Config& options);
  /// One-hot weights: sampled (training, collected) or the argmax; rows with every key masked
  /// stay all zero.
  Tensor normalize(const Tensor& scores, const AttentionCall& call) const override;
  std::string options_repr() const override;

  const Options options;
  const Tensor baseline;  // reinforce_baseline [1]
};

}  // namespace heed::nn

#pragma once
// The score-function (REINFORCE) estimator for layers that sample a discrete choice (Williams
// 1992; stochastic hard attention, Xu et al. 2015, "Show, Attend and Tell", section 4.1, eq.
// 9-12). A sampled choice has no gradient, so the layer instead reports log p(s) of what it drew,
// per example, and the loss gets the surrogate
//   surrogate = -mean_b (R_b - b) log p(s_b)        R_b = log p(y_b | s_b, x_b), detached
// whose gradient is the REINFORCE estimate of the gradient of E_s[log p(y | s, x)] with respect
// to the layer's scores (the model's own loss already carries the gradient of log p(y | s, x)
// through everything but the choice). b is the layer's baseline: a moving average of R,
// b <- decay b + (1 - decay) mean_b R_b, updated after each use (Xu et al. eq. 10: it lowers the
// estimator's variance and leaves its mean alone), or none (b = 0).
//
// The trainer collects around each training step's forward pass:
//   ScoreFunction collect;
//   ModelOutput out = model.forward(batch);       // layers call ScoreFunction::add
//   if (!collect.empty()) loss = out.loss + collect.surrogate(out.example_log_likelihood);
// Outside a collecting scope (evaluation, inference) a sampling layer takes its most likely
// choice instead. Collection is per thread.

#include <vector>

#include "framework/tensor.h"

namespace heed {

class ScoreFunction {
 public:
  /// Collects the terms added on this thread while it lives. Throws heed::Error if another
  /// ScoreFunction already collects on this thread.
  ScoreFunction();
  ~ScoreFunction();
  ScoreFunction(const ScoreFunction&) = delete;
  ScoreFunction& operator=(const ScoreFunction&) = delete;

  /// True while a ScoreFunction collects on this thread (a training step's forward pass).
  static bool collecting();
  /// Adds one sampled choice: log_prob [batch], differentiable with respect to the layer's scores;
  /// baseline a one-element float32 buffer of the layer (updated in place by surrogate()), or
  /// undefined for none; decay in [0, 1). Ignored when nothing collects.
  static void add(const Tensor& log_prob, const Tensor& baseline, float decay);

  bool empty() const { return terms_.empty(); }
  /// The surrogate over every term for reward [batch] (detached here), then each baseline moved
  /// towards mean(reward). Throws heed::Error when reward is undefined (the model reports no
  /// per-example log-likelihood, so a sampling layer cannot learn in it) or not [batch].
  Tensor surrogate(const Tensor& reward);

 private:
  struct Term {
    Tensor log_prob, baseline;
    float decay;
  };
  std::vector<Term> terms_;
};

}  // namespace heed

#pragma once
// Dynamic evaluation (Krause et al. 2018, "Dynamic Evaluation of Neural Sequence Models", ICML,
// sections 3 and 5): a language model that goes on learning from the text it is evaluated on.
// The split is read in order, one batch (window) after another; each window is first scored
// with the current parameters (that score is the result) and then the parameters take one
// gradient step on its loss, pulled back towards the trained ones θ_g:
//
//   θ ← θ − lr ∇θ L(window) + decay (θ_g − θ)
//
// (gradient descent with the "global prior" of section 5, without its RMS scaling), so every
// character is predicted before anything is learned from it: the result is a sequential,
// compression-style measure that the literature reports beside the static evaluation, never in
// its place (dynamic evaluation took text8 from 1.27 to 1.19 bits per character there). lr 0 is
// the static evaluation; decay 1 forgets each step before the next.
//
// The model runs in eval mode (no dropout or weight drop), with gradients; a model carrying
// its state across windows carries it from zeros, and its gradient stops at the window's start
// as in training (truncated BPTT). Afterwards the parameters are the trained ones again, bit for
// bit. heed eval --dynamic-lr reads the split as one stream (train.eval_batch_size 1, Krause et
// al.'s protocol); with more rows each batch's mean loss takes the step.
//
// Tune lr and decay on dev (`heed eval RUN --split dev --dynamic-lr ...`), then read test once.

#include <map>
#include <string>

#include "framework/data.h"
#include "framework/model.h"

namespace heed {

struct DynamicEvaluationOptions {
  double lr = 0;     // the step size of the gradient step after each window, >= 0
  double decay = 0;  // the pull back towards the trained parameters per window, in [0, 1]
  /// Throws heed::Error naming the option that is out of range.
  void check() const;
};

/// Sums over a split, as an evaluation adds them: the loss (its sum and count) and the metrics.
struct DynamicEvaluationTotals {
  Metric loss;
  std::map<std::string, Metric> metrics;
  int64_t samples = 0;
};

/// Dynamic evaluation of `model` on `data`, read in order in batches of `batch_size` examples
/// (the model's carried state reset by the caller). Leaves the model in eval mode with its
/// parameters restored and no gradients. Throws heed::Error from check() and as the model's
/// forward does.
DynamicEvaluationTotals dynamic_evaluation(Model& model, const Dataset& data, int64_t batch_size,
                                           const DynamicEvaluationOptions& options);

}  // namespace heed

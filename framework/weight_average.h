#pragma once
// Averaged weights: a running average of a model's parameters kept beside them, as PyTorch 1.13's
// torch.optim.swa_utils.AveragedModel keeps it, evaluated in their place.
//
// After every optimizer step past `start_step`, update(params) folds the parameters p into the
// average a (n: the updates so far):
//   n = 0:          a = p                                  (the first update copies)
//   method "swa":   a = a + (p - a) / (n + 1)              (the equal average of the updates:
//                   Izmailov et al. 2018, "Averaging Weights Leads to Wider Optima and Better
//                   Generalization", eq. 1; AveragedModel's default avg_fn; Polyak averaging)
//   method "ema":   a = decay * a + (1 - decay) * p        (exponential moving average, the
//                   avg_fn of AveragedModel's EMA example)
// in float32, element by element, as AveragedModel computes them. Buffers (batch norm's running
// statistics) are not averaged: the model's own are used, as AveragedModel(use_buffers=False)
// does before torch.optim.swa_utils.update_bn.
//
// The trainer (framework/trainer.h) evaluates dev and test with the average swapped in, and saves
// it in every checkpoint (/averaged_model, docs/checkpoint.md) with n in the train state, so a
// resumed run averages on exactly as an uninterrupted one.
//
//   WeightAverage average({"ema", 0.999, 0}, model.named_parameters());
//   ... optimizer.step(); average.update(step);
//   { SwappedIn in(&average); evaluate(...); }  // the average in, then the weights back

#include <nlohmann/json.hpp>
#include <string>

#include "framework/config.h"
#include "framework/module.h"

namespace heed {

/// The recipe's train.weight_average (docs/recipes.md).
struct WeightAverageOptions {
  std::string method = "ema";  // "ema" | "swa"
  double decay = 0.999;        // ema's weight of the old average, in [0, 1)
  int64_t start_step = 0;      // the average folds in the weights after each step > start_step
  /// From the train.weight_average object; throws heed::RecipeError naming a bad key or value.
  static WeightAverageOptions from_config(const Config& config);
};

class WeightAverage {
 public:
  /// An average of `params` (a model's named_parameters; the tensors are shared, not copied),
  /// empty until the first update.
  WeightAverage(WeightAverageOptions options, const StateDict& params);

  /// Folds the parameters in after optimizer step `step` (1 for the first) when step >
  /// start_step; does nothing before.
  void update(int64_t step);
  /// Exchanges the parameters' values with the average's (a no-op while it is empty): called
  /// twice, it puts everything back bit for bit.
  void swap();
  /// Updates folded in so far (AveragedModel's n_averaged).
  int64_t count() const { return count_; }
  /// The average by parameter name; empty until the first update.
  const StateDict& averaged() const { return averaged_; }
  /// {"method", "n_averaged"} for the checkpoint's train state.
  nlohmann::json state_dict() const;
  /// Restores the count and the averaged tensors saved beside it. Throws heed::Error when the
  /// state is another method's, or the tensors are missing (n_averaged > 0), present with
  /// n_averaged 0, or not the parameters' names and shapes.
  void load_state_dict(const nlohmann::json& state, const StateDict& averaged);
  std::string repr() const;

 private:
  WeightAverageOptions o_;
  StateDict params_;
  StateDict averaged_;
  int64_t count_ = 0;
};

/// `averaged` (a checkpoint's /averaged_model, which lists its tensors by name in its own order)
/// in the order of `params`, tensors shared; throws heed::Error naming a parameter it has no
/// tensor for or one of another shape, or when it has more tensors than `params`.
StateDict in_parameter_order(const StateDict& params, const StateDict& averaged);

/// The average swapped into the parameters for this scope (nothing when `average` is null), and
/// the weights back when it ends, an exception included.
class SwappedIn {
 public:
  explicit SwappedIn(WeightAverage* average) : average_(average) {
    if (average_) average_->swap();
  }
  ~SwappedIn() {
    if (average_) average_->swap();
  }
  SwappedIn(const SwappedIn&) = delete;
  SwappedIn& operator=(const SwappedIn&) = delete;

 private:
  WeightAverage* average_;
};

}  // namespace heed

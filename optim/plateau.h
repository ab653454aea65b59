#pragma once
// ReduceLROnPlateau: divides the learning rate when an evaluation metric stops improving, exactly
// as PyTorch 1.13's torch.optim.lr_scheduler.ReduceLROnPlateau decides it.
//
// At each evaluation with metric value v (mode "min": lower is better; "max": higher):
//   better = v < best * (1 - threshold)   (min, "rel")     v < best - threshold   (min, "abs")
//            v > best * (1 + threshold)   (max, "rel")     v > best + threshold   (max, "abs")
//   if better: best = v, num_bad_epochs = 0, else num_bad_epochs += 1
//   in cooldown (cooldown_counter > 0): cooldown_counter -= 1, num_bad_epochs = 0
//   if num_bad_epochs > patience: each group's lr becomes max(lr * factor, min_lr) (unless that
//     changes it by eps or less), cooldown_counter = cooldown, num_bad_epochs = 0
// heed keeps the reductions as a per-group multiplier on what the other schedule gives, so it
// composes with a warm-up or a cosine (PyTorch chains them through the optimizer's lr); alone,
// the lrs are PyTorch's.
//
// State (checkpointed): best, num_bad_epochs, cooldown_counter, last_epoch, and the multipliers.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace heed::optim {

struct ReduceLROnPlateauOptions {
  /// The evaluation metric to watch ("loss", "accuracy", ...).
  std::string metric = "loss";
  /// "min" or "max": whether lower or higher values are better.
  std::string mode = "min";
  /// The lr is multiplied by factor at each reduction. Must be in (0, 1).
  double factor = 0.1;
  /// Evaluations without improvement tolerated before a reduction.
  int64_t patience = 10;
  /// The margin an improvement must beat, relative ("rel") or absolute ("abs").
  double threshold = 1e-4;
  std::string threshold_mode = "rel";
  /// Evaluations after a reduction during which bad ones are not counted.
  int64_t cooldown = 0;
  /// No reduction goes below this lr.
  double min_lr = 0;
  /// A reduction smaller than eps is skipped.
  double eps = 1e-8;
};

class ReduceLROnPlateau {
 public:
  /// Throws heed::Error naming a bad option ("ReduceLROnPlateau: factor should be < 1.0, got 2").
  ReduceLROnPlateau(ReduceLROnPlateauOptions options, size_t num_groups);

  /// Feeds one evaluation's metric; `lrs` are the groups' current lrs, and the reductions are
  /// decided on them.
  void step(double metric, const std::vector<double>& lrs);
  /// The lr of `group` given the other schedule's `scheduled` lr.
  double lr(size_t group, double scheduled) const;

  const ReduceLROnPlateauOptions& options() const { return o_; }
  /// {"best", "num_bad_epochs", "cooldown_counter", "last_epoch", "scales"}; best is null while
  /// no metric has been seen (PyTorch's +-inf).
  nlohmann::json state_dict() const;
  /// Throws heed::Error when a key is missing or the group count differs.
  void load_state_dict(const nlohmann::json& state);
  std::string repr() const;

 private:
  bool is_better(double v) const;

  ReduceLROnPlateauOptions o_;
  bool has_best_ = false;
  double best_ = 0;
  int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
  std::vector<double> scales_;
};

}  // namespace heed::optim

#pragma once
// Learning-rate schedules: the curves of torch.optim.lr_scheduler, each a closed form
// lr(base_lr, t) of a parameter group's base lr and the number t of scheduler steps taken
// (PyTorch's last_epoch). The LRScheduler (lr_scheduler.h) applies a curve to every group of an
// optimizer after each step or epoch; ReduceLROnPlateau (plateau.h) is event-driven instead.
// A schedule may also set each group's momentum, again a closed form momentum(group, t)
// (OneCycleLR's cycle_momentum; Optimizer::set_momentum says what momentum means per optimizer).
//
// PyTorch computes most of these recursively (lr_t from lr_{t-1}); the closed forms agree with
// it to double rounding (tests/optim/test_schedules.cpp checks 20 steps against PyTorch to 1e-5
// relative), and they make a schedule's whole state one integer, so resuming cannot drift.
//
//   auto cosine = std::make_unique<optim::CosineAnnealingLR>(1000, 0.0);
//   optim::LinearWarmup schedule(100, 0.01, std::move(cosine));
//   double lr = schedule.lr(3e-4, step);

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace heed::optim {

class Schedule {
 public:
  virtual ~Schedule() = default;
  /// The lr of a group whose base lr is `base` after `t` >= 0 scheduler steps.
  virtual double lr(double base, int64_t t) const = 0;
  /// The recipe name, "cosine", or "warmup>cosine" for a warm-up with its "after" schedule; a
  /// checkpoint keeps it, so a resumed run with another schedule is refused.
  virtual std::string name() const = 0;
  /// One line: "CosineAnnealingLR(T_max=1000, eta_min=0)".
  virtual std::string repr() const = 0;

  /// Whether the schedule also sets every group's momentum (OneCycleLR with cycle_momentum).
  virtual bool cycles_momentum() const { return false; }
  /// The momentum of parameter group `group` after `t` >= 0 scheduler steps, for a schedule that
  /// cycles_momentum(); throws heed::Error for one that does not.
  virtual double momentum(size_t group, int64_t t) const;
};

/// StepLR: base * gamma^floor(t / step_size). Throws heed::Error unless step_size >= 1.
class StepLR : public Schedule {
 public:
  StepLR(int64_t step_size, double gamma = 0.1);
  double lr(double base, int64_t t) const override;
  std::string name() const override { return "step"; }
  std::string repr() const override;

 private:
  int64_t step_size_;
  double gamma_;
};

/// MultiStepLR: base * gamma^(number of milestones <= t). Milestones must be increasing.
class MultiStepLR : public Schedule {
 public:
  MultiStepLR(std::vector<int64_t> milestones, double gamma = 0.1);
  double lr(double base, int64_t t) const override;
  std::string name() const override { return "multi_step"; }
  std::string repr() const override;

 private:
  std::vector<int64_t> milestones_;
  double gamma_;
};

/// ExponentialLR: base * gamma^t.
class ExponentialLR : public Schedule {
 public:
  explicit ExponentialLR(double gamma);
  double lr(double base, int64_t t) const override;
  std::string name() const override { return "exponential"; }
  std::string repr() const override;

 private:
  double gamma_;
};

/// CosineAnnealingLR (Loshchilov & Hutter 2017, "SGDR", eq. 5 without restarts):
/// eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2. Past T_max it rises again, as
/// PyTorch's does. Throws heed::Error unless T_max >= 1.
class CosineAnnealingLR : public Schedule {
 public:
  CosineAnnealingLR(int64_t T_max, double eta_min = 0);
  double lr(double base, int64_t t) const override;
  std::string name() const override { return "cosine"; }
  std::string repr() const override;

 private:
  int64_t T_max_;
  double eta_min_;
};

/// CosineAnnealingWarmRestarts (SGDR, eq. 5): the cosine over a period T_i that restarts at
/// base; the first period is T_0 steps, each next one T_mult times longer.
class CosineAnnealingWarmRestarts : public Schedule {
 public:
  CosineAnnealingWarmRestarts(int64_t T_0, int64_t T_mult = 1, double eta_min = 0);
  double lr(double base, int64_t t) const override;
  std::string name() const override { return "cosine_warm_restarts"; }
  std::string repr() const override;

 private:
  int64_t T_0_, T_mult_;
  double eta_min_;
};

/// Linear warm-up, then another schedule: PyTorch's SequentialLR([LinearLR(start_factor,
/// end_factor=1, total_iters=warmup_steps), after], milestones=[warmup_steps]). For t <
/// warmup_steps, base * (start_factor + (1 - start_factor) * t / warmup_steps); from then on
/// after->lr(base, t - warmup_steps), so `after` starts from its own step 0 (base lr). Without
/// `after`, the lr stays at base. When `after` cycles the momentum, the warm-up holds its value
/// at after's step 0 (in PyTorch, OneCycleLR's constructor sets it and only LinearLR steps).
class LinearWarmup : public Schedule {
 public:
  LinearWarmup(int64_t warmup_steps, double start_factor, std::unique_ptr<Schedule> after);
  double lr(double base, int64_t t) const override;
  std::string name() const override;
  std::string repr() const override;
  bool cycles_momentum() const override { return after_ && after_->cycles_momentum(); }
  double momentum(size_t group, int64_t t) const override;

 private:
  int64_t warmup_steps_;
  double start_factor_;
  std::unique_ptr<Schedule> after_;
};

/// The Transformer's schedule (Vaswani et al. 2017, Section 5.3, eq. 3) with s = t + 1 (the
/// number of the step about to be taken, so the first step's lr is not 0):
///   base * scale * min(s / warmup_steps, sqrt(warmup_steps / s))
/// a linear rise to base * scale at s = warmup_steps, then decay with 1/sqrt(s). "noam" sets
/// scale = factor * d_model^-0.5 * warmup_steps^-0.5, which is the paper's
/// factor * d_model^-0.5 * min(s^-0.5, s * warmup_steps^-1.5); "inverse_sqrt" sets scale = 1
/// (fairseq's inverse_sqrt with warmup_init_lr = 0: the peak is the optimizer's lr).
class InverseSqrtLR : public Schedule {
 public:
  InverseSqrtLR(std::string name, int64_t warmup_steps, double scale);
  double lr(double base, int64_t t) const override;
  std::string name() const override { return name_; }
  std::string repr() const override;

 private:
  std::string name_;
  int64_t warmup_steps_;
  double scale_;
};

/// OneCycleLR (Smith & Topin 2019, "Super-Convergence", Section 3 and 4.1), exactly as PyTorch
/// 1.13's: the lr goes from max_lr / div_factor up to max_lr over pct_start * total_steps steps,
/// then down to max_lr / div_factor / final_div_factor at step total_steps - 1 ("cos" or
/// "linear" annealing); with three_phase, up, back down to the start, then to the minimum.
/// max_lr <= 0 means each group's base lr.
///
/// With cycle_momentum (PyTorch's default), the momentum runs inversely to the lr: from
/// max_momentum at step 0 down to base_momentum at the lr's peak, then back up to max_momentum
/// at the end (three_phase: back up by the end of the second phase, held during the third), with
/// the same annealing. base_momentum and max_momentum hold one value for every group or one per
/// group, as PyTorch's lists. The optimizer must have a momentum (Optimizer::has_momentum:
/// SGD's and RMSprop's momentum, Adam's and AdamW's beta1), which the LRScheduler checks.
///
/// At t = total_steps (after the last step) the final lr and momentum are held; stepping further
/// throws heed::Error, as in PyTorch.
class OneCycleLR : public Schedule {
 public:
  struct Options {
    int64_t total_steps = 0;
    double max_lr = 0;  // <= 0: the group's base lr
    double pct_start = 0.3;
    bool cos = true;  // anneal_strategy "cos", else "linear"
    double div_factor = 25;
    double final_div_factor = 1e4;
    bool three_phase = false;
    bool cycle_momentum = true;
    std::vector<double> base_momentum = {0.85};  // the momentum at the lr's peak
    std::vector<double> max_momentum = {0.95};   // the momentum at the start and the end
  };
  /// Throws heed::Error on total_steps < 1, pct_start outside [0, 1], a non-positive
  /// div_factor or final_div_factor, or an empty base_momentum or max_momentum.
  explicit OneCycleLR(Options options);
  double lr(double base, int64_t t) const override;
  std::string name() const override { return "one_cycle"; }
  std::string repr() const override;
  bool cycles_momentum() const override { return o_.cycle_momentum; }
  /// Throws heed::Error when a per-group list has no value for `group`.
  double momentum(size_t group, int64_t t) const override;

 private:
  /// The phase that step t falls in and the fraction of it done (PyTorch's walk over its
  /// _schedule_phases in get_lr), capped at 1 after the last step.
  struct Position {
    size_t phase;
    double pct;
  };
  Position position(int64_t t) const;
  /// From `start` (pct = 0) to `end` (pct = 1), by the anneal strategy.
  double anneal(double start, double end, double pct) const;
  double of_group(const std::vector<double>& values, const char* key, size_t group) const;

  Options o_;
};

}  // namespace heed::optim

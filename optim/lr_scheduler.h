#pragma once
// LRScheduler: drives an optimizer's learning rates from a schedule (schedule.h) and/or
// ReduceLROnPlateau (plateau.h), as a recipe's "schedule" section describes; the implementation
// of heed::LRScheduler (framework/optimizer.h), over any heed::Optimizer.
//
// Like torch.optim.lr_scheduler, it remembers each group's lr at construction as that group's
// base lr, sets the lr of step 0 at once, and after each step (interval "step") or epoch
// (interval "epoch") sets every group's lr to schedule.lr(base_lr, t), then applies the plateau
// reductions. So the lr used by a run's optimizer step k is the schedule's value at k (interval
// "step"), as with PyTorch's optimizer.step(); scheduler.step() loop. A schedule that cycles the
// momentum (OneCycleLR's cycle_momentum) has it set the same way: each group's momentum is
// schedule.momentum(group, t) from construction on, after each step, and after
// load_state_dict, so a resumed run continues with the momentum of its t.
//
// State (checkpointed): the schedule's name, t, and the plateau's state. The base lrs and all
// options come from the recipe, so a resumed run may change them (recipe values win), but not
// the kind of schedule: load_state_dict refuses a state saved with another one.
//
//   optim::LRScheduler scheduler(opt, std::make_unique<optim::CosineAnnealingLR>(1000),
//                                optim::LRScheduler::Interval::Step, nullptr);
//   for (...) { loss.backward(); opt.step(); opt.zero_grad(); scheduler.on_step(); }

#include <memory>
#include <nlohmann/json.hpp>

#include "framework/optimizer.h"
#include "optim/plateau.h"
#include "optim/schedule.h"

namespace heed::optim {

class LRScheduler : public heed::LRScheduler {
 public:
  enum class Interval { Step, Epoch };

  /// `schedule` and `plateau` may each be null (a constant lr, or no plateau reductions).
  /// Sets the optimizer's lrs (and momenta) for step 0. Throws heed::Error when the schedule
  /// cycles the momentum and the optimizer has none (Adagrad), naming the optimizer.
  LRScheduler(heed::Optimizer& optimizer, std::unique_ptr<Schedule> schedule, Interval interval,
              std::unique_ptr<ReduceLROnPlateau> plateau);

  /// After each optimizer step: advances the schedule when its interval is "step".
  void on_step() override;
  /// After each epoch: advances the schedule when its interval is "epoch".
  void on_epoch() override;
  /// After each evaluation (a JSON object of metrics, e.g. {"loss": 0.4, "accuracy": 0.86}):
  /// feeds the plateau its metric. Throws heed::Error naming the metric and the available ones
  /// when it is missing.
  void on_eval(const nlohmann::json& metrics) override;

  /// Scheduler steps taken (PyTorch's last_epoch).
  int64_t t() const { return t_; }
  /// Whether a reduce_on_plateau watches the evaluations.
  bool has_plateau() const override { return plateau_ != nullptr; }
  /// Whether the schedule sets the optimizer's momentum too.
  bool cycles_momentum() const override { return schedule_ && schedule_->cycles_momentum(); }
  /// {"name": ..., "t": ..., "plateau": {...}}.
  nlohmann::json state_dict() const override;
  /// Restores t and the plateau and sets the optimizer's lrs. Throws heed::Error when the state
  /// was saved with another schedule or without/with a plateau that this one has not/has.
  void load_state_dict(const nlohmann::json& state) override;
  /// "LRScheduler(interval=step, CosineAnnealingLR(T_max=1000, eta_min=0), ReduceLROnPlateau(...))"
  std::string repr() const override;

 private:
  void apply();
  std::string name() const;

  heed::Optimizer* optimizer_;
  std::unique_ptr<Schedule> schedule_;
  Interval interval_;
  std::unique_ptr<ReduceLROnPlateau> plateau_;
  std::vector<double> base_lrs_;
  int64_t t_ = 0;
};

}  // namespace heed::optim

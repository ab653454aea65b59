#pragma once
// Optimizer, LRScheduler, EarlyStopping: the interfaces through which the trainer drives training,
// beside Model (framework/model.h), the interface of what it trains.
//
// framework/ includes nothing from optim/, layers/ or datasets/ (docs/design.md, "Layering"). The
// trainer gets these three from the builders framework/registry.h declares (build_optimizer,
// build_scheduler, build_early_stopping), which optim/registry.cpp defines; optim/ implements them
// (optim::Optimizer, the base of SGD, Adam, ..., in optim/optimizer.h; optim::LRScheduler in
// optim/lr_scheduler.h; optim::EarlyStopping in optim/early_stopping.h, where their contracts and
// checkpointed state are documented). Each interface holds only what the trainer calls, and for
// the optimizer also what a schedule sets (each group's lr and momentum), so optim::LRScheduler
// drives any Optimizer. The update rules, the per-parameter state, the schedules and the stopping
// rule stay in optim/. Gradient clipping needs no object: it is a plain function over the
// parameters (framework/clip.h).
//
// These are abstract classes with one implementation each today; their calls are a few per step,
// so the virtual dispatch costs nothing measurable and changes no number.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "framework/module.h"

namespace heed {

/// Updates a model's parameters from their gradients, in parameter groups (optim/optimizer.h).
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  /// One update of every parameter whose grad() is defined.
  virtual void step() = 0;
  /// Drops every parameter's gradient.
  virtual void zero_grad() = 0;
  /// The parameters of all groups (shared handles, group by group).
  virtual const StateDict& params() const = 0;

  virtual size_t num_groups() const = 0;
  /// The learning rate of `group`.
  virtual double lr(size_t group) const = 0;
  /// The learning rate of group 0.
  double lr() const { return lr(0); }
  /// Sets the learning rate of `group` for the next step() (what a schedule does).
  virtual void set_lr(size_t group, double lr) = 0;
  /// Whether the optimizer has a momentum a schedule may set (SGD's momentum, Adam's beta1).
  virtual bool has_momentum() const = 0;
  /// That momentum of `group`; throws heed::Error when has_momentum() is false.
  virtual double momentum(size_t group) const = 0;
  /// Sets that momentum of `group` for the next step().
  virtual void set_momentum(size_t group, double m) = 0;

  /// The optimizer's name in messages: "SGD", "Adam", ...
  virtual const std::string& type() const = 0;
  /// One line with the hyper-parameters and the current lr, for `--dry-run`.
  virtual std::string repr() const = 0;
  /// A snapshot of the state (moments, step counts) by parameter name, for checkpoints.
  virtual StateDict state_dict() const = 0;
  /// Replaces the whole state; throws heed::Error and changes nothing when it does not fit.
  virtual void load_state_dict(const StateDict& state) = 0;
};

/// Sets an optimizer's learning rates (and momenta) along a schedule, and reduces them on a
/// plateau of the evaluations (optim/lr_scheduler.h).
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;

  /// After each optimizer step.
  virtual void on_step() = 0;
  /// After each epoch.
  virtual void on_epoch() = 0;
  /// After each evaluation (a JSON object of metrics); throws heed::Error when the watched
  /// metric is missing.
  virtual void on_eval(const nlohmann::json& metrics) = 0;
  /// Whether a reduce_on_plateau watches the evaluations (it needs a dev split).
  virtual bool has_plateau() const = 0;
  /// Whether the schedule sets the optimizer's momentum too (the trainer then logs it).
  virtual bool cycles_momentum() const = 0;

  /// The state a resumed run continues from, for checkpoints.
  virtual nlohmann::json state_dict() const = 0;
  /// Throws heed::Error when `state` was saved by another kind of schedule.
  virtual void load_state_dict(const nlohmann::json& state) = 0;
  /// One line for `--dry-run`.
  virtual std::string repr() const = 0;
};

/// Ends a run when an evaluation metric stops improving (optim/early_stopping.h).
class EarlyStopping {
 public:
  virtual ~EarlyStopping() = default;

  /// Feeds one evaluation's metrics; returns true when the run should stop.
  virtual bool step(const nlohmann::json& metrics) = 0;
  /// Whether the last step() improved the best value (the trainer then keeps best.h5).
  virtual bool improved() const = 0;

  /// The state a resumed run continues from, for checkpoints.
  virtual nlohmann::json state_dict() const = 0;
  /// Throws heed::Error when the state watched another metric or is malformed.
  virtual void load_state_dict(const nlohmann::json& state) = 0;
};

}  // namespace heed

#pragma once
// Optimizer: the base of every optimizer (SGD, Adam, ...).
//
// It holds the model's parameters with their names (`model.named_parameters()`, PyTorch's dotted
// keys) and keeps each parameter's state (Adam's moments, SGD's momentum buffer) under that NAME,
// never under a position or an address. A checkpoint's optimizer state therefore lands on the
// right parameter whatever order a model lists its parameters in, and a renamed or removed
// parameter is a loud error instead of a silent mix-up of two same-shaped moment tensors.
//
//   optim::Adam opt(model.named_parameters(), {.lr = 3e-4});
//   loss.backward(); opt.step(); opt.zero_grad();
//   StateDict saved = opt.state_dict();  // {"encoder.weight.step", "encoder.weight.exp_avg", ...}
//
// State dict layout. One entry per (parameter, state), named "<parameter name>.<state name>",
// ordered by parameter (in the order given to the constructor), then by the optimizer's state
// order (Adam: step, exp_avg, exp_avg_sq[, max_exp_avg_sq]; SGD: momentum_buffer):
//   - tensor states ("exp_avg", ...) are float32 with the parameter's shape;
//   - the per-parameter step count "step" is an int64 scalar (shape []). PyTorch 1.13 keeps it
//     in a float32 tensor, which stops counting at 2^24 steps; int64 is exact.
// As in PyTorch, a parameter's state is created at its first step with a gradient, so a
// parameter that has not been stepped yet has no entries at all. Hyper-parameters (lr, betas,
// ...) are not part of the state dict: they come from the recipe and, for lr, from the schedule.
//
// Thread-safety: none; one optimizer is stepped by one thread (its kernels use OpenMP inside).

#include <map>
#include <string>
#include <vector>

#include "framework/module.h"

namespace heed::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter whose grad() is defined. Parameters without a gradient are
  /// skipped, and their state (step count included) is left as it is, as in PyTorch.
  virtual void step() = 0;
  /// Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();

  double lr() const { return lr_; }
  /// Sets the learning rate used by the next step() (for schedules). Throws heed::Error unless
  /// lr is finite and >= 0.
  void set_lr(double lr);

  /// One line with the hyper-parameters and the current lr:
  /// "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=false)".
  virtual std::string repr() const = 0;

  /// The parameters as given to the constructor (shared handles, in that order).
  const StateDict& params() const { return params_; }

  /// A snapshot (copies) of the state in the layout described at the top of this file, so later
  /// steps do not change a state dict already taken.
  StateDict state_dict() const;
  /// Replaces the whole state with copies of `state`. Strict: throws heed::Error listing every
  /// unexpected key (unknown parameter or state name), missing key (a parameter with some of its
  /// states but not all; a parameter with none has not been stepped) and mis-shaped key (wrong
  /// shape or dtype, negative step), and changes nothing in that case.
  void load_state_dict(const StateDict& state);

 protected:
  /// How a state entry is shaped: a float32 tensor like its parameter, or an int64 step count.
  enum class StateKind { LikeParam, StepCount };
  struct StateSpec {
    std::string name;  // no dots, so "<parameter>.<state>" splits at the last one
    StateKind kind;
  };
  /// One parameter's state by state name, e.g. {"exp_avg": ..., "step": ...}.
  using ParamState = std::map<std::string, Tensor>;

  /// `type` names the optimizer in error messages ("Adam: invalid learning rate: -1"). Checks lr
  /// and the parameters: at least one, unique non-empty names, distinct tensors, float32 and
  /// contiguous. `state_spec` lists the state every stepped parameter has, in state dict order.
  Optimizer(std::string type, StateDict params, double lr, std::vector<StateSpec> state_spec);

  /// The state of parameter `name`, or nullptr before that parameter's first step.
  ParamState* find_state(const std::string& name);
  /// The state of parameter `name`, created on first use as zeros (step count 0).
  ParamState& state(const std::string& name);
  /// `param`'s gradient as a contiguous float32 tensor, or an undefined tensor when it has none.
  static Tensor grad_of(const Tensor& param);

  const std::string& type() const { return type_; }

 private:
  std::string type_;
  StateDict params_;
  std::map<std::string, Tensor> param_by_name_;
  double lr_;
  std::vector<StateSpec> state_spec_;
  std::map<std::string, ParamState> state_;  // by parameter name
};

}  // namespace heed::optim

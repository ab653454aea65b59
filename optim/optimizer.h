#pragma once
// Optimizer: the base of every optimizer (SGD, Adam, ...), implementing the interface the trainer
// and the schedules drive (heed::Optimizer, framework/optimizer.h).
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
// Parameter groups (PyTorch's param_groups). Every parameter belongs to exactly one group, and
// each group has its own options (lr, weight_decay, momentum, betas, ...), typically to keep
// weight decay off biases and norms. Group 0 is the first one given; schedules set each group's
// lr from that group's base lr, as torch.optim.lr_scheduler does. Group membership and options
// come from the recipe, so they are not part of the state dict either.
//
// Momentum (for schedules that cycle it, PyTorch's OneCycleLR cycle_momentum). SGD's and
// RMSprop's `momentum` and Adam's and AdamW's beta1 (`betas[0]`) are what OneCycleLR sets in
// PyTorch (group['momentum'], else group['betas'][0]); has_momentum(), momentum(group) and
// set_momentum(group, m) expose them per group. Adagrad has neither. Like the lr, the current
// momentum comes from the recipe and the schedule's t, so it is not in the state dict; a state
// that exists only with momentum (SGD's and RMSprop's "momentum_buffer") joins a group's state
// when set_momentum makes its momentum non-zero, and stays when it returns to 0 (PyTorch keeps
// the buffer), so a resumed run accepts the buffers its checkpoint holds once its schedule has
// set the momentum again.
//
// Thread-safety: none; one optimizer is stepped by one thread (its kernels use OpenMP inside).

#include <map>
#include <string>
#include <vector>

#include "framework/module.h"
#include "framework/optimizer.h"

namespace heed::optim {

/// One parameter group as an optimizer's constructor takes it: named parameters and the options
/// they are updated with (SGDOptions, AdamOptions, ...).
template <class Options>
struct ParamGroup {
  StateDict params;
  Options options;
};

class Optimizer : public heed::Optimizer {
 public:
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter whose grad() is defined. Parameters without a gradient are
  /// skipped, and their state (step count included) is left as it is, as in PyTorch.
  void step() override = 0;
  /// Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad() override;

  /// The learning rate of group 0 (of the only group, unless groups were given).
  double lr() const { return groups_.front().lr; }
  /// The learning rate of `group`.
  double lr(size_t group) const override { return groups_.at(group).lr; }
  /// Sets the learning rate of every group, used by the next step(). Throws heed::Error unless
  /// lr is finite and >= 0.
  void set_lr(double lr);
  /// Sets the learning rate of one group (what a schedule does).
  void set_lr(size_t group, double lr) override;
  size_t num_groups() const override { return groups_.size(); }
  /// The parameters of `group`, in the order given.
  const StateDict& group_params(size_t group) const { return groups_.at(group).params; }

  /// Whether the optimizer has a momentum a schedule may set (see the top of this file): SGD,
  /// RMSprop, Adam and AdamW do, Adagrad does not.
  bool has_momentum() const override { return false; }
  /// SGD's and RMSprop's momentum, or Adam's and AdamW's beta1, of `group`. Throws heed::Error
  /// when has_momentum() is false.
  double momentum(size_t group) const override;
  /// Sets that momentum of `group` for the next step() (what OneCycleLR does). Throws
  /// heed::Error when has_momentum() is false, or when `m` fails the constructor's check (SGD and
  /// RMSprop: m >= 0; Adam: 0 <= beta1 < 1), with the constructor's message.
  void set_momentum(size_t group, double m) override;

  /// The optimizer's name in messages: "SGD", "Adam", ...
  const std::string& type() const override { return type_; }

  /// One line with the hyper-parameters and the current lr:
  /// "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=false)"; with
  /// several groups, each group's options after its number and parameter count:
  /// "AdamW(group 0 [4 params]: lr=0.001, ...; group 1 [2 params]: lr=0.001, ...)".
  std::string repr() const override;

  /// The parameters of all groups (shared handles, group by group, each in the order given).
  const StateDict& params() const override { return params_; }

  /// A snapshot (copies) of the state in the layout described at the top of this file, so later
  /// steps do not change a state dict already taken.
  StateDict state_dict() const override;
  /// Replaces the whole state with copies of `state`. Strict: throws heed::Error listing every
  /// unexpected key (unknown parameter or state name), missing key (a parameter with some of its
  /// states but not all; a parameter with none has not been stepped) and mis-shaped key (wrong
  /// shape or dtype, negative step), and changes nothing in that case.
  void load_state_dict(const StateDict& state) override;

 protected:
  /// How a state entry is shaped: a float32 tensor like its parameter, or an int64 step count.
  enum class StateKind { LikeParam, StepCount };
  struct StateSpec {
    std::string name;  // no dots, so "<parameter>.<state>" splits at the last one
    StateKind kind;
    float initial = 0;  // LikeParam's first value (Adagrad's initial_accumulator_value)
  };
  /// One parameter's state by state name, e.g. {"exp_avg": ..., "step": ...}.
  using ParamState = std::map<std::string, Tensor>;

  /// One group's parameters, lr and the state each of its stepped parameters has.
  struct GroupSpec {
    StateDict params;
    double lr;
    std::vector<StateSpec> state_spec;
  };

  /// `type` names the optimizer in error messages ("Adam: invalid learning rate: -1"). Checks lr
  /// and the parameters: at least one, unique non-empty names, distinct tensors, float32 and
  /// contiguous. `state_spec` lists the state every stepped parameter has, in state dict order.
  Optimizer(std::string type, StateDict params, double lr, std::vector<StateSpec> state_spec);
  /// The same with parameter groups (a group may be empty, not all of them).
  Optimizer(std::string type, std::vector<GroupSpec> groups);

  /// The GroupSpecs and the options of typed groups, for the derived constructors;
  /// `state_spec(options)` lists a group's state.
  template <class Options, class SpecFn>
  static std::vector<GroupSpec> group_specs(const std::vector<ParamGroup<Options>>& groups,
                                            SpecFn state_spec) {
    std::vector<GroupSpec> out;
    for (const auto& g : groups) out.push_back({g.params, g.options.lr, state_spec(g.options)});
    return out;
  }
  template <class Options>
  static std::vector<Options> options_of(const std::vector<ParamGroup<Options>>& groups) {
    std::vector<Options> out;
    for (const auto& g : groups) out.push_back(g.options);
    return out;
  }

  /// "lr=0.001, betas=(0.9, 0.999), ..." for `group`, the inside of repr().
  virtual std::string options_repr(size_t group) const = 0;

  /// The state of parameter `name`, or nullptr before that parameter's first step.
  ParamState* find_state(const std::string& name);
  /// The state of parameter `name`, created on first use as zeros (step count 0) or the
  /// spec's initial value.
  ParamState& state(const std::string& name);
  /// `param`'s gradient as a contiguous float32 tensor, or an undefined tensor when it has none.
  static Tensor grad_of(const Tensor& param);

  /// Replaces `group`'s state spec with `spec`, which holds every state of the old one and may
  /// add some (a momentum buffer once momentum is turned on). Parameters of the group that have
  /// been stepped get the added states at their initial value (zeros, as PyTorch initializes
  /// them); the others get them at their first step, as usual.
  void extend_state_spec(size_t group, std::vector<StateSpec> spec);

 private:
  const std::vector<StateSpec>& spec_of(const std::string& name) const;
  /// A state entry's first value: zeros (step count 0) or the spec's initial value.
  static Tensor initial_value(const StateSpec& spec, const Tensor& param);

  std::string type_;
  std::vector<GroupSpec> groups_;
  StateDict params_;
  std::map<std::string, Tensor> param_by_name_;
  std::map<std::string, size_t> group_by_name_;
  std::map<std::string, ParamState> state_;  // by parameter name
};

}  // namespace heed::optim

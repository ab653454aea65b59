#pragma once
// SGD: stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
// exactly as PyTorch 1.13's torch.optim.SGD (single-tensor path, foreach=False, maximize=False).
//
// Momentum is Polyak's heavy ball and Nesterov's accelerated gradient as Sutskever et al. 2013
// ("On the importance of initialization and momentum in deep learning", ICML, eqs. 1-4) describe
// them, in PyTorch's form that keeps lr out of the buffer. For a parameter p with gradient g:
//   d = g + weight_decay * p                                      (if weight_decay != 0)
//   b = d                             at p's first step           "momentum_buffer"
//   b = momentum * b + (1 - dampening) * d   later                (if momentum != 0)
//   d = d + momentum * b  if nesterov, else  d = b                (if momentum != 0)
//   p = p - lr * d
// Sutskever et al. write v = mu * v - lr * g; p = p + v. Both agree while lr is constant; when a
// schedule changes lr, PyTorch's form applies the new lr to the whole accumulated buffer at once.
// Arithmetic is float32 per element in PyTorch's order of operations, with the coefficients
// (momentum, 1 - dampening, -lr, ...) computed in double and rounded to float once, as PyTorch
// does with Python scalars; results agree with PyTorch to float32 rounding.
//
// State per parameter (only when momentum != 0): "momentum_buffer" [same shape as the parameter].
// A schedule that cycles the momentum (OneCycleLR) sets it with set_momentum, also over a group
// built with momentum 0, as PyTorch's OneCycleLR sets group['momentum']: the group then has the
// buffer from its next step on (the buffer starts as that step's d, as above), and keeps it
// while the momentum is 0 (such a step is plain SGD and leaves the buffer as it is, as in
// PyTorch). Nesterov's requirements (momentum > 0, dampening 0) are checked at construction, as
// in PyTorch; a schedule with base_momentum 0 may still bring the momentum to 0, and such a
// Nesterov step is plain SGD too, as in PyTorch.
//
//   optim::SGD opt(model.named_parameters(), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
//   loss.backward(); opt.step(); opt.zero_grad();

#include "optim/optimizer.h"

namespace heed::optim {

struct SGDOptions {
  /// PyTorch has no default (lr is required there); 1e-3 keeps the struct usable unfilled, but a
  /// recipe should always say which learning rate it wants.
  double lr = 1e-3;
  /// Momentum factor mu; 0 turns momentum (and its state) off. Must be >= 0.
  double momentum = 0;
  /// Scales the new gradient in the buffer update by (1 - dampening); not applied at the first
  /// step, where the buffer is the gradient itself.
  double dampening = 0;
  /// L2 penalty coefficient, added to the gradient (not decoupled as in AdamW). Must be >= 0.
  double weight_decay = 0;
  /// Nesterov momentum; requires momentum > 0 and dampening = 0.
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  /// Throws heed::Error naming the bad value ("SGD: invalid momentum value: -0.5").
  SGD(StateDict params, SGDOptions options = {});
  /// With parameter groups, each with its own options (see optimizer.h).
  explicit SGD(std::vector<ParamGroup<SGDOptions>> groups);

  void step() override;
  /// The options of `group`, with lr and momentum as they are now (a schedule may set them).
  SGDOptions options(size_t group = 0) const;

  bool has_momentum() const override { return true; }
  double momentum(size_t group) const override { return options_.at(group).momentum; }
  /// Throws heed::Error unless m >= 0 ("SGD: invalid momentum value: -0.5").
  void set_momentum(size_t group, double m) override;

 private:
  /// The state every stepped parameter has, which depends on the options.
  static std::vector<StateSpec> state_spec(const SGDOptions& options);
  /// "lr=0.1, momentum=0.9, dampening=0, weight_decay=0, nesterov=false"
  std::string options_repr(size_t group) const override;

  std::vector<SGDOptions> options_;
};

}  // namespace heed::optim

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
  /// The options of `group`, with lr as it is now (a schedule may have changed it).
  SGDOptions options(size_t group = 0) const;

 private:
  /// The state every stepped parameter has, which depends on the options.
  static std::vector<StateSpec> state_spec(const SGDOptions& options);
  /// "lr=0.1, momentum=0.9, dampening=0, weight_decay=0, nesterov=false"
  std::string options_repr(size_t group) const override;

  std::vector<SGDOptions> options_;
};

}  // namespace heed::optim

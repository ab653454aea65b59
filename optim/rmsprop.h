#pragma once
// RMSprop (Hinton, Srivastava & Swersky 2012, "Neural Networks for Machine Learning", lecture 6e;
// centered variant from Graves 2013, "Generating Sequences With Recurrent Neural Networks",
// eqs. 38-41), exactly as PyTorch 1.13's torch.optim.RMSprop (single-tensor path, foreach=False).
//
// For a parameter p with gradient g:
//   g   = g + weight_decay * p                           (if weight_decay != 0)
//   v   = alpha * v + (1 - alpha) * g * g                "square_avg"
//   m   = alpha * m + (1 - alpha) * g                    "grad_avg" (centered only)
//   avg = sqrt(v - m * m) if centered, else sqrt(v);  avg = avg + eps
//   b   = momentum * b + g / avg;  p = p - lr * b        "momentum_buffer" (momentum > 0)
//   p   = p - lr * g / avg                               (momentum == 0)
// Note eps is added outside the square root, as in PyTorch (TensorFlow adds it inside).
//
// State per parameter: "step" (int64 []), "square_avg", then "momentum_buffer" when momentum > 0
// and "grad_avg" when centered (float32, the parameter's shape). A schedule that cycles the
// momentum (OneCycleLR) sets it with set_momentum; a group whose momentum becomes > 0 gains the
// buffer (zeros, as PyTorch creates it), and keeps it while the momentum is 0 (such a step does
// not touch it, as in PyTorch).
//
//   optim::RMSprop opt(model.named_parameters(), {.lr = 1e-3, .centered = true});
//   loss.backward(); opt.step(); opt.zero_grad();

#include "optim/optimizer.h"

namespace heed::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  /// Smoothing constant of the squared-gradient average. Must be >= 0.
  double alpha = 0.99;
  /// Added to the root of the average. Must be >= 0.
  double eps = 1e-8;
  /// L2 penalty coefficient, added to the gradient. Must be >= 0.
  double weight_decay = 0;
  /// Momentum factor on the normalized gradient; 0 turns it (and its state) off. Must be >= 0.
  double momentum = 0;
  /// Normalize by an estimate of the gradient's variance (subtracting the squared mean).
  bool centered = false;
};

class RMSprop : public Optimizer {
 public:
  /// Throws heed::Error naming the bad value ("RMSprop: invalid alpha value: -1").
  RMSprop(StateDict params, RMSpropOptions options = {});
  /// With parameter groups, each with its own options (see optimizer.h).
  explicit RMSprop(std::vector<ParamGroup<RMSpropOptions>> groups);

  void step() override;
  /// The options of `group`, with lr and momentum as they are now.
  RMSpropOptions options(size_t group = 0) const;

  bool has_momentum() const override { return true; }
  double momentum(size_t group) const override { return options_.at(group).momentum; }
  /// Throws heed::Error unless m >= 0 ("RMSprop: invalid momentum value: -1").
  void set_momentum(size_t group, double m) override;

 private:
  static std::vector<StateSpec> state_spec(const RMSpropOptions& options);
  /// "lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0, momentum=0, centered=false"
  std::string options_repr(size_t group) const override;

  std::vector<RMSpropOptions> options_;
};

}  // namespace heed::optim

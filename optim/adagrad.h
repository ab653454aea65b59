#pragma once
// Adagrad (Duchi, Hazan & Singer 2011, "Adaptive Subgradient Methods for Online Learning and
// Stochastic Optimization", JMLR, the diagonal update of Section 1), exactly as PyTorch 1.13's
// torch.optim.Adagrad (single-tensor path, dense gradients, foreach=False).
//
// For a parameter p with gradient g, at its t-th step:
//   g   = g + weight_decay * p                       (if weight_decay != 0)
//   clr = lr / (1 + (t - 1) * lr_decay)              (in double)
//   s   = s + g * g                                  "sum", starts at initial_accumulator_value
//   p   = p - clr * g / (sqrt(s) + eps)
//
// State per parameter: "step" (int64 []) and "sum" (float32, the parameter's shape). PyTorch
// creates the state in the constructor; heed at a parameter's first step, like the other
// optimizers, with the same values.
//
//   optim::Adagrad opt(model.named_parameters(), {.lr = 0.05, .initial_accumulator_value = 0.1});

#include "optim/optimizer.h"

namespace heed::optim {

struct AdagradOptions {
  double lr = 1e-2;
  /// Decay of the step size with the step count. Must be >= 0.
  double lr_decay = 0;
  /// L2 penalty coefficient, added to the gradient. Must be >= 0.
  double weight_decay = 0;
  /// The first value of every element of "sum". Must be >= 0.
  double initial_accumulator_value = 0;
  /// Added to sqrt(sum). Must be >= 0.
  double eps = 1e-10;
};

class Adagrad : public Optimizer {
 public:
  /// Throws heed::Error naming the bad value ("Adagrad: invalid lr_decay value: -1").
  Adagrad(StateDict params, AdagradOptions options = {});
  /// With parameter groups, each with its own options (see optimizer.h).
  explicit Adagrad(std::vector<ParamGroup<AdagradOptions>> groups);

  void step() override;
  /// The options of `group`, with lr as it is now.
  AdagradOptions options(size_t group = 0) const;

 private:
  static std::vector<StateSpec> state_spec(const AdagradOptions& options);
  /// "lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10"
  std::string options_repr(size_t group) const override;

  std::vector<AdagradOptions> options_;
};

}  // namespace heed::optim

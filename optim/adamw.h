#pragma once
// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019, "Decoupled Weight Decay
// Regularization", ICLR, Algorithm 2), exactly as PyTorch 1.13's torch.optim.AdamW (single-tensor
// path, foreach=False, maximize=False).
//
// For a parameter p with gradient g, at its t-th step:
//   p = p * (1 - lr * weight_decay)               decay of the weights, not of the gradient
//   then Adam's update (adam.h) with weight_decay 0.
// Because the decay is multiplied by lr, a schedule scales it together with the step, as in
// PyTorch (the paper schedules it with its own multiplier eta_t; PyTorch and heed use lr).
// Defaults are PyTorch's, weight_decay 0.01 included. The state is Adam's ("step", "exp_avg",
// "exp_avg_sq"[, "max_exp_avg_sq"]), so an Adam state dict loads into AdamW and back.
//
//   optim::AdamW opt(model.named_parameters(), {.lr = 3e-4, .weight_decay = 0.05});
//   loss.backward(); opt.step(); opt.zero_grad();

#include "optim/adam.h"

namespace heed::optim {

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  /// Decoupled decay coefficient (PyTorch's default 1e-2). Must be >= 0.
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

class AdamW : public Adam {
 public:
  /// Throws heed::Error naming the bad value ("AdamW: invalid epsilon value: -1").
  AdamW(StateDict params, AdamWOptions options = {});
  /// With parameter groups, each with its own options (see optimizer.h).
  explicit AdamW(std::vector<ParamGroup<AdamWOptions>> groups);
};

}  // namespace heed::optim

#pragma once
// Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", ICLR, Algorithm 1) with
// optional AMSGrad (Reddi et al. 2018, "On the Convergence of Adam and Beyond", ICLR), exactly as
// PyTorch 1.13's torch.optim.Adam (single-tensor path, foreach=False, maximize=False).
//
// For a parameter p with gradient g, at its t-th step (t counts p's own steps, "step"):
//   g  = g + weight_decay * p                     L2 penalty in the gradient (not AdamW's decay)
//   m  = beta1 * m + (1 - beta1) * g              "exp_avg"
//   v  = beta2 * v + (1 - beta2) * g * g          "exp_avg_sq"
//   u  = max(u, v) if amsgrad, else u = v         "max_exp_avg_sq" (only kept with amsgrad)
//   p  = p - lr / (1 - beta1^t) * m / (sqrt(u) / sqrt(1 - beta2^t) + eps)
// This is the paper's p -= lr * m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - beta1^t) and
// v_hat = v / (1 - beta2^t), eps added after the bias correction as in Algorithm 1. The bias
// corrections and lr / (1 - beta1^t) are computed in double (Python floats in PyTorch) and rounded
// to float once; the per-element arithmetic is float32 in PyTorch's order of operations, so
// results agree with PyTorch to float32 rounding.
//
// State per parameter: "step" (int64 []), "exp_avg", "exp_avg_sq" and with amsgrad
// "max_exp_avg_sq" (float32, the parameter's shape); see optimizer.h for the state dict layout.
//
//   optim::Adam opt(model.named_parameters(), {.lr = 1e-3, .weight_decay = 1e-4});
//   loss.backward(); opt.step(); opt.zero_grad();

#include "optim/optimizer.h"

namespace heed::optim {

struct AdamOptions {
  /// Step size (PyTorch's default).
  double lr = 1e-3;
  /// Decay rates of the first and second moment averages (PyTorch's betas), each in [0, 1).
  double beta1 = 0.9;
  double beta2 = 0.999;
  /// Added to the bias-corrected sqrt(v) for numerical stability. Must be >= 0.
  double eps = 1e-8;
  /// L2 penalty coefficient, added to the gradient before the moments. Must be >= 0.
  double weight_decay = 0;
  /// Normalize by the running maximum of v (AMSGrad) instead of v.
  bool amsgrad = false;
};

class Adam : public Optimizer {
 public:
  /// Throws heed::Error naming the bad value ("Adam: invalid beta parameter at index 1: 1").
  Adam(StateDict params, AdamOptions options = {});
  /// With parameter groups, each with its own options (see optimizer.h).
  explicit Adam(std::vector<ParamGroup<AdamOptions>> groups);

  void step() override;
  /// The options of `group`, with lr and beta1 as they are now (a schedule may set them).
  AdamOptions options(size_t group = 0) const;

  /// beta1 is the momentum a schedule cycles (PyTorch's OneCycleLR sets betas[0]); the bias
  /// correction 1 - beta1^t of each step uses the beta1 of that step, as in PyTorch.
  bool has_momentum() const override { return true; }
  double momentum(size_t group) const override { return options_.at(group).beta1; }
  /// Throws heed::Error unless 0 <= m < 1 ("Adam: invalid beta parameter at index 0: 1").
  void set_momentum(size_t group, double m) override;

 protected:
  /// For AdamW: `type` names it, and `decoupled` applies weight_decay to the parameter
  /// (p *= 1 - lr * weight_decay) instead of adding it to the gradient.
  Adam(std::string type, std::vector<ParamGroup<AdamOptions>> groups, bool decoupled);

 private:
  /// The state every stepped parameter has, which depends on the options.
  static std::vector<StateSpec> state_spec(const AdamOptions& options);
  /// "lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=false"
  std::string options_repr(size_t group) const override;

  std::vector<AdamOptions> options_;
  bool decoupled_;
};

}  // namespace heed::optim

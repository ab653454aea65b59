#pragma once
// Gradient clipping, as PyTorch 1.13's torch.nn.utils.clip_grad_norm_ and clip_grad_value_.
//
// clip_grad_norm_ (Pascanu et al. 2013, "On the difficulty of training recurrent neural
// networks", Algorithm 1): the total norm is the norm of all gradients taken together as one
// vector, ||g||_p = (sum_i |g_i|^p)^(1/p), or max_i |g_i| for p = inf. When it exceeds max_norm,
// every gradient is multiplied by max_norm / (total_norm + 1e-6) (PyTorch multiplies by the
// coefficient clamped to 1 in any case, which is the same). Parameters without a gradient are
// skipped. Sums are accumulated in double and the coefficient rounded to float32 once; values
// agree with PyTorch to float32 rounding.
//
//   double norm = clip_grad_norm_(model.named_parameters(), 1.0);  // before clipping
//
// Plain functions over parameters, in framework/ because the trainer clips between backward and
// the optimizer step, whatever the optimizer (framework/optimizer.h).

#include <limits>

#include "framework/module.h"

namespace heed {

/// Scales the gradients of `params` so that their total `norm_type`-norm is at most max_norm;
/// returns the total norm before clipping (0 when no parameter has a gradient). norm_type is
/// any p >= 1 or infinity. Throws heed::Error on a negative max_norm or a norm_type < 1, naming
/// the value; a non-finite total norm is returned as it is, and the gradients then become NaN,
/// as in PyTorch (error_if_nonfinite=False).
double clip_grad_norm_(const StateDict& params, double max_norm, double norm_type = 2.0);

/// Clamps every gradient element of `params` to [-clip_value, clip_value]. Throws heed::Error
/// unless clip_value >= 0.
void clip_grad_value_(const StateDict& params, double clip_value);

inline constexpr double kInfNorm = std::numeric_limits<double>::infinity();

}  // namespace heed

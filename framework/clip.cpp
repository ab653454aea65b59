#include "framework/clip.h"

#include <algorithm>
#include <cmath>

#include "framework/autograd.h"
#include "framework/ops/iter.h"

namespace heed {

namespace {

// The gradient of `param` as a contiguous tensor that can be scaled in place and stays the
// parameter's gradient: a non-contiguous gradient is replaced by a contiguous copy.
Tensor writable_grad(const Tensor& param) {
  Tensor grad = param.grad();
  if (!grad.defined() || grad.is_contiguous()) return grad;
  NoGradGuard no_grad;
  Tensor copy = grad.to(grad.dtype());
  param.set_grad(copy);
  return copy;
}

}  // namespace

double clip_grad_norm_(const StateDict& params, double max_norm, double norm_type) {
  HEED_CHECK(max_norm >= 0, "clip_grad_norm_: max_norm must be >= 0, got ", max_norm);
  HEED_CHECK(norm_type >= 1, "clip_grad_norm_: norm_type must be >= 1 or inf, got ", norm_type);
  const bool inf = std::isinf(norm_type);
  double total = 0;
  std::vector<Tensor> grads;
  for (const auto& [name, param] : params) {
    Tensor grad = writable_grad(param);
    if (!grad.defined()) continue;
    grads.push_back(grad);
    const float* g = grad.data();
    const int64_t n = grad.numel();
    if (inf) {
      double m = 0;
#pragma omp parallel for reduction(max : m) if (n >= ops::kParallelGrain)
      for (int64_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(std::fabs(g[i])));
      total = std::max(total, m);
    } else {
      double s = 0;
      if (norm_type == 2) {
#pragma omp parallel for reduction(+ : s) if (n >= ops::kParallelGrain)
        for (int64_t i = 0; i < n; ++i) s += static_cast<double>(g[i]) * g[i];
      } else {
#pragma omp parallel for reduction(+ : s) if (n >= ops::kParallelGrain)
        for (int64_t i = 0; i < n; ++i)
          s += std::pow(std::fabs(static_cast<double>(g[i])), norm_type);
      }
      total += s;
    }
  }
  if (!inf) total = std::pow(total, 1.0 / norm_type);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1 || std::isnan(coef)) {
    const float c = static_cast<float>(coef);
    for (const Tensor& grad : grads) {
      float* g = grad.data();
      const int64_t n = grad.numel();
#pragma omp parallel for simd if (n >= ops::kParallelGrain)
      for (int64_t i = 0; i < n; ++i) g[i] *= c;
    }
  }
  return total;
}

void clip_grad_value_(const StateDict& params, double clip_value) {
  HEED_CHECK(clip_value >= 0, "clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  const float c = static_cast<float>(clip_value);
  for (const auto& [name, param] : params) {
    Tensor grad = writable_grad(param);
    if (!grad.defined()) continue;
    float* g = grad.data();
    const int64_t n = grad.numel();
#pragma omp parallel for simd if (n >= ops::kParallelGrain)
    for (int64_t i = 0; i < n; ++i) g[i] = std::clamp(g[i], -c, c);
  }
}

}  // namespace heed

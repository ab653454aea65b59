#pragma once
// Finite-difference gradient checks, shared by every test of an op or layer.
//
// For a function f of some float32 inputs (and of a module's parameters), the analytic gradient of
// L = sum(f(x) * w), with w a fixed random cotangent, is compared against central differences
// (L(x + h) - L(x - h)) / 2h for every element of every input (and parameter). float32 limits the
// agreement to ~1e-3 relative, so each case states its own tolerance (ggml's test-backend-ops does
// the same).

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "framework/module.h"
#include "framework/ops.h"
#include "framework/random.h"

namespace heed::testing {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradCase {
  std::string name;
  Fn fn;
  std::vector<Tensor> inputs;  // float32 inputs are checked; int64 ones are passed through
  float atol = 2e-3f;
  float rtol = 2e-2f;
  float step = 1e-2f;
};

inline double weighted_sum(const Tensor& y, const Tensor& w) {
  const std::vector<float> a = y.to_vector(), b = w.to_vector();
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

/// A gradient check of a module: `fn` runs `module` (which it captures) on the inputs. A layer's
/// parameters are not inputs of forward(), so they are perturbed in place, every element of every
/// named parameter, besides the float inputs.
struct ModuleGradCase {
  std::string name;
  std::shared_ptr<Module> module;
  Fn fn;                       // deterministic: it reseeds any generator it draws from
  std::vector<Tensor> inputs;  // float32 inputs are checked; int64 ones are passed through
  float atol = 2e-3f;
  float rtol = 2e-2f;
  float step = 1e-2f;
  uint64_t seed = 1234;  // of the cotangent w
};

/// Checks every gradient of `c`, of its float inputs first, then of its module's parameters;
/// reports the first mismatches of each through doctest. A gradient must exist, have its
/// tensor's shape and be finite.
inline void check_module_gradients(const ModuleGradCase& c) {
  INFO("case: ", c.name);
  std::vector<Tensor> xs;
  for (const Tensor& x : c.inputs) {
    Tensor leaf = x.clone().detach();
    if (leaf.dtype() == Dtype::Float32) leaf.requires_grad_();
    xs.push_back(leaf);
  }
  if (c.module) c.module->zero_grad();
  const Tensor y = c.fn(xs);
  Generator gen(c.seed);
  const Tensor w = Tensor::randn(y.shape(), gen);
  y.backward(w);

  // (what, tensor perturbed in place, its analytic gradient). Inputs come first: a forward that
  // updates state (BatchNorm's running statistics) sees the perturbations in this order.
  std::vector<std::tuple<std::string, Tensor, Tensor>> targets;
  for (size_t k = 0; k < xs.size(); ++k)
    if (xs[k].dtype() == Dtype::Float32)
      targets.emplace_back("input " + std::to_string(k), xs[k], xs[k].grad());
  if (c.module)
    for (const auto& [name, p] : c.module->named_parameters())
      targets.emplace_back("parameter " + name, p, p.grad());
  REQUIRE(!targets.empty());

  NoGradGuard no_grad;
  for (const auto& [what, t, grad] : targets) {
    REQUIRE_MESSAGE(grad.defined(), what, " got no gradient");
    REQUIRE_MESSAGE(grad.shape() == t.shape(), what, ": gradient of shape ", grad.shape());
    REQUIRE(t.is_contiguous());
    const std::vector<float> analytic = grad.to_vector();
    float* p = t.data();
    int failures = 0;
    for (int64_t i = 0; i < t.numel() && failures < 3; ++i) {
      const float saved = p[i];
      p[i] = saved + c.step;
      const double plus = weighted_sum(c.fn(xs), w);
      p[i] = saved - c.step;
      const double minus = weighted_sum(c.fn(xs), w);
      p[i] = saved;
      const double numeric = (plus - minus) / (2.0 * c.step);
      if (!std::isfinite(analytic[i]) ||
          std::abs(numeric - analytic[i]) > c.atol + c.rtol * std::abs(numeric)) {
        ++failures;
        FAIL_CHECK(what, " element ", i, ": analytic ", analytic[i], " vs numeric ", numeric);
      }
    }
  }
}

/// Checks every gradient of `c`: the checks of check_module_gradients, with no module.
inline void check_gradients(const GradCase& c) {
  check_module_gradients({c.name, nullptr, c.fn, c.inputs, c.atol, c.rtol, c.step});
}

/// Several outputs as one flat tensor, so that every one of them carries a cotangent.
inline Tensor flat(const std::vector<Tensor>& outputs) {
  std::vector<Tensor> parts;
  for (const Tensor& t : outputs) parts.push_back(t.reshape({-1}));
  return ops::concat(parts, 0);
}

/// Elementwise closeness with an absolute and a relative tolerance.
inline void check_close(const std::vector<float>& got, const std::vector<float>& want, float atol,
                        float rtol, const std::string& what) {
  REQUIRE_MESSAGE(got.size() == want.size(), what, ": ", got.size(), " values vs ", want.size());
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 3; ++i) {
    if (std::abs(got[i] - want[i]) > atol + rtol * std::abs(want[i])) {
      ++failures;
      FAIL_CHECK(what, " element ", i, ": got ", got[i], ", want ", want[i]);
    }
  }
}

}  // namespace heed::testing

#pragma once
// Finite-difference gradient checks, shared by every test of an op or layer.
//
// For a function f of some float32 inputs, the analytic gradient of L = sum(f(x) * w), with w a
// fixed random cotangent, is compared against central differences (L(x + h) - L(x - h)) / 2h
// for every element of every input. float32 limits the agreement to ~1e-3 relative, so each case
// states its own tolerance (ggml's test-backend-ops does the same).

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

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

/// Checks every gradient of `c`; reports the first mismatches through doctest.
inline void check_gradients(const GradCase& c) {
  INFO("case: ", c.name);
  Generator gen(1234);
  std::vector<Tensor> xs;
  for (const Tensor& x : c.inputs) {
    Tensor leaf = x.clone().detach();
    if (leaf.dtype() == Dtype::Float32) leaf.requires_grad_();
    xs.push_back(leaf);
  }
  Tensor y = c.fn(xs);
  const Tensor w = Tensor::randn(y.shape(), gen);
  y.backward(w);
  NoGradGuard no_grad;
  for (size_t k = 0; k < xs.size(); ++k) {
    if (xs[k].dtype() != Dtype::Float32) continue;
    REQUIRE_MESSAGE(xs[k].grad().defined(), "input ", k, " got no gradient");
    const std::vector<float> analytic = xs[k].grad().to_vector();
    float* p = xs[k].data();
    int failures = 0;
    for (int64_t i = 0; i < xs[k].numel() && failures < 3; ++i) {
      const float saved = p[i];
      p[i] = saved + c.step;
      const double plus = weighted_sum(c.fn(xs), w);
      p[i] = saved - c.step;
      const double minus = weighted_sum(c.fn(xs), w);
      p[i] = saved;
      const double numeric = (plus - minus) / (2.0 * c.step);
      const double diff = std::abs(numeric - analytic[i]);
      if (diff > c.atol + c.rtol * std::abs(numeric)) {
        ++failures;
        FAIL_CHECK("input ", k, " element ", i, ": analytic ", analytic[i], " vs numeric ",
                   numeric);
      }
    }
  }
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

#include "framework/ops/softmax.h"

#include <cmath>
#include <limits>

#include "framework/autograd.h"
#include "framework/ops/fastmath.h"
#include "framework/ops/kernels.h"
#include "framework/ops/shape.h"

namespace heed::ops {

namespace {

// Applies a last-dimension op along `dim` by moving `dim` last and back.
template <class Op>
Tensor along(const Tensor& x, int64_t dim, Op op) {
  dim = x.wrap_dim(dim);
  if (x.dim() == 0 || dim == x.dim() - 1) return op(x);
  return op(x.transpose(dim, -1)).transpose(dim, -1);
}

// Row maximum; a row of -inf (every key masked) gives max 0, so its result is 0/NaN-free.
float row_max(const float* p, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) m = std::max(m, p[i]);
  return std::isinf(m) && m < 0 ? 0.f : m;
}

// dx for a row op whose gradient needs, per row, one sum over g (weighted or not) and then an
// elementwise formula: softmax and log_softmax. `reduce(g, y)` gives the term summed over the row,
// `grad(g, y, sum)` the element of dx.
template <class Reduce, class Grad>
Tensor row_backward(const Tensor& g, const Tensor& y, Reduce reduce, Grad grad) {
  const Tensor gc = g.contiguous();
  Tensor dx = Tensor::empty(y.shape());
  const int64_t n = y.size(-1), rows = y.numel() / std::max<int64_t>(n, 1);
  const float *pg = gc.data(), *py = y.data();
  float* pd = dx.data();
#pragma omp parallel for schedule(static) if (y.numel() >= kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += reduce(pg[r * n + i], py[r * n + i]);
    for (int64_t i = 0; i < n; ++i)
      pd[r * n + i] = grad(pg[r * n + i], py[r * n + i], static_cast<float>(s));
  }
  return dx;
}

Tensor softmax_last(const Tensor& x) {
  Tensor out = map_rows(x, [](const float* p, float* q, int64_t n) {
    const float m = row_max(p, n);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) q[i] = fast_exp(p[i] - m);
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += q[i];
    const float inv = s > 0 ? static_cast<float>(1.0 / s) : 0.f;
    for (int64_t i = 0; i < n; ++i) q[i] *= inv;
  });
  return record("softmax", out, {x}, [y = out.detach()](const Tensor& g) -> Grads {
    // dx = y * (g - sum(g * y))
    return {row_backward(
        g, y, [](float gv, float yv) { return gv * yv; },
        [](float gv, float yv, float dot) { return yv * (gv - dot); })};
  });
}

Tensor log_softmax_last(const Tensor& x) {
  Tensor out = map_rows(x, [](const float* p, float* q, int64_t n) {
    const float m = row_max(p, n);
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += fast_exp(p[i] - m);
    const float lse = m + static_cast<float>(std::log(s));
    for (int64_t i = 0; i < n; ++i) q[i] = p[i] - lse;
  });
  return record("log_softmax", out, {x}, [y = out.detach()](const Tensor& g) -> Grads {
    // dx = g - exp(y) * sum(g)
    return {row_backward(
        g, y, [](float gv, float) { return gv; },
        [](float gv, float yv, float sum) { return gv - fast_exp(yv) * sum; })};
  });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  return along(x, dim, softmax_last);
}
Tensor log_softmax(const Tensor& x, int64_t dim) {
  return along(x, dim, log_softmax_last);
}

}  // namespace heed::ops

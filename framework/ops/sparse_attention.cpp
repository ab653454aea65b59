#include "framework/ops/sparse_attention.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "framework/autograd.h"
#include "framework/ops/kernels.h"
#include "framework/random.h"

namespace heed::ops {

namespace {

// map_rows for the ops below, which take float tensors of at least one dimension.
template <class F>
Tensor checked_map_rows(const char* op, const Tensor& x, F f) {
  HEED_CHECK(x.dim() >= 1 && x.dtype() == Dtype::Float32, op,
             ": expects a float tensor of at least 1 dimension, got ", x.shape());
  return map_rows(x, f);
}

// Sparsemax of one row (eq. 2 via the sort of Algorithm 1): the threshold tau solves
// sum_j max(z_j - tau, 0) = 1 over the finite entries.
void sparsemax_row(const float* z, float* p, int64_t n) {
  std::vector<float> sorted;
  sorted.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    if (std::isfinite(z[i])) sorted.push_back(z[i]);
  std::fill(p, p + n, 0.f);
  if (sorted.empty()) return;
  std::sort(sorted.begin(), sorted.end(), std::greater<float>());
  double cumulative = 0, support_sum = 0;
  int64_t support = 0;
  for (size_t k = 0; k < sorted.size(); ++k) {
    cumulative += sorted[k];
    if (1.0 + static_cast<double>(k + 1) * sorted[k] > cumulative) {
      support = static_cast<int64_t>(k + 1);
      support_sum = cumulative;
    }
  }
  const double tau = (support_sum - 1.0) / static_cast<double>(support);
  for (int64_t i = 0; i < n; ++i)
    if (std::isfinite(z[i])) p[i] = static_cast<float>(std::max(0.0, z[i] - tau));
}

// eq. 14: dx = s * (g - mean of g over the support S), s_j = [p_j > 0].
Tensor sparsemax_backward(const Tensor& g, const Tensor& p) {
  const Tensor gc = g.contiguous();
  Tensor dx = Tensor::empty(p.shape());
  const int64_t n = p.size(-1), rows = n == 0 ? 0 : p.numel() / n;
  const float *pg = gc.data(), *pp = p.data();
  float* pd = dx.data();
#pragma omp parallel for schedule(static) if (p.numel() >= kParallelGrain && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const float *gr = pg + r * n, *yr = pp + r * n;
    double sum = 0;
    int64_t support = 0;
    for (int64_t i = 0; i < n; ++i)
      if (yr[i] > 0) sum += gr[i], ++support;
    const float mean = support > 0 ? static_cast<float>(sum / static_cast<double>(support)) : 0.f;
    for (int64_t i = 0; i < n; ++i) pd[r * n + i] = yr[i] > 0 ? gr[i] - mean : 0.f;
  }
  return dx;
}

}  // namespace

Tensor sparsemax(const Tensor& x) {
  Tensor out = checked_map_rows("sparsemax", x, sparsemax_row);
  return record("sparsemax", out, {x}, [p = out.detach()](const Tensor& g) -> Grads {
    return {sparsemax_backward(g, p)};
  });
}

Tensor topk_mask(const Tensor& scores, int64_t k) {
  HEED_CHECK(k >= 1, "topk_mask: k must be at least 1, got ", k, " (scores ", scores.shape(), ")");
  return checked_map_rows("topk_mask", scores.detach(), [k](const float* z, float* m, int64_t n) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    const int64_t keep = std::min(k, n);
    // Stable, so equal scores keep the lower index; -inf never counts among the kept.
    std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                      [z](int64_t a, int64_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); });
    std::fill(m, m + n, 1.f);
    for (int64_t i = 0; i < keep; ++i)
      if (std::isfinite(z[order[i]])) m[order[i]] = 0.f;
  });
}

Tensor straight_through_one_hot(const Tensor& probs) {
  Tensor out =
      checked_map_rows("straight_through_one_hot", probs, [](const float* p, float* y, int64_t n) {
        std::fill(y, y + n, 0.f);
        int64_t best = -1;
        for (int64_t i = 0; i < n; ++i)
          if (p[i] > 0 && (best < 0 || p[i] > p[best])) best = i;
        if (best >= 0) y[best] = 1.f;
      });
  return record("straight_through_one_hot", out, {probs},
                [](const Tensor& g) -> Grads { return {g}; });
}

Tensor gumbel_noise(const Shape& shape, Generator& gen) {
  Tensor g = Tensor::empty(shape);
  float* p = g.data();
  for (int64_t i = 0; i < g.numel(); ++i) {
    const double u = std::clamp(static_cast<double>(gen.uniform()), 1e-10, 1.0 - 1e-7);
    p[i] = static_cast<float>(-std::log(-std::log(u)));
  }
  return g;
}

}  // namespace heed::ops

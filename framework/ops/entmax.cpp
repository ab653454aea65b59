#include "framework/ops/entmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "framework/autograd.h"
#include "framework/ops/iter.h"
#include "framework/ops/shape.h"

namespace heed::ops {

namespace {

// Throws unless alpha broadcasts to scores with its last dimension 1 (one alpha per row), and
// every alpha is a finite number > 1.
void check_inputs(const Tensor& scores, const Tensor& alpha, int n_iter) {
  HEED_CHECK(scores.dim() >= 1 && scores.dtype() == Dtype::Float32,
             "entmax_bisect: expects float scores of at least 1 dimension, got ", scores.shape());
  HEED_CHECK(alpha.dtype() == Dtype::Float32, "entmax_bisect: alpha must be float32 (alpha ",
             alpha.shape(), ", scores ", scores.shape(), ")");
  bool fits = alpha.dim() <= scores.dim() && (alpha.dim() == 0 || alpha.size(-1) == 1);
  for (int64_t d = 1; fits && d <= alpha.dim(); ++d) {
    const int64_t a = alpha.shape()[alpha.dim() - d], s = scores.shape()[scores.dim() - d];
    fits = a == 1 || a == s;
  }
  HEED_CHECK(fits, "entmax_bisect: alpha ", alpha.shape(), " does not broadcast to scores ",
             scores.shape(), " with its last dimension 1 (one alpha per row)");
  HEED_CHECK(n_iter >= 1, "entmax_bisect: n_iter must be at least 1, got ", n_iter);
  for (const float a : alpha.to_vector())
    HEED_CHECK(std::isfinite(a) && a > 1.f,
               "entmax_bisect: alpha must be a finite number > 1, got ", a, " (alpha ",
               alpha.shape(), ")");
}

// One alpha per row of `shape` (its last dimension left out), as doubles.
std::vector<double> alpha_per_row(const Tensor& alpha, const Shape& shape) {
  Shape rows_shape = shape;
  rows_shape.back() = 1;
  const std::vector<float> a = alpha.detach().expand(rows_shape).contiguous().to_vector();
  return {a.begin(), a.end()};
}

// u^(1/(alpha-1)); alpha = 2 (sparsemax) and 1.5 (entmax15) skip pow, whose result they equal.
inline double power(double u, double inv) {
  if (inv == 1) return u;
  if (inv == 2) return u * u;
  return std::pow(u, inv);
}

// alpha-entmax of one row by bisection on tau (EntmaxBisectFunction's scheme, in double). With
// x = (alpha - 1)(z - max z), sum_i [x_i - tau]_+^(1/(alpha-1)) is >= 1 at tau = -1 (the maximum
// alone gives 1) and <= 1 at tau = -(1/d)^(alpha-1) (each of the d finite entries gives at most
// 1/d). The lower end only rises, so an entry at or below it is 0 at every later tau: it is
// dropped, and the halvings run over the entries still in play (about the support, after a few).
void entmax_row(const float* z, float* p, int64_t n, double alpha, int n_iter) {
  std::fill(p, p + n, 0.f);
  float max = -std::numeric_limits<float>::infinity();
  int64_t finite = 0;
  for (int64_t i = 0; i < n; ++i)
    if (std::isfinite(z[i])) max = std::max(max, z[i]), ++finite;
  if (finite == 0) return;  // every key masked: all-zero weights
  const double am1 = alpha - 1, inv = 1 / am1;
  double lo = -1, width = -std::pow(1.0 / static_cast<double>(finite), am1) - lo;
  std::vector<int64_t> index;
  std::vector<double> x, q;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(z[i])) continue;
    const double xi = am1 * (static_cast<double>(z[i]) - max);
    if (xi > lo) index.push_back(i), x.push_back(xi);
  }
  q.resize(x.size());
  size_t live = x.size();
  double sum = 0;
  for (int it = 0; it < n_iter; ++it) {
    width /= 2;
    const double tau = lo + width;
    sum = 0;
    for (size_t k = 0; k < live; ++k) {
      q[k] = x[k] > tau ? power(x[k] - tau, inv) : 0.0;
      sum += q[k];
    }
    if (sum < 1) continue;
    lo = tau;
    size_t kept = 0;  // those with x > tau, in order, with their q
    for (size_t k = 0; k < live; ++k)
      if (x[k] > tau) x[kept] = x[k], q[kept] = q[k], index[kept] = index[k], ++kept;
    live = kept;
  }
  // The last midpoint's p, renormalized; sum > 0 since the maximum (x = 0) exceeds every tau < 0.
  for (size_t k = 0; k < live; ++k) p[index[k]] = static_cast<float>(q[k] / sum);
}

// The two gradients of one row (see the header), in double from the saved output p, which is
// renormalized first: d alpha subtracts terms of size 1/(alpha - 1) that cancel only for a p that
// sums to 1. Writes dz[0..n) when `dz` is set; returns d alpha when `with_alpha`.
double entmax_row_backward(const float* p_row, const float* dy, float* dz, int64_t n, double alpha,
                           bool with_alpha) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += p_row[i];
  if (total <= 0) {  // an all-masked row: no weight depends on anything
    if (dz) std::fill(dz, dz + n, 0.f);
    return 0;
  }
  std::vector<double> g(static_cast<size_t>(n), 0.0);  // p^(2 - alpha) on the support
  double sum_g = 0, sum_gdy = 0;
  for (int64_t i = 0; i < n; ++i)
    if (p_row[i] > 0) {
      g[i] = std::pow(p_row[i] / total, 2 - alpha);
      sum_g += g[i], sum_gdy += g[i] * dy[i];
    }
  const double mean = sum_gdy / sum_g;  // sum_i g~_i dY_i
  if (dz)
    for (int64_t i = 0; i < n; ++i) dz[i] = static_cast<float>(g[i] * (dy[i] - mean));
  if (!with_alpha) return 0;
  // sum_i dY_i [(p_i - g~_i) / (alpha-1)^2 - (p_i log p_i - g~_i H) / (alpha-1)], H = sum p log p
  double neg_entropy = 0, first = 0, second = 0;
  for (int64_t i = 0; i < n; ++i)
    if (p_row[i] > 0) {
      const double p = p_row[i] / total, s = p * std::log(p), skewed = g[i] / sum_g;
      neg_entropy += s;
      first += dy[i] * (p - skewed);
      second += dy[i] * s;
    }
  const double am1 = alpha - 1;
  return first / (am1 * am1) - (second - mean * neg_entropy) / am1;
}

// Both gradients from the output p and alpha; each only when its input needs it. d alpha is
// computed per row and summed to alpha's shape over the dimensions it broadcasts over.
Grads entmax_bisect_backward(const Tensor& g, const Tensor& p, const Tensor& alpha,
                             bool scores_grad, bool alpha_grad) {
  const Tensor gc = g.contiguous();
  const int64_t n = p.size(-1), rows = n == 0 ? 0 : p.numel() / n;
  const std::vector<double> alphas = alpha_per_row(alpha, p.shape());
  Shape rows_shape = p.shape();
  rows_shape.back() = 1;
  Tensor dz = scores_grad ? Tensor::empty(p.shape()) : Tensor();
  Tensor da = alpha_grad ? Tensor::empty(rows_shape) : Tensor();
  const float *pp = p.data(), *pg = gc.data();
  float* pdz = scores_grad ? dz.data() : nullptr;
  float* pda = alpha_grad ? da.data() : nullptr;
#pragma omp parallel for schedule(static) if (p.numel() >= kParallelGrain && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const double d = entmax_row_backward(pp + r * n, pg + r * n, pdz ? pdz + r * n : nullptr, n,
                                         alphas[r], alpha_grad);
    if (pda) pda[r] = static_cast<float>(d);
  }
  return {dz, alpha_grad ? sum_to(da, alpha.shape()) : Tensor()};
}

}  // namespace

Tensor entmax_bisect(const Tensor& scores, const Tensor& alpha, int n_iter) {
  check_inputs(scores, alpha, n_iter);
  const Tensor z = scores.detach().contiguous();
  Tensor out = Tensor::empty(scores.shape());
  const int64_t n = scores.size(-1), rows = n == 0 ? 0 : scores.numel() / n;
  const std::vector<double> alphas = alpha_per_row(alpha, scores.shape());
  const float* pz = z.data();
  float* pp = out.data();
  // Each element costs up to n_iter pow calls, so rows go parallel well below kParallelGrain.
  const bool parallel = scores.numel() * n_iter >= kParallelGrain && rows > 1;
#pragma omp parallel for schedule(dynamic, 16) if (parallel)
  for (int64_t r = 0; r < rows; ++r) entmax_row(pz + r * n, pp + r * n, n, alphas[r], n_iter);

  return record("entmax_bisect", out, {scores, alpha},
                [p = out.detach(), a = alpha.detach(), scores_grad = needs_grad(scores),
                 alpha_grad = needs_grad(alpha)](const Tensor& g) -> Grads {
                  return entmax_bisect_backward(g, p, a, scores_grad, alpha_grad);
                });
}

}  // namespace heed::ops

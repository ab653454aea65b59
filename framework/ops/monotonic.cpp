#include "framework/ops/monotonic.h"

#include <vector>

#include "framework/autograd.h"
#include "framework/error.h"

namespace heed::ops {

namespace {

// One row: q (kept for the backward) and alpha from p and the previous alignment.
void row_forward(const float* p, const float* previous, float* q, float* alpha, int64_t n) {
  double carried = 0;  // q_j-1 (1 - p_j-1)
  for (int64_t j = 0; j < n; ++j) {
    const double qj = carried + previous[j];
    q[j] = static_cast<float>(qj);
    alpha[j] = static_cast<float>(p[j] * qj);
    carried = qj * (1.0 - p[j]);
  }
}

// One row of the reverse scan; either output may be null (its input needs no gradient).
void row_backward(const float* p, const float* q, const float* g, float* dp, float* dprevious,
                  int64_t n) {
  double next = 0;  // G_j+1
  for (int64_t j = n - 1; j >= 0; --j) {
    if (dp) dp[j] = static_cast<float>((g[j] - next) * q[j]);
    const double gj = g[j] * p[j] + next * (1.0 - p[j]);
    if (dprevious) dprevious[j] = static_cast<float>(gj);
    next = gj;
  }
}

}  // namespace

Tensor monotonic_alignment(const Tensor& p, const Tensor& previous) {
  HEED_CHECK(p.dim() == 2 && p.shape() == previous.shape() && p.dtype() == Dtype::Float32 &&
                 previous.dtype() == Dtype::Float32,
             "monotonic_alignment: p ", p.shape(), " and previous ", previous.shape(),
             " must both be float32 [batch, memory]");
  const Tensor pc = p.detach().contiguous(), prev = previous.detach().contiguous();
  const int64_t rows = p.size(0), n = p.size(1);
  Tensor q = Tensor::empty(p.shape()), alpha = Tensor::empty(p.shape());
#pragma omp parallel for schedule(static) if (rows * n >= 4096 && rows > 1)
  for (int64_t r = 0; r < rows; ++r)
    row_forward(pc.data() + r * n, prev.data() + r * n, q.data() + r * n, alpha.data() + r * n, n);
  return record("monotonic_alignment", alpha, {p, previous},
                [pc, q, p_grad = needs_grad(p),
                 previous_grad = needs_grad(previous)](const Tensor& grad) -> Grads {
                  const Tensor g = grad.contiguous();
                  const int64_t rows = pc.size(0), n = pc.size(1);
                  Tensor dp = p_grad ? Tensor::empty(pc.shape()) : Tensor();
                  Tensor dprev = previous_grad ? Tensor::empty(pc.shape()) : Tensor();
#pragma omp parallel for schedule(static) if (rows * n >= 4096 && rows > 1)
                  for (int64_t r = 0; r < rows; ++r)
                    row_backward(pc.data() + r * n, q.data() + r * n, g.data() + r * n,
                                 p_grad ? dp.data() + r * n : nullptr,
                                 previous_grad ? dprev.data() + r * n : nullptr, n);
                  return {dp, dprev};
                });
}

}  // namespace heed::ops

#include "framework/ops/norm.h"

#include <cmath>

#include "framework/autograd.h"
#include "framework/ops/iter.h"

namespace heed::ops {

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  HEED_CHECK(x.dim() >= 1 && x.dtype() == Dtype::Float32,
             "layer_norm: expected a float32 input, got ", x.shape());
  const int64_t d = x.size(-1), rows = x.numel() / std::max<int64_t>(d, 1);
  for (const Tensor* p : {&weight, &bias})
    HEED_CHECK(!p->defined() || p->shape() == Shape{d}, "layer_norm: parameter of shape ",
               p->shape(), " for normalized_shape [", d, "] and input ", x.shape());
  const Tensor in = x.contiguous();
  const Tensor w = weight.defined() ? weight.contiguous() : Tensor::ones({d});
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor::zeros({d});
  Tensor out = Tensor::empty(x.shape());
  Tensor xhat = Tensor::empty(x.shape());
  Tensor rstd = Tensor::empty({rows});
  const float *pw = w.data(), *pb = b.data(), *px = in.data();
  float *prs = rstd.data(), *ph = xhat.data(), *po = out.data();
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = px + r * d;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < d; ++i) mean += p[i];
    mean /= d;
    for (int64_t i = 0; i < d; ++i) var += (p[i] - mean) * (p[i] - mean);
    const float rs = static_cast<float>(1.0 / std::sqrt(var / d + eps));
    prs[r] = rs;
    float* h = ph + r * d;
    float* q = po + r * d;
    for (int64_t i = 0; i < d; ++i) {
      h[i] = static_cast<float>(p[i] - mean) * rs;
      q[i] = h[i] * pw[i] + pb[i];
    }
  }
  const bool gx = needs_grad(x), gw = needs_grad(weight), gb = needs_grad(bias);
  // dx reads xhat, rstd and the weight; dweight xhat; dbias only g. x itself is never read.
  return record("layer_norm", out, {x, weight, bias},
                [gx, gw, gb, xhat = gx || gw ? xhat : Tensor(), rstd = gx ? rstd : Tensor(),
                 w = gx ? w : Tensor(), shape = x.shape(), d, rows](const Tensor& g) -> Grads {
                  const Tensor gc = g.contiguous();
                  const float* pg = gc.data();
                  Tensor dx, dw, db;
                  // dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)), gw = g * weight.
                  if (gx) {
                    dx = Tensor::empty(shape);
                    const float *ph = xhat.data(), *pw = w.data(), *prs = rstd.data();
                    float* pdx = dx.data();
#pragma omp parallel for schedule(static) if (dx.numel() >= kParallelGrain)
                    for (int64_t r = 0; r < rows; ++r) {
                      const float* gr = pg + r * d;
                      const float* h = ph + r * d;
                      double m1 = 0, m2 = 0;
                      for (int64_t i = 0; i < d; ++i) {
                        const double gw = gr[i] * pw[i];
                        m1 += gw;
                        m2 += gw * h[i];
                      }
                      m1 /= d;
                      m2 /= d;
                      float* o = pdx + r * d;
                      for (int64_t i = 0; i < d; ++i)
                        o[i] = prs[r] * static_cast<float>(gr[i] * pw[i] - m1 - h[i] * m2);
                    }
                  }
                  if (gw) {
                    dw = Tensor::zeros({d});
                    float* pdw = dw.data();
                    const float* ph = xhat.data();
                    for (int64_t r = 0; r < rows; ++r)
                      for (int64_t i = 0; i < d; ++i) pdw[i] += pg[r * d + i] * ph[r * d + i];
                  }
                  if (gb) {
                    db = Tensor::zeros({d});
                    float* pdb = db.data();
                    for (int64_t r = 0; r < rows; ++r)
                      for (int64_t i = 0; i < d; ++i) pdb[i] += pg[r * d + i];
                  }
                  return {dx, dw, db};
                });
}

}  // namespace heed::ops

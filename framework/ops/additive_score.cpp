#include "framework/ops/additive_score.h"

#include <algorithm>

#include "framework/autograd.h"
#include "framework/ops/fastmath.h"
#include "framework/ops/iter.h"

namespace heed::ops {

namespace {

struct Dims {
  int64_t batch, len_q, len_k, hidden;
  int64_t work() const { return batch * len_q * len_k * hidden; }
};

// Gradients from the saved t [batch, len_q, len_k, hidden]. dv is summed per sequence into
// dv_rows [batch, hidden], then over the batch in order, so no thread ever shares a sum.
Grads additive_score_backward(const Tensor& g_in, const Tensor& t, const Tensor& v, const Dims& d,
                              bool gq, bool gk, bool gv) {
  const Tensor g = g_in.contiguous();
  Tensor dq = Tensor::zeros({d.batch, d.len_q, d.hidden});
  Tensor dk = Tensor::zeros({d.batch, d.len_k, d.hidden});
  Tensor dv_rows = Tensor::zeros({d.batch, d.hidden});
  const float *pg = g.data(), *pt = t.data(), *pv = v.data();
  float *pdq = dq.data(), *pdk = dk.data(), *pdv = dv_rows.data();
  const int64_t h = d.hidden;
#pragma omp parallel for schedule(static) if (d.work() >= kParallelGrain && d.batch > 1)
  for (int64_t b = 0; b < d.batch; ++b) {
    float* dvb = pdv + b * h;
    for (int64_t i = 0; i < d.len_q; ++i) {
      float* dqi = pdq + (b * d.len_q + i) * h;
      for (int64_t j = 0; j < d.len_k; ++j) {
        const float gij = pg[(b * d.len_q + i) * d.len_k + j];
        const float* tij = pt + ((b * d.len_q + i) * d.len_k + j) * h;
        float* dkj = pdk + (b * d.len_k + j) * h;
#pragma omp simd
        for (int64_t c = 0; c < h; ++c) {
          const float pre = gij * pv[c] * (1.f - tij[c] * tij[c]);
          dqi[c] += pre;
          dkj[c] += pre;
          dvb[c] += gij * tij[c];
        }
      }
    }
  }
  Tensor dv;
  if (gv) {
    dv = Tensor::zeros({h});
    float* out = dv.data();
    for (int64_t b = 0; b < d.batch; ++b)
      for (int64_t c = 0; c < h; ++c) out[c] += pdv[b * h + c];
  }
  return {gq ? dq : Tensor(), gk ? dk : Tensor(), dv};
}

}  // namespace

Tensor additive_score(const Tensor& q, const Tensor& k, const Tensor& v) {
  HEED_CHECK(q.dim() == 3 && k.dim() == 3 && v.dim() == 1 && q.size(0) == k.size(0) &&
                 q.size(2) == k.size(2) && v.size(0) == q.size(2),
             "additive_score: q ", q.shape(), ", k ", k.shape(), " and v ", v.shape(),
             " are not [batch, len_q, hidden], [batch, len_k, hidden] and [hidden]");
  const Dims d{q.size(0), q.size(1), k.size(1), q.size(2)};
  const Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
  Tensor t = Tensor::empty({d.batch, d.len_q, d.len_k, d.hidden});
  Tensor out = Tensor::empty({d.batch, d.len_q, d.len_k});
  const float *pq = qc.data(), *pk = kc.data(), *pv = vc.data();
  float *pt = t.data(), *po = out.data();
  const int64_t h = d.hidden;
#pragma omp parallel for schedule(static) if (d.work() >= kParallelGrain && d.batch > 1)
  for (int64_t b = 0; b < d.batch; ++b) {
    for (int64_t i = 0; i < d.len_q; ++i) {
      const float* qi = pq + (b * d.len_q + i) * h;
      for (int64_t j = 0; j < d.len_k; ++j) {
        const float* kj = pk + (b * d.len_k + j) * h;
        float* tij = pt + ((b * d.len_q + i) * d.len_k + j) * h;
        float score = 0.f;
#pragma omp simd reduction(+ : score)
        for (int64_t c = 0; c < h; ++c) {
          tij[c] = fast_tanh(qi[c] + kj[c]);
          score += tij[c] * pv[c];
        }
        po[(b * d.len_q + i) * d.len_k + j] = score;
      }
    }
  }
  const bool gq = needs_grad(q), gk = needs_grad(k), gv = needs_grad(v);
  return record("additive_score", out, {q, k, v},
                [t, v = vc, d, gq, gk, gv](const Tensor& g) -> Grads {
                  return additive_score_backward(g, t, v, d, gq, gk, gv);
                });
}

}  // namespace heed::ops

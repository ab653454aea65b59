#include "framework/ops/linear_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "framework/autograd.h"
#include "framework/ops/fastmath.h"
#include "framework/ops/kernels.h"

namespace heed::ops {

Tensor elu_plus_one(const Tensor& x) {
  Tensor out =
      unary_map(x, "elu_plus_one", [](float v) { return v > 0.f ? v + 1.f : fast_exp(v); });
  return record("elu_plus_one", out, {x}, [y = out.detach()](const Tensor& g) -> Grads {
    // d/dx: 1 where x > 0 (y > 1), exp(x) = y otherwise.
    return {binary_map(g, y, "elu_plus_one_backward",
                       [](float gv, float yv) { return yv > 1.f ? gv : gv * yv; })};
  });
}

namespace {

struct Dims {
  int64_t groups, seq, dk, dv;
};

// One (batch, head) slice: out_i = q_i^T S_i / (q_i . z_i + eps), and den_i saved for backward.
void causal_forward(const float* q, const float* k, const float* v, float* out, float* den,
                    const Dims& d, float eps, std::vector<float>& s, std::vector<float>& z) {
  std::fill(s.begin(), s.end(), 0.f);
  std::fill(z.begin(), z.end(), 0.f);
  for (int64_t i = 0; i < d.seq; ++i) {
    const float *qi = q + i * d.dk, *ki = k + i * d.dk, *vi = v + i * d.dv;
    float* oi = out + i * d.dv;
    std::fill(oi, oi + d.dv, 0.f);
    float dot = 0.f;
    // One pass over S per step: add k_i v_i^T to row a, then read the updated row for q_i^T S_i.
    for (int64_t a = 0; a < d.dk; ++a) {
      z[a] += ki[a];
      dot += qi[a] * z[a];
      float* sa = s.data() + a * d.dv;
#pragma omp simd
      for (int64_t b = 0; b < d.dv; ++b) {
        sa[b] += ki[a] * vi[b];
        oi[b] += qi[a] * sa[b];
      }
    }
    den[i] = dot + eps;
    const float inv = 1.f / den[i];
    for (int64_t b = 0; b < d.dv; ++b) oi[b] *= inv;
  }
}

// Gradients of one slice. With dnum_i = g_i / den_i and dden_i = -(g_i . out_i) / den_i:
//   dq_i = S_i dnum_i + z_i dden_i                       (forward sweep, S and z recomputed)
//   R_j = sum_{i>=j} q_i dnum_i^T, r_j = sum_{i>=j} q_i dden_i   (backward sweep)
//   dk_j = R_j v_j + r_j,  dv_j = R_j^T k_j
void causal_backward(const float* q, const float* k, const float* v, const float* out,
                     const float* den, const float* g, float* dq, float* dk, float* dv,
                     const Dims& d, std::vector<float>& s, std::vector<float>& z,
                     std::vector<float>& dnum, std::vector<float>& dden) {
  for (int64_t i = 0; i < d.seq; ++i) {
    float gdot = 0.f;
    for (int64_t b = 0; b < d.dv; ++b) {
      dnum[i * d.dv + b] = g[i * d.dv + b] / den[i];
      gdot += g[i * d.dv + b] * out[i * d.dv + b];
    }
    dden[i] = -gdot / den[i];
  }
  if (dq) {
    std::fill(s.begin(), s.end(), 0.f);
    std::fill(z.begin(), z.end(), 0.f);
    for (int64_t i = 0; i < d.seq; ++i) {
      const float *ki = k + i * d.dk, *vi = v + i * d.dv, *dni = dnum.data() + i * d.dv;
      for (int64_t a = 0; a < d.dk; ++a) {
        z[a] += ki[a];
        float* sa = s.data() + a * d.dv;
        float acc = 0.f;
#pragma omp simd reduction(+ : acc)
        for (int64_t b = 0; b < d.dv; ++b) {
          sa[b] += ki[a] * vi[b];
          acc += sa[b] * dni[b];
        }
        dq[i * d.dk + a] = acc + z[a] * dden[i];
      }
    }
  }
  if (!dk && !dv) return;
  std::vector<float>& r_mat = s;  // reuse: R [dk, dv], r [dk]
  std::vector<float>& r_vec = z;
  std::fill(r_mat.begin(), r_mat.end(), 0.f);
  std::fill(r_vec.begin(), r_vec.end(), 0.f);
  for (int64_t j = d.seq - 1; j >= 0; --j) {
    // k is read only for dv and v only for dk (the closure saves no more).
    const float *qj = q + j * d.dk, *kj = dv ? k + j * d.dk : nullptr,
                *vj = dk ? v + j * d.dv : nullptr;
    const float* dnj = dnum.data() + j * d.dv;
    float* dvj = dv ? dv + j * d.dv : nullptr;
    if (dvj) std::fill(dvj, dvj + d.dv, 0.f);
    // One pass over R per step: update row a, then read it for dk_j[a] and dv_j.
    for (int64_t a = 0; a < d.dk; ++a) {
      r_vec[a] += qj[a] * dden[j];
      float* ra = r_mat.data() + a * d.dv;
      float acc = 0.f;
      if (dvj && dk) {
#pragma omp simd reduction(+ : acc)
        for (int64_t b = 0; b < d.dv; ++b) {
          ra[b] += qj[a] * dnj[b];
          acc += ra[b] * vj[b];
          dvj[b] += ra[b] * kj[a];
        }
      } else if (dvj) {
#pragma omp simd
        for (int64_t b = 0; b < d.dv; ++b) {
          ra[b] += qj[a] * dnj[b];
          dvj[b] += ra[b] * kj[a];
        }
      } else {
#pragma omp simd reduction(+ : acc)
        for (int64_t b = 0; b < d.dv; ++b) {
          ra[b] += qj[a] * dnj[b];
          acc += ra[b] * vj[b];
        }
      }
      if (dk) dk[j * d.dk + a] = acc + r_vec[a];
    }
  }
}

}  // namespace

Tensor causal_linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, float eps) {
  HEED_CHECK(q.dim() >= 2 && q.shape() == k.shape() && v.dim() == q.dim() &&
                 std::equal(q.shape().begin(), q.shape().end() - 1, v.shape().begin()),
             "causal_linear_attention: q ", q.shape(), ", k ", k.shape(), " and v ", v.shape(),
             " are not [..., seq, d_k], [..., seq, d_k], [..., seq, d_v] with equal leading "
             "dimensions");
  const Dims d{q.numel() / std::max<int64_t>(q.size(-1) * q.size(-2), 1), q.size(-2), q.size(-1),
               v.size(-1)};
  const Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
  Tensor out = Tensor::empty(v.shape());
  Tensor den = Tensor::empty({d.groups, d.seq});
  const float *pq = qc.data(), *pk = kc.data(), *pv = vc.data();
  float *po = out.data(), *pden = den.data();
#pragma omp parallel
  {
    std::vector<float> s(d.dk * d.dv), z(d.dk);
#pragma omp for schedule(static)
    for (int64_t g = 0; g < d.groups; ++g)
      causal_forward(pq + g * d.seq * d.dk, pk + g * d.seq * d.dk, pv + g * d.seq * d.dv,
                     po + g * d.seq * d.dv, pden + g * d.seq, d, eps, s, z);
  }
  // dq reads k and v (S and z recomputed); dk reads q and v; dv reads q and k.
  const bool nq = needs_grad(q), nk = needs_grad(k), nv = needs_grad(v);
  return record(
      "causal_linear_attention", out, {q, k, v},
      [nq, nk, nv, d, den, sq = q.shape(), y = out.detach(), qc = nk || nv ? qc : Tensor(),
       kc = nq || nv ? kc : Tensor(), vc = nq || nk ? vc : Tensor()](const Tensor& grad) -> Grads {
        const Tensor gc = grad.contiguous();
        Tensor dq = nq ? Tensor::empty(sq) : Tensor();
        Tensor dk = nk ? Tensor::empty(sq) : Tensor();  // k's shape is q's
        Tensor dv = nv ? Tensor::empty(y.shape()) : Tensor();
        // `t`'s data from `offset` on, or null where the closure did not save `t`.
        auto at = [](const Tensor& t, int64_t offset) -> float* {
          return t.defined() ? t.data() + offset : nullptr;
        };
        const float *py = y.data(), *pd = den.data(), *pg = gc.data();
#pragma omp parallel
        {
          std::vector<float> s(d.dk * d.dv), z(d.dk), dnum(d.seq * d.dv), dden(d.seq);
#pragma omp for schedule(static)
          for (int64_t g = 0; g < d.groups; ++g) {
            const int64_t qo = g * d.seq * d.dk, vo = g * d.seq * d.dv;
            causal_backward(at(qc, qo), at(kc, qo), at(vc, vo), py + vo, pd + g * d.seq, pg + vo,
                            at(dq, qo), at(dk, qo), at(dv, vo), d, s, z, dnum, dden);
          }
        }
        return {dq, dk, dv};
      });
}

}  // namespace heed::ops

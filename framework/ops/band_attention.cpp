#include "framework/ops/band_attention.h"

#include <algorithm>
#include <limits>

#include "framework/autograd.h"

namespace heed::ops {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// The band of one call: `groups` slices (the leading dimensions) of `seq` rows, `width` keys per
// row from i - before on, vectors of `dim` floats (q and k's d, or v's d_v).
struct Band {
  int64_t groups, seq, width, before, dim;
  // The t range of row i whose keys lie inside [0, seq).
  int64_t first(int64_t i) const { return std::max<int64_t>(0, before - i); }
  int64_t last(int64_t i) const { return std::min(width, seq + before - i); }
  // Where row i's key t (inside the sequence) starts in slice g's [seq, dim] vectors.
  int64_t key(int64_t g, int64_t i, int64_t t) const { return (g * seq + i - before + t) * dim; }
};

int64_t groups_of(const Tensor& t) {
  return t.numel() / std::max<int64_t>(t.size(-1) * t.size(-2), 1);
}

bool same_leading(const Tensor& a, const Tensor& b) {
  return a.dim() >= 2 && a.dim() == b.dim() &&
         std::equal(a.shape().begin(), a.shape().end() - 1, b.shape().begin());
}

float dot(const float* a, const float* b, int64_t n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t c = 0; c < n; ++c) s += a[c] * b[c];
  return s;
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) y[c] += alpha * x[c];
}

// out[i, t] = a_i . b_{i - before + t}, `outside` off the sequence: band_scores' forward and
// band_matmul's gradient for the weights.
void band_dots(const float* a, const float* b, float* out, const Band& d, float outside) {
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < d.groups; ++g)
    for (int64_t i = 0; i < d.seq; ++i) {
      const float* ai = a + (g * d.seq + i) * d.dim;
      float* oi = out + (g * d.seq + i) * d.width;
      const int64_t t0 = d.first(i), t1 = d.last(i);
      for (int64_t t = 0; t < d.width; ++t)
        oi[t] = t >= t0 && t < t1 ? dot(ai, b + d.key(g, i, t), d.dim) : outside;
    }
}

// For every (i, t) in the band, with j = i - before + t: out_i += w[i, t] x_j (to_keys false:
// band_matmul's forward, band_scores' gradient for q), or out_j += w[i, t] x_i (to_keys true: the
// gradient for the keys, band_scores' k and band_matmul's v). Either way a slice writes only its
// own rows, so the slices run in parallel.
void band_accumulate(const float* w, const float* x, float* out, const Band& d, bool to_keys) {
  std::fill(out, out + d.groups * d.seq * d.dim, 0.f);
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < d.groups; ++g)
    for (int64_t i = 0; i < d.seq; ++i) {
      const float* wi = w + (g * d.seq + i) * d.width;
      const int64_t row = (g * d.seq + i) * d.dim;
      for (int64_t t = d.first(i); t < d.last(i); ++t) {
        const int64_t key = d.key(g, i, t);
        if (to_keys)
          axpy(wi[t], x + row, out + key, d.dim);
        else
          axpy(wi[t], x + key, out + row, d.dim);
      }
    }
}

}  // namespace

Tensor band_scores(const Tensor& q, const Tensor& k, int64_t before, int64_t after) {
  HEED_CHECK(same_leading(q, k) && q.shape() == k.shape(), "band_scores: q ", q.shape(), " and k ",
             k.shape(), " are not both [..., seq, d]");
  HEED_CHECK(before >= 0 && after >= 0, "band_scores: before ", before, " and after ", after,
             " must be nonnegative");
  const Band d{groups_of(q), q.size(-2), before + 1 + after, before, q.size(-1)};
  const Tensor qc = q.contiguous(), kc = k.contiguous();
  Shape shape = q.shape();
  shape.back() = d.width;
  Tensor out = Tensor::empty(shape);
  band_dots(qc.data(), kc.data(), out.data(), d, -kInf);
  const bool nq = needs_grad(q), nk = needs_grad(k);
  return record("band_scores", out, {q, k},
                [d, nq, nk, qc = nk ? qc : Tensor(), kc = nq ? kc : Tensor()](const Tensor& grad) {
                  const Tensor gc = grad.contiguous();
                  Tensor dq = nq ? Tensor::empty(kc.shape()) : Tensor();
                  Tensor dk = nk ? Tensor::empty(qc.shape()) : Tensor();
                  // dq_i = sum_t g_it k_j, dk_j = sum over its rows of g_it q_i.
                  if (nq) band_accumulate(gc.data(), kc.data(), dq.data(), d, false);
                  if (nk) band_accumulate(gc.data(), qc.data(), dk.data(), d, true);
                  return Grads{dq, dk};
                });
}

Tensor band_matmul(const Tensor& weights, const Tensor& v, int64_t before) {
  const int64_t width = weights.size(-1);
  HEED_CHECK(
      same_leading(weights, v) && weights.size(-2) == v.size(-2) && before >= 0 && before < width,
      "band_matmul: weights ", weights.shape(), " and v ", v.shape(),
      " are not [..., seq, width] and [..., seq, d_v] with 0 <= before (", before, ") < width");
  const Band d{groups_of(v), v.size(-2), width, before, v.size(-1)};
  const Tensor wc = weights.contiguous(), vc = v.contiguous();
  Tensor out = Tensor::empty(v.shape());
  band_accumulate(wc.data(), vc.data(), out.data(), d, false);
  const bool nw = needs_grad(weights), nv = needs_grad(v);
  return record("band_matmul", out, {weights, v},
                [d, nw, nv, sw = weights.shape(), wc = nv ? wc : Tensor(),
                 vc = nw ? vc : Tensor()](const Tensor& grad) {
                  const Tensor gc = grad.contiguous();
                  Tensor dw = nw ? Tensor::empty(sw) : Tensor();
                  Tensor dv = nv ? Tensor::empty(gc.shape()) : Tensor();
                  // dw_it = g_i . v_j, dv_j = sum over its rows of w_it g_i.
                  if (nw) band_dots(gc.data(), vc.data(), dw.data(), d, 0.f);
                  if (nv) band_accumulate(wc.data(), gc.data(), dv.data(), d, true);
                  return Grads{dw, dv};
                });
}

namespace {

// The band [groups, seq, width] written into its columns of the dense [groups, seq, seq] (the
// rest of dense is left as it is), and read back (entries outside the sequence: 0).
void band_into_dense(const float* band, float* dense, const Band& d) {
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < d.groups; ++g)
    for (int64_t i = 0; i < d.seq; ++i)
      for (int64_t t = d.first(i); t < d.last(i); ++t)
        dense[(g * d.seq + i) * d.seq + i - d.before + t] = band[(g * d.seq + i) * d.width + t];
}

void dense_into_band(const float* dense, float* band, const Band& d) {
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < d.groups; ++g)
    for (int64_t i = 0; i < d.seq; ++i)
      for (int64_t t = 0; t < d.width; ++t)
        band[(g * d.seq + i) * d.width + t] =
            t >= d.first(i) && t < d.last(i) ? dense[(g * d.seq + i) * d.seq + i - d.before + t]
                                             : 0.f;
}

}  // namespace

Tensor band_to_dense(const Tensor& weights, int64_t before) {
  HEED_CHECK(weights.dim() >= 2 && before >= 0 && before < weights.size(-1),
             "band_to_dense: ", weights.shape(), " is not [..., seq, width] with 0 <= before (",
             before, ") < width");
  const Band d{groups_of(weights), weights.size(-2), weights.size(-1), before, 0};
  const Tensor wc = weights.contiguous();
  Shape shape = weights.shape();
  shape.back() = d.seq;
  Tensor dense = Tensor::zeros(shape);
  band_into_dense(wc.data(), dense.data(), d);
  return record("band_to_dense", dense, {weights}, [d, sw = weights.shape()](const Tensor& grad) {
    const Tensor gc = grad.contiguous();
    Tensor dw = Tensor::empty(sw);
    dense_into_band(gc.data(), dw.data(), d);
    return Grads{dw};
  });
}

Tensor band_key_mask(const Tensor& key_padding_mask, int64_t before, int64_t after) {
  HEED_CHECK(key_padding_mask.dim() == 2 && before >= 0 && after >= 0,
             "band_key_mask: key_padding_mask ", key_padding_mask.shape(),
             " is not [batch, seq], or before ", before, " or after ", after, " is negative");
  const int64_t batch = key_padding_mask.size(0), seq = key_padding_mask.size(1);
  const Band d{batch, seq, before + 1 + after, before, 1};
  const Tensor padding = key_padding_mask.to(Dtype::Float32).contiguous();
  Tensor mask = Tensor::empty({batch, 1, seq, d.width});
  const float* p = padding.data();
  float* m = mask.data();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < seq; ++i)
      for (int64_t t = 0; t < d.width; ++t) {
        const bool inside = t >= d.first(i) && t < d.last(i);
        m[(b * seq + i) * d.width + t] = !inside || p[d.key(b, i, t)] != 0.f ? 1.f : 0.f;
      }
  return mask;
}

}  // namespace heed::ops

#include "framework/ops/nn.h"

#include <cmath>
#include <limits>

#include "framework/autograd.h"
#include "framework/ops/iter.h"
#include "framework/ops/softmax.h"
#include "framework/random.h"

namespace heed::ops {

Tensor embedding(const Tensor& weight, const Tensor& ids, int64_t padding_idx) {
  HEED_CHECK(weight.dim() == 2, "embedding: weight must be [num_embeddings, embedding_dim], got ",
             weight.shape());
  HEED_CHECK(ids.dtype() == Dtype::Int64, "embedding: ids must be int64, got float32 of shape ",
             ids.shape());
  const int64_t rows = weight.size(0), d = weight.size(1), n = ids.numel();
  const Tensor w = weight.contiguous();
  const Tensor idc = ids.contiguous();
  const int64_t* id = idc.data_i64();
  for (int64_t i = 0; i < n; ++i)
    HEED_CHECK(id[i] >= 0 && id[i] < rows, "embedding: id ", id[i], " at position ", i,
               " is out of range for num_embeddings=", rows);
  Shape shape = ids.shape();
  shape.push_back(d);
  Tensor out = Tensor::empty(shape);
  float* q = out.data();
#pragma omp parallel for schedule(static) if (n * d >= kParallelGrain)
  for (int64_t i = 0; i < n; ++i)
    std::copy(w.data() + id[i] * d, w.data() + (id[i] + 1) * d, q + i * d);
  return record("embedding", out, {weight}, [idc, rows, d, padding_idx](const Tensor& g) -> Grads {
    // Serial scatter-add: ids repeat, and the order of additions stays fixed run to run.
    const Tensor gc = g.contiguous();
    Tensor gw = Tensor::zeros({rows, d});
    const int64_t* id = idc.data_i64();
    for (int64_t i = 0; i < idc.numel(); ++i) {
      if (id[i] == padding_idx) continue;
      float* dst = gw.data() + id[i] * d;
      const float* src = gc.data() + i * d;
      for (int64_t j = 0; j < d; ++j) dst[j] += src[j];
    }
    return {gw};
  });
}

Tensor dropout(const Tensor& x, float p, bool training, Generator& gen) {
  HEED_CHECK(p >= 0.f && p <= 1.f, "dropout: probability has to be between 0 and 1, but got ", p);
  if (!training || p == 0.f) return x;
  const Tensor in = x.contiguous();
  const int64_t n = x.numel();
  const uint64_t key = gen.next_u64();
  const float scale = p < 1.f ? 1.f / (1.f - p) : 0.f;
  // The mask holds 0 or scale, so the backward is one multiply.
  Tensor mask = Tensor::empty(x.shape());
  Tensor out = Tensor::empty(x.shape());
  float *m = mask.data(), *q = out.data();
  const float* v = in.data();
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    m[i] = counter_uniform(key, static_cast<uint64_t>(i)) >= p ? scale : 0.f;
    q[i] = v[i] * m[i];
  }
  return record("dropout", out, {x}, [mask](const Tensor& g) -> Grads {
    const Tensor gc = g.contiguous();
    Tensor dx = Tensor::empty(mask.shape());
    const int64_t n = mask.numel();
    float* d = dx.data();
    const float *pg = gc.data(), *pm = mask.data();
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain)
    for (int64_t i = 0; i < n; ++i) d[i] = pg[i] * pm[i];
    return {dx};
  });
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                     float label_smoothing) {
  HEED_CHECK(logits.dim() == 2, "cross_entropy: logits must be [N, C], got ", logits.shape());
  HEED_CHECK(targets.dtype() == Dtype::Int64 && targets.shape() == Shape{logits.size(0)},
             "cross_entropy: targets must be int64 [N] for logits ", logits.shape(), ", got ",
             dtype_name(targets.dtype()), " ", targets.shape());
  HEED_CHECK(label_smoothing >= 0.f && label_smoothing <= 1.f,
             "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  const int64_t n = logits.size(0), c = logits.size(1);
  const Tensor tc = targets.contiguous();
  const int64_t* t = tc.data_i64();
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (t[i] == ignore_index) continue;
    HEED_CHECK(t[i] >= 0 && t[i] < c, "cross_entropy: target ", t[i], " at position ", i,
               " is out of range for ", c, " classes");
    ++kept;
  }
  Tensor logp = [&] {
    NoGradGuard no_grad;
    return log_softmax(logits, -1);
  }();
  const float* lp = logp.data();
  const float eps = label_smoothing;
  double total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static) if (n * c >= kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    if (t[i] == ignore_index) continue;
    double all = 0;
    for (int64_t j = 0; j < c; ++j) all += lp[i * c + j];
    total += -(1.0 - eps) * lp[i * c + t[i]] - eps * all / c;
  }
  const float loss =
      kept ? static_cast<float>(total / kept) : std::numeric_limits<float>::quiet_NaN();
  Tensor out = Tensor::scalar(loss);
  return record("cross_entropy", out, {logits},
                [logp, tc, kept, eps, ignore_index](const Tensor& g) -> Grads {
                  // d loss / d logits_i = (softmax_i - q_i) / kept, with q the smoothed target
                  // distribution.
                  const int64_t n = logp.size(0), c = logp.size(1);
                  const int64_t* t = tc.data_i64();
                  const float scale = kept ? g.item() / static_cast<float>(kept) : 0.f;
                  Tensor dx = Tensor::zeros({n, c});
#pragma omp parallel for schedule(static) if (n * c >= kParallelGrain)
                  for (int64_t i = 0; i < n; ++i) {
                    if (t[i] == ignore_index) continue;
                    const float* lp = logp.data() + i * c;
                    float* d = dx.data() + i * c;
                    for (int64_t j = 0; j < c; ++j) d[j] = scale * (std::exp(lp[j]) - eps / c);
                    d[t[i]] -= scale * (1.f - eps);
                  }
                  return {dx};
                });
}

namespace {

// The mean over the elements of loss(input - target), whose derivative in the difference is
// grad; the gradient of target is the negated gradient of input.
template <class Loss, class Grad>
Tensor pointwise_loss(const char* op, const Tensor& input, const Tensor& target, Loss loss,
                      Grad grad) {
  HEED_CHECK(input.dtype() == Dtype::Float32 && target.dtype() == Dtype::Float32, op,
             ": expected float32 tensors, got ", dtype_name(input.dtype()), " and ",
             dtype_name(target.dtype()));
  HEED_CHECK(input.shape() == target.shape(), op, ": input of shape ", input.shape(),
             " and target of shape ", target.shape(), " differ");
  const Tensor x = input.contiguous(), y = target.contiguous();
  const int64_t n = x.numel();
  const float *px = x.data(), *py = y.data();
  double total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static) if (n >= kParallelGrain)
  for (int64_t i = 0; i < n; ++i) total += loss(static_cast<double>(px[i]) - py[i]);
  Tensor out = Tensor::scalar(n ? static_cast<float>(total / static_cast<double>(n))
                                : std::numeric_limits<float>::quiet_NaN());
  return record(op, out, {input, target}, [x, y, grad](const Tensor& g) -> Grads {
    const int64_t n = x.numel();
    const float scale = g.item() / static_cast<float>(n);
    Tensor dx = Tensor::empty(x.shape()), dy = Tensor::empty(x.shape());
    const float *px = x.data(), *py = y.data();
    float *pdx = dx.data(), *pdy = dy.data();
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
    for (int64_t i = 0; i < n; ++i) {
      pdx[i] = scale * grad(px[i] - py[i]);
      pdy[i] = -pdx[i];
    }
    return {dx, dy};
  });
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target) {
  return pointwise_loss(
      "mse_loss", input, target, [](double d) { return d * d; }, [](float d) { return 2.f * d; });
}

Tensor huber_loss(const Tensor& input, const Tensor& target, float delta) {
  HEED_CHECK(delta > 0.f, "huber_loss: delta must be positive, got ", delta);
  return pointwise_loss(
      "huber_loss", input, target,
      [delta](double d) {
        const double a = std::abs(d);
        return a < delta ? 0.5 * d * d : delta * (a - 0.5 * delta);
      },
      [delta](float d) { return std::abs(d) < delta ? d : (d > 0 ? delta : -delta); });
}

}  // namespace heed::ops

#include "layers/positional.h"

#include <cmath>
#include <sstream>

#include "framework/ops.h"

namespace heed::nn {

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(int64_t d, int64_t len)
    : d_model(d), max_len(len) {
  HEED_CHECK(d > 0 && len > 0, "SinusoidalPositionalEncoding: d_model ", d, " and max_len ", len,
             " must be positive");
  pe = Tensor::empty({len, d});
  float* p = pe.data();
  for (int64_t pos = 0; pos < len; ++pos)
    for (int64_t i = 0; i < d; ++i) {
      // Pair (2m, 2m+1) shares the frequency 10000^(-2m/d_model).
      const double freq =
          std::pow(10000.0, -static_cast<double>(i - i % 2) / static_cast<double>(d));
      const double angle = static_cast<double>(pos) * freq;
      p[pos * d + i] = static_cast<float>(i % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
}

Tensor SinusoidalPositionalEncoding::forward(const Tensor& x) const {
  HEED_CHECK(x.dim() == 3 && x.size(2) == d_model && x.size(1) <= max_len,
             "SinusoidalPositionalEncoding: input ", x.shape(), " is not [batch, seq <= ", max_len,
             ", ", d_model, "]");
  return x + pe.narrow(0, 0, x.size(1));
}

std::string SinusoidalPositionalEncoding::repr() const {
  std::ostringstream out;
  out << "SinusoidalPositionalEncoding(d_model=" << d_model << ", max_len=" << max_len << ")";
  return out.str();
}

namespace {

// Rotates the pairs of x [..., seq, dim] by sign * (pos + offset) * base^(-2i/dim).
Tensor rotate(const Tensor& x, int64_t offset, float base, float sign) {
  const Tensor in = x.contiguous();
  Tensor out = Tensor::empty(x.shape());
  const int64_t seq = x.size(-2), dim = x.size(-1), half = dim / 2;
  const int64_t groups = seq * dim == 0 ? 0 : x.numel() / (seq * dim);
  std::vector<float> cos_t(seq * half), sin_t(seq * half);
  for (int64_t p = 0; p < seq; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double theta = static_cast<double>(p + offset) *
                           std::pow(static_cast<double>(base), -2.0 * i / static_cast<double>(dim));
      cos_t[p * half + i] = static_cast<float>(std::cos(theta));
      sin_t[p * half + i] = sign * static_cast<float>(std::sin(theta));
    }
  const float* src = in.data();
  float* dst = out.data();
#pragma omp parallel for schedule(static) if (x.numel() >= 32768)
  for (int64_t r = 0; r < groups * seq; ++r) {
    const int64_t p = r % seq;
    const float *a = src + r * dim, *c = cos_t.data() + p * half, *s = sin_t.data() + p * half;
    float* y = dst + r * dim;
    for (int64_t i = 0; i < half; ++i) {
      y[2 * i] = a[2 * i] * c[i] - a[2 * i + 1] * s[i];
      y[2 * i + 1] = a[2 * i] * s[i] + a[2 * i + 1] * c[i];
    }
  }
  return out;
}

}  // namespace

Tensor apply_rotary(const Tensor& x, int64_t offset, float base) {
  HEED_CHECK(x.dim() >= 2 && x.size(-1) % 2 == 0, "apply_rotary: input ", x.shape(),
             " is not [..., seq, head_dim] with an even head_dim");
  HEED_CHECK(base > 0.f, "apply_rotary: base ", base, " must be positive");
  // The rotation is orthogonal, so the backward is the inverse rotation of the gradient.
  return record(
      "apply_rotary", rotate(x, offset, base, 1.f), {x},
      [offset, base](const Tensor& g) -> Grads { return {rotate(g, offset, base, -1.f)}; });
}

Tensor alibi_slopes(int64_t heads) {
  HEED_CHECK(heads > 0, "alibi_slopes: heads ", heads, " must be positive");
  Tensor m = Tensor::empty({heads});
  for (int64_t h = 1; h <= heads; ++h)
    m.data()[h - 1] = static_cast<float>(std::pow(2.0, -8.0 * h / static_cast<double>(heads)));
  return m;
}

Tensor alibi_bias(int64_t heads, int64_t query, int64_t key) {
  HEED_CHECK(query >= 0 && key >= 0, "alibi_bias: query ", query, " and key ", key,
             " must be nonnegative");
  const Tensor m = alibi_slopes(heads);
  Tensor bias = Tensor::empty({heads, query, key});
  float* p = bias.data();
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < query; ++i)
      for (int64_t j = 0; j < key; ++j)
        p[(h * query + i) * key + j] = -m.data()[h] * static_cast<float>(std::abs(i - j));
  return bias;
}

}  // namespace heed::nn

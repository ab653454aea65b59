#pragma once
// exp, sigmoid and tanh written so the compiler vectorizes them: libm's expf and tanhf are scalar
// calls, which made them the largest cost of an LSTM step (perf: expm1f 26% of rowlstm_fmnist).
// GCC vectorizes them only without floorf and without a result computed under a condition (both
// block it under the default -ftrapping-math), so n is rounded by adding and subtracting 1.5 * 2^23
// and the underflow to 0 selects the scale's bits rather than the result.
//
// exp uses Cody-Waite range reduction, x = n ln2 + r with |r| <= ln2/2, and the degree-6 Taylor
// polynomial of e^r (relative error below 2.5e-7, at most 2 ulp, tested over the float range),
// then scales by 2^n through the exponent bits. Inputs are clamped to [-87.3, 88.73]: e^x is a
// normal float up to ln(FLT_MAX) = 88.7228 and inf above it, as expf, and below -87.3 it is 0:
// exp(-inf) must be exactly 0 for softmax over masked (-inf) scores, or a row whose every key is
// masked gets uniform weights instead of zeros.

#include <cstdint>
#include <cstring>

namespace heed::ops {

inline float fast_exp(float x) {
  const bool underflow = x < -87.3f;
  // Above ln(FLT_MAX) = 88.7228 the product below overflows to inf, as expf does.
  x = underflow ? -87.3f : (x > 88.73f ? 88.73f : x);
  constexpr float kRound = 12582912.f;  // 1.5 * 2^23: x + kRound - kRound is x rounded to nearest
  const float n = (x * 1.44269504088896341f + kRound) - kRound;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;  // ln2 split in two for exactness
  float p = 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  // 2^n for n = 128 (x in (88.38, 88.72], e^x still finite) has no float: scale by 2^127 and 2.
  const float top = n > 127.f ? 1.f : 0.f;
  const int32_t bits = underflow ? 0 : (static_cast<int32_t>(n - top) + 127) << 23;  // 2^n or 0
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * (1.f + top) * scale;
}

inline float fast_sigmoid(float x) {
  return 1.f / (1.f + fast_exp(-x));
}

/// tanh(x) = 1 - 2 / (e^{2x} + 1): exact at the saturated ends, and for small |x| the cancellation
/// costs absolute error ~1e-7, which is below float32's resolution of the gradient checks.
inline float fast_tanh(float x) {
  return 1.f - 2.f / (fast_exp(2.f * x) + 1.f);
}

}  // namespace heed::ops

#pragma once
// Elementwise ops with NumPy/PyTorch broadcasting: add, sub, mul, div, pow, neg, exp, log, sqrt,
// tanh, sigmoid, relu, gelu, masked_fill. Forward kernels are OpenMP loops; each backward is a
// fused elementwise kernel on the saved input or output (whichever the derivative needs), reduced
// to the input's shape by sum_to where broadcasting widened it.

#include "framework/tensor.h"

namespace heed::ops {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
/// a ** b elementwise; the gradient for b uses log(a), so b's gradient needs a > 0.
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, float exponent);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
/// max(x, 0); the gradient at exactly 0 is 0, as in PyTorch.
Tensor relu(const Tensor& x);
/// The exact GELU, x * Phi(x) with Phi the standard normal CDF (Hendrycks & Gimpel 2016), as
/// PyTorch's default approximate="none".
Tensor gelu(const Tensor& x);
/// x where mask == 0, `value` where mask != 0. `mask` (float32 or int64) broadcasts to x's shape.
Tensor masked_fill(const Tensor& x, const Tensor& mask, float value);

}  // namespace heed::ops

namespace heed {
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, float b);
Tensor operator-(const Tensor& a, float b);
Tensor operator*(const Tensor& a, float b);
Tensor operator/(const Tensor& a, float b);
Tensor operator+(float a, const Tensor& b);
Tensor operator-(float a, const Tensor& b);
Tensor operator*(float a, const Tensor& b);
Tensor operator/(float a, const Tensor& b);
}  // namespace heed

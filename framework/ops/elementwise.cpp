#include "framework/ops/elementwise.h"

#include <cmath>

#include "framework/autograd.h"
#include "framework/ops/fastmath.h"
#include "framework/ops/iter.h"
#include "framework/ops/shape.h"

namespace heed::ops {

namespace {

float* raw(const Tensor& t) {
  return static_cast<float*>(t.impl().storage->data);
}

void check_float(const Tensor& t, const char* op) {
  HEED_CHECK(t.dtype() == Dtype::Float32, op, ": expected a float32 tensor, got ",
             dtype_name(t.dtype()), " of shape ", t.shape());
}

template <class F>
Tensor unary_map(const Tensor& x, const char* op, F f) {
  check_float(x, op);
  const Tensor in = x.contiguous();
  Tensor out = Tensor::empty(x.shape());
  const float* p = in.data();
  float* q = out.data();
  const int64_t n = x.numel();
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain)
  for (int64_t i = 0; i < n; ++i) q[i] = f(p[i]);
  return out;
}

template <class F>
Tensor binary_map(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_float(a, op);
  check_float(b, op);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(shape);
  float* q = out.data();
  if (a.shape() == shape && b.shape() == shape && a.is_contiguous() && b.is_contiguous()) {
    const float* pa = a.data();
    const float* pb = b.data();
    const int64_t n = out.numel();
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain)
    for (int64_t i = 0; i < n; ++i) q[i] = f(pa[i], pb[i]);
    return out;
  }
  const float* ra = raw(a);
  const float* rb = raw(b);
  for_each_row<3>(
      shape, {out.strides(), broadcast_strides(a, shape), broadcast_strides(b, shape)},
      {0, a.offset(), b.offset()},
      [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& st) {
        float* o = q + off[0];
        const float* x = ra + off[1];
        const float* y = rb + off[2];
        if (st[1] == 1 && st[2] == 1) {
          for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
        } else if (st[1] == 1 && st[2] == 0) {
          const float yv = *y;
          for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
        } else {
          for (int64_t i = 0; i < n; ++i) o[i] = f(x[i * st[1]], y[i * st[2]]);
        }
      });
  return out;
}

Tensor scalar_like(float v) {
  return Tensor::scalar(v);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_map(a, b, "add", [](float x, float y) { return x + y; });
  return record("add", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) -> Grads {
    return {sum_to(g, sa), sum_to(g, sb)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_map(a, b, "sub", [](float x, float y) { return x - y; });
  return record("sub", out, {a, b},
                [sa = a.shape(), sb = b.shape(), gb = needs_grad(b)](const Tensor& g) -> Grads {
                  return {sum_to(g, sa), gb ? sum_to(neg(g), sb) : Tensor()};
                });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_map(a, b, "mul", [](float x, float y) { return x * y; });
  return record("mul", out, {a, b}, [a, b](const Tensor& g) -> Grads {
    return {needs_grad(a) ? sum_to(mul(g, b), a.shape()) : Tensor(),
            needs_grad(b) ? sum_to(mul(g, a), b.shape()) : Tensor()};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_map(a, b, "div", [](float x, float y) { return x / y; });
  return record("div", out, {a, b}, [a, b, y = out.detach()](const Tensor& g) -> Grads {
    // d(a/b)/db = -(a/b)/b
    return {needs_grad(a) ? sum_to(div(g, b), a.shape()) : Tensor(),
            needs_grad(b) ? sum_to(neg(div(mul(g, y), b)), b.shape()) : Tensor()};
  });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_map(a, b, "pow", [](float x, float y) { return std::pow(x, y); });
  return record("pow", out, {a, b}, [a, b, y = out.detach()](const Tensor& g) -> Grads {
    Tensor ga, gb;
    if (needs_grad(a)) ga = sum_to(mul(g, mul(b, pow(a, sub(b, scalar_like(1.f))))), a.shape());
    if (needs_grad(b)) gb = sum_to(mul(g, mul(y, log(a))), b.shape());
    return {ga, gb};
  });
}

Tensor pow(const Tensor& a, float p) {
  Tensor out = unary_map(a, "pow", [p](float x) { return std::pow(x, p); });
  return record("pow", out, {a}, [a, p](const Tensor& g) -> Grads {
    return {binary_map(g, a, "pow_backward",
                       [p](float gv, float x) { return gv * p * std::pow(x, p - 1.f); })};
  });
}

Tensor neg(const Tensor& x) {
  Tensor out = unary_map(x, "neg", [](float v) { return -v; });
  return record("neg", out, {x}, [](const Tensor& g) -> Grads { return {neg(g)}; });
}

Tensor exp(const Tensor& x) {
  Tensor out = unary_map(x, "exp", [](float v) { return fast_exp(v); });
  return record("exp", out, {x},
                [y = out.detach()](const Tensor& g) -> Grads { return {mul(g, y)}; });
}

Tensor log(const Tensor& x) {
  Tensor out = unary_map(x, "log", [](float v) { return std::log(v); });
  return record("log", out, {x}, [x](const Tensor& g) -> Grads { return {div(g, x)}; });
}

Tensor sqrt(const Tensor& x) {
  Tensor out = unary_map(x, "sqrt", [](float v) { return std::sqrt(v); });
  return record("sqrt", out, {x}, [y = out.detach()](const Tensor& g) -> Grads {
    return {binary_map(g, y, "sqrt_backward", [](float gv, float yv) { return 0.5f * gv / yv; })};
  });
}

Tensor tanh(const Tensor& x) {
  Tensor out = unary_map(x, "tanh", [](float v) { return fast_tanh(v); });
  return record("tanh", out, {x}, [y = out.detach()](const Tensor& g) -> Grads {
    return {
        binary_map(g, y, "tanh_backward", [](float gv, float yv) { return gv * (1.f - yv * yv); })};
  });
}

Tensor sigmoid(const Tensor& x) {
  Tensor out = unary_map(x, "sigmoid", [](float v) { return fast_sigmoid(v); });
  return record("sigmoid", out, {x}, [y = out.detach()](const Tensor& g) -> Grads {
    return {binary_map(g, y, "sigmoid_backward",
                       [](float gv, float yv) { return gv * yv * (1.f - yv); })};
  });
}

Tensor relu(const Tensor& x) {
  Tensor out = unary_map(x, "relu", [](float v) { return v > 0.f ? v : 0.f; });
  return record("relu", out, {x}, [y = out.detach()](const Tensor& g) -> Grads {
    return {
        binary_map(g, y, "relu_backward", [](float gv, float yv) { return yv > 0.f ? gv : 0.f; })};
  });
}

Tensor gelu(const Tensor& x) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  constexpr float kInvSqrt2Pi = 0.39894228040143268f;
  Tensor out =
      unary_map(x, "gelu", [](float v) { return 0.5f * v * (1.f + std::erf(v * kInvSqrt2)); });
  return record("gelu", out, {x}, [x](const Tensor& g) -> Grads {
    return {binary_map(g, x, "gelu_backward", [](float gv, float v) {
      const float cdf = 0.5f * (1.f + std::erf(v * kInvSqrt2));
      const float pdf = kInvSqrt2Pi * std::exp(-0.5f * v * v);
      return gv * (cdf + v * pdf);
    })};
  });
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, float value) {
  const Tensor m = mask.dtype() == Dtype::Float32 ? mask : mask.to(Dtype::Float32);
  HEED_CHECK(broadcast_shapes(x.shape(), m.shape(), "masked_fill") == x.shape(),
             "masked_fill: mask of shape ", mask.shape(),
             " does not broadcast to the input's shape ", x.shape());
  Tensor out =
      binary_map(x, m, "masked_fill", [value](float v, float k) { return k != 0.f ? value : v; });
  return record("masked_fill", out, {x}, [m](const Tensor& g) -> Grads {
    return {binary_map(g, m, "masked_fill_backward",
                       [](float gv, float k) { return k != 0.f ? 0.f : gv; })};
  });
}

}  // namespace heed::ops

namespace heed {
Tensor operator+(const Tensor& a, const Tensor& b) {
  return ops::add(a, b);
}
Tensor operator-(const Tensor& a, const Tensor& b) {
  return ops::sub(a, b);
}
Tensor operator*(const Tensor& a, const Tensor& b) {
  return ops::mul(a, b);
}
Tensor operator/(const Tensor& a, const Tensor& b) {
  return ops::div(a, b);
}
Tensor operator-(const Tensor& x) {
  return ops::neg(x);
}
Tensor operator+(const Tensor& a, float b) {
  return ops::add(a, Tensor::scalar(b));
}
Tensor operator-(const Tensor& a, float b) {
  return ops::sub(a, Tensor::scalar(b));
}
Tensor operator*(const Tensor& a, float b) {
  return ops::mul(a, Tensor::scalar(b));
}
Tensor operator/(const Tensor& a, float b) {
  return ops::div(a, Tensor::scalar(b));
}
Tensor operator+(float a, const Tensor& b) {
  return ops::add(Tensor::scalar(a), b);
}
Tensor operator-(float a, const Tensor& b) {
  return ops::sub(Tensor::scalar(a), b);
}
Tensor operator*(float a, const Tensor& b) {
  return ops::mul(Tensor::scalar(a), b);
}
Tensor operator/(float a, const Tensor& b) {
  return ops::div(Tensor::scalar(a), b);
}
}  // namespace heed

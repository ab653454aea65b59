#include "framework/ops/elementwise.h"

#include <cmath>

#include "framework/autograd.h"
#include "framework/ops/fastmath.h"
#include "framework/ops/kernels.h"
#include "framework/ops/shape.h"

namespace heed::ops {

namespace {

Tensor scalar_like(float v) {
  return Tensor::scalar(v);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_map(a, b, "add", [](float x, float y) { return x + y; });
  return record("add", out, {a, b},
                [sa = a.shape(), sb = b.shape(), ga = needs_grad(a),
                 gb = needs_grad(b)](const Tensor& g) -> Grads {
                  return {ga ? sum_to(g, sa) : Tensor(), gb ? sum_to(g, sb) : Tensor()};
                });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_map(a, b, "sub", [](float x, float y) { return x - y; });
  return record("sub", out, {a, b},
                [sa = a.shape(), sb = b.shape(), ga = needs_grad(a),
                 gb = needs_grad(b)](const Tensor& g) -> Grads {
                  return {ga ? sum_to(g, sa) : Tensor(), gb ? sum_to(neg(g), sb) : Tensor()};
                });
}

// The binary ops below save an operand only when the gradient that reads it is needed.

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_map(a, b, "mul", [](float x, float y) { return x * y; });
  const bool ga = needs_grad(a), gb = needs_grad(b);
  // grad_a = g * b, grad_b = g * a.
  return record(
      "mul", out, {a, b},
      [ga, gb, sa = a.shape(), sb = b.shape(), a = gb ? a : Tensor(),
       b = ga ? b : Tensor()](const Tensor& g) -> Grads {
        return {ga ? sum_to(mul(g, b), sa) : Tensor(), gb ? sum_to(mul(g, a), sb) : Tensor()};
      });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_map(a, b, "div", [](float x, float y) { return x / y; });
  const bool ga = needs_grad(a), gb = needs_grad(b);
  // grad_a = g / b, grad_b = -(g * y) / b with y = a / b: b and the output, never a.
  return record("div", out, {a, b},
                [ga, gb, sa = a.shape(), sb = b.shape(), b,
                 y = gb ? out.detach() : Tensor()](const Tensor& g) -> Grads {
                  return {ga ? sum_to(div(g, b), sa) : Tensor(),
                          gb ? sum_to(neg(div(mul(g, y), b)), sb) : Tensor()};
                });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_map(a, b, "pow", [](float x, float y) { return std::pow(x, y); });
  const bool ga = needs_grad(a), gb = needs_grad(b);
  // grad_a = g * b * a^(b-1), grad_b = g * y * log(a): a always, b and the output y as needed.
  return record("pow", out, {a, b},
                [ga, gb, a, sb = b.shape(), b = ga ? b : Tensor(),
                 y = gb ? out.detach() : Tensor()](const Tensor& g) -> Grads {
                  Tensor grad_a, grad_b;
                  if (ga)
                    grad_a = sum_to(mul(g, mul(b, pow(a, sub(b, scalar_like(1.f))))), a.shape());
                  if (gb) grad_b = sum_to(mul(g, mul(y, log(a))), sb);
                  return {grad_a, grad_b};
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

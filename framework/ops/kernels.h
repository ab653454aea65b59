#pragma once
// The loops the float32 kernels share: elementwise maps of one or two operands (the two-operand
// one broadcasting) and row maps over the last dimension. Each writes a new contiguous tensor and
// goes parallel above kParallelGrain elements; none records anything (the ops do).

#include "framework/error.h"
#include "framework/ops/iter.h"
#include "framework/ops/shape.h"

namespace heed::ops {

inline void check_float(const Tensor& t, const char* op) {
  HEED_CHECK(t.dtype() == Dtype::Float32, op, ": expected a float32 tensor, got ",
             dtype_name(t.dtype()), " of shape ", t.shape());
}

/// out[i] = f(x[i]), over a contiguous copy of x.
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

/// out = f(a, b) elementwise, at the shape a and b broadcast to; strided operands are read in
/// place.
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
  // The storages' starts: for_each_row hands out offsets that include each tensor's own.
  const float* ra = static_cast<const float*>(a.impl().storage->data);
  const float* rb = static_cast<const float*>(b.impl().storage->data);
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

/// f(in_row, out_row, n) for each row of x's last dimension (a scalar is one row of 1), on a
/// contiguous copy of x.
template <class F>
Tensor map_rows(const Tensor& x, F f) {
  const Tensor in = x.contiguous();
  Tensor out = Tensor::empty(x.shape());
  const int64_t n = x.dim() == 0 ? 1 : x.size(-1);
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  const float* p = in.data();
  float* q = out.data();
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelGrain && rows > 1)
  for (int64_t r = 0; r < rows; ++r) f(p + r * n, q + r * n, n);
  return out;
}

}  // namespace heed::ops

#pragma once
// Strided iteration shared by the elementwise kernels and copies.
//
// A tensor of shape [d0, ..., dn] is walked as rows of its last dimension. For each row, the
// callback receives the element offset of the row's start in every operand (through each one's own
// strides, 0 on broadcast dimensions) and the operands' strides along the row, so the inner loop is
// a plain strided loop the compiler vectorizes when the strides are 1.

#include <omp.h>

#include <array>
#include <cstdint>

#include "framework/tensor.h"

namespace heed::ops {

/// Minimum number of elements before a loop goes parallel: below it, thread start-up costs more.
inline constexpr int64_t kParallelGrain = 32768;

template <size_t N, class F>
void for_each_row(const Shape& shape, const std::array<Shape, N>& strides,
                  const std::array<int64_t, N>& offsets, F&& f) {
  const int64_t ndim = static_cast<int64_t>(shape.size());
  const int64_t inner = ndim == 0 ? 1 : shape[ndim - 1];
  const int64_t rows = inner == 0 ? 0 : numel_of(shape) / inner;
  std::array<int64_t, N> inner_strides{};
  for (size_t k = 0; k < N; ++k) inner_strides[k] = ndim == 0 ? 0 : strides[k][ndim - 1];
#pragma omp parallel for schedule(static) if (rows * inner >= kParallelGrain && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    std::array<int64_t, N> base = offsets;
    int64_t rest = r;
    for (int64_t d = ndim - 2; d >= 0; --d) {
      const int64_t i = rest % shape[d];
      rest /= shape[d];
      for (size_t k = 0; k < N; ++k) base[k] += i * strides[k][d];
    }
    f(base, inner, inner_strides);
  }
}

/// Strides of `t` viewed at the broadcast shape `out` (0 where `t` has size 1 or lacks the dim).
Shape broadcast_strides(const Tensor& t, const Shape& out);

}  // namespace heed::ops

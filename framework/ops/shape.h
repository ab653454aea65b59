#pragma once
// Shape ops: views that share storage (reshape of a contiguous tensor, view, transpose, permute,
// narrow, select, unsqueeze, squeeze, expand) and the copies that join or split tensors (clone,
// concat, stack, split). Every one is recorded; a view's backward maps the gradient back to the
// base's shape (narrow pads with zeros, expand sums over the broadcast dimensions).

#include <vector>

#include "framework/tensor.h"

namespace heed::ops {

/// One dimension may be -1 (inferred). Shares storage when `x` is contiguous, copies otherwise.
Tensor reshape(const Tensor& x, Shape shape);
/// As reshape, but throws instead of copying when `x` is not contiguous.
Tensor view(const Tensor& x, Shape shape);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
/// Output dimension i is input dimension dims[i].
Tensor permute(const Tensor& x, const Shape& dims);
/// Elements [start, start + length) of dimension `dim`.
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
/// narrow of length 1 with the dimension removed.
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor unsqueeze(const Tensor& x, int64_t dim);
/// Removes `dim`, which must have size 1.
Tensor squeeze(const Tensor& x, int64_t dim);
/// Broadcasts size-1 (or missing leading) dimensions to `shape` without copying.
Tensor expand(const Tensor& x, const Shape& shape);
/// A contiguous copy.
Tensor clone(const Tensor& x);
/// Joins tensors along an existing dimension; all other sizes must agree.
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
/// Joins tensors along a new dimension `dim`; all shapes must agree.
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
/// Views of consecutive pieces of `sizes` along `dim`; the sizes must add up to x.size(dim).
std::vector<Tensor> split(const Tensor& x, const Shape& sizes, int64_t dim);

/// The shape both a and b broadcast to (NumPy rules); throws naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// Sums `g` down to `shape` over the dimensions broadcasting added: the one place where a
/// broadcast op's gradient is reduced (tinygrad's sum_to).
Tensor sum_to(const Tensor& g, const Shape& shape);

}  // namespace heed::ops

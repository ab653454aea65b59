#pragma once
// Reductions over dimensions: sum, mean, max (with the gradient routed to the first maximum, as
// PyTorch's max(dim)), and argmax. Accumulation is in double, so a sum over a long axis keeps
// float32's precision.

#include <vector>

#include "framework/tensor.h"

namespace heed::ops {

/// Sum over `dims` (negative allowed); all dimensions when `dims` is empty.
Tensor sum(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);
/// Maximum over one dimension.
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);
/// Index of the first maximum over one dimension, as int64; not differentiable.
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);

}  // namespace heed::ops

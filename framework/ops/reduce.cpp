#include "framework/ops/reduce.h"

#include <algorithm>

#include "framework/autograd.h"
#include "framework/ops/elementwise.h"
#include "framework/ops/iter.h"
#include "framework/ops/shape.h"

namespace heed::ops {

namespace {

struct Plan {
  Tensor rows;       // [outer, inner]: the reduced dimensions last, contiguous
  Shape out_shape;   // without the reduced dimensions, or with 1s there when keepdim
  Shape kept_shape;  // always with 1s in the reduced dimensions (to expand gradients back)
};

Plan plan_reduction(const Tensor& x, std::vector<int64_t> dims, bool keepdim, const char* op,
                    bool need_rows = true) {
  HEED_CHECK(x.dtype() == Dtype::Float32, op, ": expected a float32 tensor, got int64 of shape ",
             x.shape());
  if (dims.empty())
    for (int64_t d = 0; d < x.dim(); ++d) dims.push_back(d);
  std::vector<bool> reduced(x.dim(), false);
  for (int64_t& d : dims) {
    d = x.wrap_dim(d);
    reduced[d] = true;
  }
  Shape order, out_shape, kept_shape;
  int64_t inner = 1;
  for (int64_t d = 0; d < x.dim(); ++d) {
    kept_shape.push_back(reduced[d] ? 1 : x.shape()[d]);
    if (!reduced[d])
      order.push_back(d), out_shape.push_back(x.shape()[d]);
    else if (keepdim)
      out_shape.push_back(1);
  }
  for (int64_t d = 0; d < x.dim(); ++d)
    if (reduced[d]) order.push_back(d), inner *= x.shape()[d];
  if (!need_rows) return {Tensor(), out_shape, kept_shape};
  NoGradGuard no_grad;
  Tensor rows =
      x.dim() == 0 ? x.reshape({1, 1}) : permute(x, order).contiguous().reshape({-1, inner});
  return {rows, out_shape, kept_shape};
}

}  // namespace

namespace {
// Sum over the leading `lead` dimensions of a contiguous x, reading memory in order: the common
// case of a bias gradient ([batch * seq, features] -> [features]), which the general path would
// transpose first.
Tensor sum_leading(const Tensor& x, int64_t lead, const Shape& out_shape) {
  int64_t rows = 1;
  for (int64_t d = 0; d < lead; ++d) rows *= x.shape()[d];
  const int64_t n = x.numel() / std::max<int64_t>(rows, 1);
  std::vector<double> acc(n, 0.0);
  const float* p = x.data();
  for (int64_t r = 0; r < rows; ++r)
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) acc[j] += p[r * n + j];
  Tensor out = Tensor::empty(out_shape);
  float* q = out.data();
  for (int64_t j = 0; j < n; ++j) q[j] = static_cast<float>(acc[j]);
  return out;
}

// The number of leading dimensions when `dims` are exactly 0..k-1 (k < x.dim()), else 0.
int64_t leading_prefix(const Tensor& x, std::vector<int64_t> dims) {
  for (int64_t& d : dims) d = x.wrap_dim(d);
  std::sort(dims.begin(), dims.end());
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] != static_cast<int64_t>(i)) return 0;
  return static_cast<int64_t>(dims.size()) < x.dim() ? static_cast<int64_t>(dims.size()) : 0;
}
}  // namespace

Tensor sum(const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  const int64_t lead = x.is_contiguous() && !dims.empty() ? leading_prefix(x, dims) : 0;
  Plan plan = plan_reduction(x, std::move(dims), keepdim, "sum", /*need_rows=*/lead == 0);
  Tensor out = lead > 0 ? sum_leading(x, lead, plan.out_shape) : Tensor::empty(plan.out_shape);
  if (lead == 0) {
    const int64_t outer = plan.rows.size(0), inner = plan.rows.size(1);
    const float* p = plan.rows.data();
    float* q = out.data();
#pragma omp parallel for schedule(static) if (outer * inner >= kParallelGrain && outer > 1)
    for (int64_t r = 0; r < outer; ++r) {
      double acc = 0;
      for (int64_t i = 0; i < inner; ++i) acc += p[r * inner + i];
      q[r] = static_cast<float>(acc);
    }
  }
  return record("sum", out, {x},
                [kept = plan.kept_shape, in = x.shape()](const Tensor& g) -> Grads {
                  return {expand(reshape(g, kept), in)};
                });
}

Tensor mean(const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  const int64_t before = x.numel();
  Tensor s = sum(x, std::move(dims), keepdim);
  const int64_t count = s.numel() == 0 ? 1 : before / s.numel();
  return div(s, Tensor::scalar(static_cast<float>(count)));
}

namespace {
// Index of the first maximum in each row of `rows` [outer, inner].
std::vector<int64_t> row_argmax(const Tensor& rows) {
  const int64_t outer = rows.size(0), inner = rows.size(1);
  HEED_CHECK(inner > 0, "max: cannot reduce an empty dimension");
  std::vector<int64_t> idx(outer);
  const float* p = rows.data();
#pragma omp parallel for schedule(static) if (outer * inner >= kParallelGrain)
  for (int64_t r = 0; r < outer; ++r)
    idx[r] = std::max_element(p + r * inner, p + (r + 1) * inner) - (p + r * inner);
  return idx;
}
}  // namespace

Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  dim = x.wrap_dim(dim);
  Plan plan = plan_reduction(x, {dim}, keepdim, "max");
  const std::vector<int64_t> idx = row_argmax(plan.rows);
  const int64_t inner = plan.rows.size(1);
  Tensor out = Tensor::empty(plan.out_shape);
  for (size_t r = 0; r < idx.size(); ++r) out.data()[r] = plan.rows.data()[r * inner + idx[r]];
  return record(
      "max", out, {x},
      [idx, dim, inner, kept = plan.kept_shape, in = x.shape()](const Tensor& g) -> Grads {
        // Scatter into [outer, inner] with the reduced dimension last, then move it back.
        Tensor gc = reshape(g, {-1}).contiguous();
        Tensor rows = Tensor::zeros({static_cast<int64_t>(idx.size()), inner});
        for (size_t r = 0; r < idx.size(); ++r) rows.data()[r * inner + idx[r]] = gc.data()[r];
        Shape moved = kept;
        moved.erase(moved.begin() + dim);
        moved.push_back(inner);
        Shape back;
        for (int64_t d = 0; d < static_cast<int64_t>(in.size()); ++d)
          back.push_back(d < dim ? d : d == dim ? static_cast<int64_t>(in.size()) - 1 : d - 1);
        return {permute(reshape(rows, moved), back).contiguous()};
      });
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  NoGradGuard no_grad;
  Plan plan = plan_reduction(x, {x.wrap_dim(dim)}, keepdim, "argmax");
  const std::vector<int64_t> idx = row_argmax(plan.rows);
  return Tensor::from_vector_i64(idx, plan.out_shape);
}

}  // namespace heed::ops

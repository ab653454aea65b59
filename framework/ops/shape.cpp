#include "framework/ops/shape.h"

#include <numeric>

#include "framework/autograd.h"
#include "framework/ops/iter.h"
#include "framework/ops/reduce.h"

namespace heed::ops {

Shape broadcast_strides(const Tensor& t, const Shape& out) {
  const int64_t lead = static_cast<int64_t>(out.size()) - t.dim();
  HEED_CHECK(lead >= 0, "broadcast: shape ", t.shape(), " cannot broadcast to ", out);
  Shape strides(out.size(), 0);
  for (int64_t d = 0; d < t.dim(); ++d) {
    const int64_t s = t.shape()[d];
    HEED_CHECK(s == out[lead + d] || s == 1, "broadcast: shape ", t.shape(),
               " cannot broadcast to ", out);
    strides[lead + d] = s == 1 ? 0 : t.strides()[d];
  }
  return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t sa = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t sb = i < n - b.size() ? 1 : b[i - (n - b.size())];
    HEED_CHECK(sa == sb || sa == 1 || sb == 1, op, ": shapes ", a, " and ", b,
               " cannot be broadcast together");
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < g.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && g.shape()[d] != 1)) dims.push_back(d);
  Tensor s = sum(g, dims, /*keepdim=*/true);
  return reshape(s, shape);
}

namespace {
Shape infer_shape(const Tensor& x, Shape shape, const char* op) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      HEED_CHECK(infer < 0, op, ": only one dimension can be -1 in ", shape);
      infer = static_cast<int64_t>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    HEED_CHECK(known != 0 && x.numel() % known == 0, op, ": shape ", shape,
               " is invalid for input of shape ", x.shape());
    shape[infer] = x.numel() / known;
  }
  HEED_CHECK(numel_of(shape) == x.numel(), op, ": shape ", shape, " is invalid for input of shape ",
             x.shape(), " (", x.numel(), " elements)");
  return shape;
}

Tensor record_view(const char* name, const Tensor& x, Tensor out) {
  const Shape in_shape = x.shape();
  return record(name, out, {x},
                [in_shape](const Tensor& g) -> Grads { return {reshape(g, in_shape)}; });
}
}  // namespace

Tensor view(const Tensor& x, Shape shape) {
  shape = infer_shape(x, std::move(shape), "view");
  HEED_CHECK(x.is_contiguous(), "view: input of shape ", x.shape(),
             " is not contiguous; use reshape, which copies");
  return record_view("view", x, make_view(x, shape, contiguous_strides(shape), x.offset()));
}

Tensor reshape(const Tensor& x, Shape shape) {
  shape = infer_shape(x, std::move(shape), "reshape");
  if (shape == x.shape()) return x;
  const Tensor base = x.is_contiguous() ? x : clone(x);
  return record_view("reshape", base,
                     make_view(base, shape, contiguous_strides(shape), base.offset()));
}

Tensor permute(const Tensor& x, const Shape& dims) {
  HEED_CHECK(static_cast<int64_t>(dims.size()) == x.dim(), "permute: ", dims.size(),
             " dimensions given for a tensor of shape ", x.shape());
  Shape shape(dims.size()), strides(dims.size()), inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = x.wrap_dim(dims[i]);
    HEED_CHECK(inverse[d] < 0, "permute: dimension ", d, " repeated in ", dims);
    inverse[d] = static_cast<int64_t>(i);
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
  }
  Tensor out = make_view(x, shape, strides, x.offset());
  return record("permute", out, {x},
                [inverse](const Tensor& g) -> Grads { return {permute(g, inverse)}; });
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  Shape dims(x.dim());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[x.wrap_dim(d0)], dims[x.wrap_dim(d1)]);
  return permute(x, dims);
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  dim = x.wrap_dim(dim);
  HEED_CHECK(start >= 0 && length >= 0 && start + length <= x.shape()[dim], "narrow: range [",
             start, ", ", start + length, ") is out of bounds for dimension ", dim, " of shape ",
             x.shape());
  Shape shape = x.shape();
  shape[dim] = length;
  Tensor out = make_view(x, shape, x.strides(), x.offset() + start * x.strides()[dim]);
  const Shape in_shape = x.shape();
  return record("narrow", out, {x}, [in_shape, dim, start, length](const Tensor& g) -> Grads {
    Tensor full = Tensor::zeros(in_shape);
    full.narrow(dim, start, length).copy_(g);
    return {full};
  });
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  dim = x.wrap_dim(dim);
  if (index < 0) index += x.shape()[dim];
  return squeeze(narrow(x, dim, index, 1), dim);
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  dim = x.wrap_dim(dim, /*extra=*/true);
  Shape shape = x.shape(), strides = x.strides();
  const int64_t stride = dim < x.dim() ? x.strides()[dim] * x.shape()[dim] : 1;
  shape.insert(shape.begin() + dim, 1);
  strides.insert(strides.begin() + dim, stride);
  return record_view("unsqueeze", x, make_view(x, shape, strides, x.offset()));
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  dim = x.wrap_dim(dim);
  HEED_CHECK(x.shape()[dim] == 1, "squeeze: dimension ", dim, " of shape ", x.shape(), " is not 1");
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(shape.begin() + dim);
  strides.erase(strides.begin() + dim);
  return record_view("squeeze", x, make_view(x, shape, strides, x.offset()));
}

Tensor expand(const Tensor& x, const Shape& shape) {
  if (shape == x.shape()) return x;
  Tensor out = make_view(x, shape, broadcast_strides(x, shape), x.offset());
  const Shape in_shape = x.shape();
  return record("expand", out, {x},
                [in_shape](const Tensor& g) -> Grads { return {sum_to(g, in_shape)}; });
}

Tensor clone(const Tensor& x) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  out.copy_(x);
  return record("clone", out, {x}, [](const Tensor& g) -> Grads { return {g}; });
}

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  HEED_CHECK(!xs.empty(), "concat: no tensors given");
  dim = xs[0].wrap_dim(dim);
  Shape shape = xs[0].shape();
  shape[dim] = 0;
  for (const Tensor& x : xs) {
    Shape a = x.shape(), b = xs[0].shape();
    HEED_CHECK(x.dim() == xs[0].dim() && x.dtype() == xs[0].dtype(), "concat: shapes ", b, " and ",
               a, " cannot be joined along dimension ", dim);
    a[dim] = b[dim] = 0;
    HEED_CHECK(a == b, "concat: shapes ", xs[0].shape(), " and ", x.shape(),
               " differ outside dimension ", dim);
    shape[dim] += x.shape()[dim];
  }
  Tensor out = Tensor::empty(shape, xs[0].dtype());
  Shape sizes;
  int64_t start = 0;
  for (const Tensor& x : xs) {
    out.narrow(dim, start, x.shape()[dim]).copy_(x);
    start += x.shape()[dim];
    sizes.push_back(x.shape()[dim]);
  }
  return record("concat", out, xs,
                [sizes, dim](const Tensor& g) -> Grads { return split(g, sizes, dim); });
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  HEED_CHECK(!xs.empty(), "stack: no tensors given");
  std::vector<Tensor> parts;
  for (const Tensor& x : xs) {
    HEED_CHECK(x.shape() == xs[0].shape(), "stack: shapes ", xs[0].shape(), " and ", x.shape(),
               " differ");
    parts.push_back(unsqueeze(x, dim));
  }
  return concat(parts, dim);
}

std::vector<Tensor> split(const Tensor& x, const Shape& sizes, int64_t dim) {
  dim = x.wrap_dim(dim);
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  HEED_CHECK(total == x.shape()[dim], "split: sizes ", sizes, " do not add up to ", x.shape()[dim],
             " in dimension ", dim, " of shape ", x.shape());
  std::vector<Tensor> parts;
  int64_t start = 0;
  for (int64_t s : sizes) {
    parts.push_back(narrow(x, dim, start, s));
    start += s;
  }
  return parts;
}

}  // namespace heed::ops

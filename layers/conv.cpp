#include "layers/conv.h"

#include <algorithm>
#include <cmath>

#include "framework/random.h"

namespace heed::nn {

namespace {

void check_options(const char* layer, int64_t in, int64_t out, int64_t groups, const Shape& kernel,
                   const Shape& stride, const Shape& padding, const Shape& dilation) {
  HEED_CHECK(in > 0 && out > 0, layer, ": in_channels and out_channels must be positive, got ", in,
             " and ", out);
  HEED_CHECK(groups > 0 && in % groups == 0 && out % groups == 0, layer, ": in_channels ", in,
             " and out_channels ", out, " must be divisible by groups ", groups);
  for (size_t d = 0; d < kernel.size(); ++d) {
    HEED_CHECK(kernel[d] > 0 && stride[d] > 0 && dilation[d] > 0 && padding[d] >= 0, layer,
               ": kernel_size, stride and dilation must be positive and padding non-negative, "
               "got kernel_size ",
               kernel, ", stride ", stride, ", padding ", padding, ", dilation ", dilation);
  }
}

// weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's reset_parameters.
float init_bound(const Shape& weight_shape) {
  const int64_t fan_in = numel_of(weight_shape) / weight_shape[0];
  return 1.f / std::sqrt(static_cast<float>(fan_in));
}

// PyTorch prints a 2-D option as "(3, 3)" and a 1-D one as "(3,)".
std::string tuple(const Shape& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() == 1 ? ",)" : ")");
}

bool all_equal(const Shape& v, int64_t value) {
  return std::all_of(v.begin(), v.end(), [value](int64_t x) { return x == value; });
}

// "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))": non-default options only,
// as PyTorch's extra_repr.
std::string conv_repr(const char* name, int64_t in, int64_t out, const Shape& kernel,
                      const Shape& stride, const Shape& padding, const Shape& dilation,
                      int64_t groups, bool bias) {
  std::string s = std::string(name) + "(" + std::to_string(in) + ", " + std::to_string(out) +
                  ", kernel_size=" + tuple(kernel) + ", stride=" + tuple(stride);
  if (!all_equal(padding, 0)) s += ", padding=" + tuple(padding);
  if (!all_equal(dilation, 1)) s += ", dilation=" + tuple(dilation);
  if (groups != 1) s += ", groups=" + std::to_string(groups);
  if (!bias) s += ", bias=false";
  return s + ")";
}

Shape shape_of(ops::Pair p) {
  return {p[0], p[1]};
}

}  // namespace

Conv2d::Conv2d(const Conv2dOptions& o, Generator& gen) : options(o) {
  check_options("Conv2d", o.in_channels, o.out_channels, o.groups, shape_of(o.kernel_size),
                shape_of(o.stride), shape_of(o.padding), shape_of(o.dilation));
  const Shape w{o.out_channels, o.in_channels / o.groups, o.kernel_size[0], o.kernel_size[1]};
  const float bound = init_bound(w);
  weight = register_parameter("weight", Tensor::rand(w, gen, -bound, bound));
  if (o.bias) bias = register_parameter("bias", Tensor::rand({o.out_channels}, gen, -bound, bound));
}

Tensor Conv2d::forward(const Tensor& x) const {
  return ops::conv2d(x, weight, bias, options.stride, options.padding, options.dilation,
                     options.groups);
}

std::string Conv2d::repr() const {
  const auto& o = options;
  return conv_repr("Conv2d", o.in_channels, o.out_channels, shape_of(o.kernel_size),
                   shape_of(o.stride), shape_of(o.padding), shape_of(o.dilation), o.groups, o.bias);
}

Conv1d::Conv1d(const Conv1dOptions& o, Generator& gen) : options(o) {
  check_options("Conv1d", o.in_channels, o.out_channels, o.groups, {o.kernel_size}, {o.stride},
                {o.padding}, {o.dilation});
  const Shape w{o.out_channels, o.in_channels / o.groups, o.kernel_size};
  const float bound = init_bound(w);
  weight = register_parameter("weight", Tensor::rand(w, gen, -bound, bound));
  if (o.bias) bias = register_parameter("bias", Tensor::rand({o.out_channels}, gen, -bound, bound));
}

Tensor Conv1d::forward(const Tensor& x) const {
  return ops::conv1d(x, weight, bias, options.stride, options.padding, options.dilation,
                     options.groups);
}

std::string Conv1d::repr() const {
  const auto& o = options;
  return conv_repr("Conv1d", o.in_channels, o.out_channels, {o.kernel_size}, {o.stride},
                   {o.padding}, {o.dilation}, o.groups, o.bias);
}

}  // namespace heed::nn

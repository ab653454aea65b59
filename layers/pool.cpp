#include "layers/pool.h"

#include <sstream>

namespace heed::nn {

namespace {

ops::Pair or_kernel(ops::Pair stride, ops::Pair kernel) {
  return stride[0] == 0 && stride[1] == 0 ? kernel : stride;
}

void check_window(const char* layer, const Shape& kernel, const Shape& stride,
                  const Shape& padding) {
  for (size_t d = 0; d < kernel.size(); ++d) {
    HEED_CHECK(kernel[d] > 0 && stride[d] > 0 && padding[d] >= 0 && padding[d] <= kernel[d] / 2,
               layer,
               ": kernel_size and stride must be positive and 0 <= padding <= kernel_size / 2, "
               "got kernel_size ",
               kernel, ", stride ", stride, ", padding ", padding);
  }
}

std::string str(ops::Pair p) {
  std::ostringstream out;
  if (p[0] == p[1])
    out << p[0];
  else
    out << '(' << p[0] << ", " << p[1] << ')';
  return out.str();
}

std::string window(ops::Pair k, ops::Pair s, ops::Pair p) {
  return "kernel_size=" + str(k) + ", stride=" + str(s) + ", padding=" + str(p);
}

std::string window(int64_t k, int64_t s, int64_t p) {
  return "kernel_size=" + std::to_string(k) + ", stride=" + std::to_string(s) +
         ", padding=" + std::to_string(p);
}

}  // namespace

MaxPool2d::MaxPool2d(ops::Pair k, ops::Pair s, ops::Pair p)
    : kernel_size(k), stride(or_kernel(s, k)), padding(p) {
  check_window("MaxPool2d", {k[0], k[1]}, {stride[0], stride[1]}, {p[0], p[1]});
}

Tensor MaxPool2d::forward(const Tensor& x) const {
  return ops::max_pool2d(x, kernel_size, stride, padding);
}

std::string MaxPool2d::repr() const {
  return "MaxPool2d(" + window(kernel_size, stride, padding) + ", dilation=1, ceil_mode=false)";
}

AvgPool2d::AvgPool2d(ops::Pair k, ops::Pair s, ops::Pair p, bool include_pad)
    : kernel_size(k), stride(or_kernel(s, k)), padding(p), count_include_pad(include_pad) {
  check_window("AvgPool2d", {k[0], k[1]}, {stride[0], stride[1]}, {p[0], p[1]});
}

Tensor AvgPool2d::forward(const Tensor& x) const {
  return ops::avg_pool2d(x, kernel_size, stride, padding, count_include_pad);
}

std::string AvgPool2d::repr() const {
  return "AvgPool2d(" + window(kernel_size, stride, padding) +
         (count_include_pad ? ")" : ", count_include_pad=false)");
}

MaxPool1d::MaxPool1d(int64_t k, int64_t s, int64_t p)
    : kernel_size(k), stride(s ? s : k), padding(p) {
  check_window("MaxPool1d", {k}, {stride}, {p});
}

Tensor MaxPool1d::forward(const Tensor& x) const {
  return ops::max_pool1d(x, kernel_size, stride, padding);
}

std::string MaxPool1d::repr() const {
  return "MaxPool1d(" + window(kernel_size, stride, padding) + ", dilation=1, ceil_mode=false)";
}

AvgPool1d::AvgPool1d(int64_t k, int64_t s, int64_t p, bool include_pad)
    : kernel_size(k), stride(s ? s : k), padding(p), count_include_pad(include_pad) {
  check_window("AvgPool1d", {k}, {stride}, {p});
}

Tensor AvgPool1d::forward(const Tensor& x) const {
  return ops::avg_pool1d(x, kernel_size, stride, padding, count_include_pad);
}

std::string AvgPool1d::repr() const {
  return "AvgPool1d(" + window(kernel_size, stride, padding) +
         (count_include_pad ? ")" : ", count_include_pad=false)");
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(ops::Pair size) : output_size(size) {
  HEED_CHECK(size[0] > 0 && size[1] > 0, "AdaptiveAvgPool2d: output_size must be positive, got ",
             Shape{size[0], size[1]});
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) const {
  return ops::adaptive_avg_pool2d(x, output_size);
}

std::string AdaptiveAvgPool2d::repr() const {
  return "AdaptiveAvgPool2d(output_size=" + str(output_size) + ")";
}

}  // namespace heed::nn

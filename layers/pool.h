#pragma once
// Pooling layers (PyTorch's nn.MaxPool1d/2d, nn.AvgPool1d/2d, nn.AdaptiveAvgPool2d), without
// parameters, through oneDNN (framework/ops/pool.h). Defaults as PyTorch: stride = kernel_size,
// padding 0, count_include_pad true.
//   *Pool2d:           x [batch, channels, H, W] -> [batch, channels, H_out, W_out],
//                      H_out = floor((H + 2 padding - kernel_size) / stride) + 1;
//   *Pool1d:           x [batch, channels, L] -> [batch, channels, L_out];
//   AdaptiveAvgPool2d: x [batch, channels, H, W] -> [batch, channels, out_H, out_W] ({1, 1}: the
//                      global average pooling of Lin et al. 2014, "Network in Network", sec. 3.2).
//
//   MaxPool2d pool({2, 2});
//   Tensor y = pool.forward(x);  // [batch, channels, H / 2, W / 2]

#include "framework/module.h"
#include "framework/ops/pool.h"

namespace heed::nn {

class MaxPool2d : public Module {
 public:
  /// stride {0, 0} means kernel_size. Throws heed::Error on non-positive sizes.
  explicit MaxPool2d(ops::Pair kernel_size, ops::Pair stride = {0, 0}, ops::Pair padding = {0, 0});
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;
  const ops::Pair kernel_size, stride, padding;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(ops::Pair kernel_size, ops::Pair stride = {0, 0}, ops::Pair padding = {0, 0},
                     bool count_include_pad = true);
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;
  const ops::Pair kernel_size, stride, padding;
  const bool count_include_pad;
};

class MaxPool1d : public Module {
 public:
  /// stride 0 means kernel_size.
  explicit MaxPool1d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;
  const int64_t kernel_size, stride, padding;
};

class AvgPool1d : public Module {
 public:
  explicit AvgPool1d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0,
                     bool count_include_pad = true);
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;
  const int64_t kernel_size, stride, padding;
  const bool count_include_pad;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(ops::Pair output_size = {1, 1});
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;
  const ops::Pair output_size;
};

}  // namespace heed::nn

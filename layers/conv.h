#pragma once
// Conv1d and Conv2d (PyTorch's nn.Conv1d, nn.Conv2d): a learned cross-correlation over a
// sequence or an image, through oneDNN (framework/ops/conv.h; LeCun et al. 1998).
//   Conv2d: x [batch, in_channels, H, W] -> [batch, out_channels, H_out, W_out],
//           weight [out_channels, in_channels / groups, kH, kW], bias [out_channels];
//   Conv1d: x [batch, in_channels, L] -> [batch, out_channels, L_out],
//           weight [out_channels, in_channels / groups, kernel_size], bias [out_channels];
//   H_out = floor((H + 2 padding - dilation (kH - 1) - 1) / stride) + 1.
// Initialization as PyTorch (kaiming_uniform with a = sqrt(5)): weight and bias
// ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels / groups * kH * kW.
//
//   Conv2d conv({.in_channels = 1, .out_channels = 32, .kernel_size = {3, 3},
//                .padding = {1, 1}}, gen);
//   Tensor y = conv.forward(images);  // [batch, 32, 28, 28]

#include "framework/module.h"
#include "framework/ops/conv.h"

namespace heed {
class Generator;
}

namespace heed::nn {

struct Conv2dOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  ops::Pair kernel_size = {0, 0};
  ops::Pair stride = {1, 1};
  ops::Pair padding = {0, 0};
  ops::Pair dilation = {1, 1};
  int64_t groups = 1;
  bool bias = true;
};

struct Conv1dOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t kernel_size = 0;
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

class Conv2d : public Module {
 public:
  /// Throws heed::Error on non-positive sizes or channels not divisible by groups.
  Conv2d(const Conv2dOptions& options, Generator& gen);
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;

  const Conv2dOptions options;
  Tensor weight, bias;
};

class Conv1d : public Module {
 public:
  /// Throws heed::Error on non-positive sizes or channels not divisible by groups.
  Conv1d(const Conv1dOptions& options, Generator& gen);
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;

  const Conv1dOptions options;
  Tensor weight, bias;
};

}  // namespace heed::nn

#pragma once
// Convolutions through oneDNN's convolution_forward / convolution_backward_data /
// convolution_backward_weights primitives, cached per shape (PyTorch's F.conv1d, F.conv2d).
//
// Layout is PyTorch's (NCHW, weight OIHW). Output sizes follow PyTorch:
//   H_out = floor((H + 2 * padding - dilation * (kH - 1) - 1) / stride) + 1.
// `dilation` is PyTorch's (1 = no holes); oneDNN's is dilation - 1, converted here.

#include <array>

#include "framework/tensor.h"

namespace heed::ops {

/// Per-dimension (height, width) options of a 2-D convolution or pooling window.
using Pair = std::array<int64_t, 2>;

/// x [batch, in_channels, H, W] * weight [out_channels, in_channels / groups, kH, kW]
/// (+ bias [out_channels]) -> [batch, out_channels, H_out, W_out].
/// Throws heed::Error naming the shapes when the channels, groups or sizes do not fit, e.g.
/// "conv2d: input [2, 3, 8, 8] has 3 channels, weight [4, 2, 3, 3] expects 2 x groups 1".
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              Pair stride = {1, 1}, Pair padding = {0, 0}, Pair dilation = {1, 1},
              int64_t groups = 1);

/// x [batch, in_channels, L] * weight [out_channels, in_channels / groups, k] (+ bias) ->
/// [batch, out_channels, L_out]: conv2d over a height-1 image.
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              int64_t stride = 1, int64_t padding = 0, int64_t dilation = 1, int64_t groups = 1);

/// The output size of one spatial dimension, as PyTorch computes it (may be <= 0 when the window
/// does not fit; callers check).
int64_t conv_out_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                      int64_t dilation);

}  // namespace heed::ops

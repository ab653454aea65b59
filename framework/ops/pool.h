#pragma once
// Pooling through oneDNN's pooling_forward / pooling_backward primitives, cached per shape
// (PyTorch's F.max_pool1d/2d, F.avg_pool1d/2d, F.adaptive_avg_pool2d), with PyTorch's defaults:
// stride = kernel_size, ceil_mode false, dilation 1,
//   H_out = floor((H + 2 * padding - kernel_size) / stride) + 1.
// Max pooling keeps oneDNN's workspace (the argmax of each window) for the backward.

#include "framework/ops/conv.h"

namespace heed::ops {

/// x [batch, channels, H, W] -> [batch, channels, H_out, W_out], the maximum of each window
/// (padding counts as -inf). A stride of {0, 0} means kernel_size. Throws heed::Error naming the
/// shape when x is not 4-D, the window does not fit, or padding > kernel_size / 2 (as PyTorch).
Tensor max_pool2d(const Tensor& x, Pair kernel_size, Pair stride = {0, 0}, Pair padding = {0, 0});

/// x [batch, channels, H, W] -> [batch, channels, H_out, W_out], the mean of each window.
/// count_include_pad (PyTorch's default) divides by kH * kW, counting padded zeros; otherwise by
/// the number of real elements in the window.
Tensor avg_pool2d(const Tensor& x, Pair kernel_size, Pair stride = {0, 0}, Pair padding = {0, 0},
                  bool count_include_pad = true);

/// x [batch, channels, L] -> [batch, channels, L_out]: max_pool2d over a height-1 image.
Tensor max_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
/// x [batch, channels, L] -> [batch, channels, L_out]: avg_pool2d over a height-1 image.
Tensor avg_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride = 0, int64_t padding = 0,
                  bool count_include_pad = true);

/// x [batch, channels, H, W] -> [batch, channels, out_H, out_W]: output cell (i, j) is the mean
/// of rows [floor(i H / out_H), ceil((i + 1) H / out_H)) and the same columns (PyTorch's bins).
/// When out_H divides H and out_W divides W this is avg_pool2d with kernel = stride = H / out_H
/// (oneDNN); otherwise a plain loop. {1, 1} is global average pooling.
Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size);

}  // namespace heed::ops

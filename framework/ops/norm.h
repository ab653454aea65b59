#pragma once
// Layer normalization (Ba, Kiros & Hinton 2016) over the last dimension, fused forward and
// backward.

#include "framework/tensor.h"

namespace heed::ops {

/// y = (x - mean) / sqrt(var + eps) * weight + bias over the last dimension of x [..., d], with
/// the biased variance, as PyTorch's F.layer_norm(x, [d]). weight and bias are [d] or undefined.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-5f);

}  // namespace heed::ops

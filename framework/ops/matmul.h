#pragma once
// Matrix products through oneDNN's matmul primitive (cached by shape and strides).

#include "framework/tensor.h"

namespace heed::ops {

/// a [..., M, K] @ b [..., K, N] -> [..., M, N]. A 2-D b is shared by every leading index of a
/// (the Linear case: [batch, seq, in] @ [in, out]); otherwise the leading (batch) dimensions
/// broadcast. Transposed views are read in place, so a backward's `b.transpose(-1, -2)` costs no
/// copy. Throws naming both shapes when the inner dimensions differ.
Tensor matmul(const Tensor& a, const Tensor& b);

/// x [..., in_features] @ weight^T [in_features, out_features] + bias [out_features], with the
/// bias fused into the oneDNN primitive (PyTorch's F.linear).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

/// a @ b (+ bias [N]) for equal-rank operands, NOT recorded: the building block of fused ops
/// (LSTM) that write their own backward.
Tensor gemm(const Tensor& a, const Tensor& b, const Tensor& bias = Tensor());

}  // namespace heed::ops

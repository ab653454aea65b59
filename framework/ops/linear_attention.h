#pragma once
// The causal linear attention of Katharopoulos et al. 2020 ("Transformers are RNNs", eq. 8-10 and
// section 3.3.1) as one fused op, plus its feature map phi(x) = elu(x) + 1 (eq. 7).
//
// With feature-mapped queries and keys Q' = phi(Q), K' = phi(K), position i attends to j <= i:
//   S_i = sum_{j<=i} K'_j V_j^T,  z_i = sum_{j<=i} K'_j,  out_i = Q'_i^T S_i / (Q'_i . z_i + eps)
// The forward keeps only the running S and z ([d_k, d_v] and [d_k] per (batch, head)), so time and
// memory grow linearly with the sequence. The backward is written out from the paper's gradient
// recurrences (a forward sweep for dQ with S and z recomputed, a backward sweep for dK and dV with
// the running sums of Q' dnum^T and Q' dden), so it needs no [seq, seq] matrix either.

#include "framework/tensor.h"

namespace heed::ops {

/// phi(x) = elu(x) + 1: x + 1 for x > 0, exp(x) otherwise (always positive).
Tensor elu_plus_one(const Tensor& x);

/// q [..., seq, d_k], k [..., seq, d_k], v [..., seq, d_v] (already feature-mapped q and k,
/// nonnegative), equal leading dimensions -> out [..., seq, d_v] as above, parallel over the
/// leading dimensions with OpenMP. Throws naming the op and the three shapes when they disagree.
Tensor causal_linear_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                               float eps = 1e-6f);

}  // namespace heed::ops

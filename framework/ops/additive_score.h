#pragma once
// The alignment score of additive attention (Bahdanau, Cho & Bengio 2015, eq. 6 and appendix
// A.1.2) as one fused op:
//
//   e_ij = v^T tanh(q_i + k_j)
//
// for already projected queries q_i = W s_i and keys k_j = U h_j. Composed from ops it takes a
// broadcast add, a tanh and a matmul with an [hidden, 1] vector, each with its own temporaries and
// backward; fused, one pass writes tanh(q_i + k_j) (kept for the backward) and the scores, and the
// backward is one pass too:
//
//   t_ijh = tanh(q_ih + k_jh),  d_ijh = g_ij v_h (1 - t_ijh^2)
//   dq_ih = sum_j d_ijh,  dk_jh = sum_i d_ijh,  dv_h = sum_{batch, i, j} g_ij t_ijh

#include "framework/tensor.h"

namespace heed::ops {

/// q [batch, len_q, hidden], k [batch, len_k, hidden], v [hidden] -> scores [batch, len_q, len_k]
/// as above, parallel over the batch with OpenMP; every sum runs in a fixed order, so the result
/// and the gradients are the same at any thread count. Throws naming the op and the three shapes
/// when they disagree.
Tensor additive_score(const Tensor& q, const Tensor& k, const Tensor& v);

}  // namespace heed::ops

#pragma once
// alpha-entmax (Peters, Niculae & Martins 2019, "Sparse Sequence-to-Sequence Models", ACL), the
// score normalizer of "Adaptively Sparse Transformers" (Correia, Niculae & Martins 2019, EMNLP),
// whose alpha is learned per attention head. It maps each row z of the last dimension to
//
//   p_i = [(alpha - 1) z_i - tau]_+ ^ (1 / (alpha - 1)),   tau such that sum_i p_i = 1
//
// (Peters et al. 2019 sec. 3; Correia et al. 2019 sec. 2.2). alpha = 2 is sparsemax (Martins &
// Astudillo 2016) and alpha -> 1 tends to softmax; for every alpha > 1, p can be exactly sparse.
// tau is found by bisection (Blondel et al. 2019; the reference is EntmaxBisectFunction in
// deep-spin/entmax): z is shifted by its row maximum, so tau lies in
// [-1, -(1/d)^(alpha-1)] on the scale of (alpha - 1) z with d the row's finite entries; each of the
// n_iter halvings keeps the half where sum_i p_i - 1 changes sign, p is taken at the last midpoint
// and renormalized to sum 1. The bisection runs in double, so 50 halvings pin tau to ~1e-15.
//
// Gradients (Peters et al. 2019 sec. 3 for scores; Correia et al. 2019 sec. 3.2, Proposition 1, for
// alpha; both re-derived by implicit differentiation of sum_i p_i = 1), with g_i = p_i^(2 - alpha)
// on the support (p_i > 0) and 0 off it, g~ = g / sum(g), H = sum_i p_i log p_i (the negative
// entropy):
//   d scores_i = g_i dY_i - g~_i sum_j g_j dY_j
//   d alpha    = sum_i dY_i [(p_i - g~_i) / (alpha - 1)^2 - (p_i log p_i - g~_i H) / (alpha - 1)]
// per row, summed over the rows that share one alpha (the dimensions alpha broadcasts over). They
// are computed in double from the saved output, renormalized, so that d alpha's two 1/(alpha - 1)
// terms cancel without loss when alpha is near 1. For alpha > 2, g is unbounded as p_i -> 0 (the
// map is not Lipschitz at the edge of the support), so learnable alpha is usually kept in (1, 2].
//
// Masked keys (-inf scores) get exactly 0 weight, and a row whose every entry is -inf gives all
// zeros and zero gradients (as ops::softmax does; see layers/attention/scaled_dot_product.h).
//
//   const Tensor alpha = Tensor::full({heads, 1, 1}, 1.5f).requires_grad_();
//   const Tensor w = ops::entmax_bisect(scores, alpha);  // scores [batch, heads, query, key]
//   ops::sum(w * upstream).backward();                   // alpha.grad() is [heads, 1, 1]

#include "framework/tensor.h"

namespace heed::ops {

/// scores [..., n] (float32; -inf for masked entries), alpha (float32, broadcastable to scores with
/// its last dimension 1: [heads, 1, 1] against [batch, heads, query, key], or one element; every
/// value > 1) -> weights [..., n] (scores' shape), each row alpha-entmax of the row of scores, with
/// its row's alpha. Differentiable w.r.t. scores and alpha (alpha's gradient has alpha's shape).
/// Throws heed::Error naming entmax_bisect when scores is not float32 of at least 1 dimension,
/// when alpha's shape does not broadcast to scores with last dimension 1 (both shapes in the
/// message), when an alpha value is not a finite number > 1 (the value in the message), or when
/// n_iter < 1.
Tensor entmax_bisect(const Tensor& scores, const Tensor& alpha, int n_iter = 50);

}  // namespace heed::ops

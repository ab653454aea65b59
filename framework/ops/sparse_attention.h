#pragma once
// Score normalizers for attention beyond softmax: each maps a row of scores (the last dimension,
// [..., key]) to weights, with -inf entries (masked keys) always getting weight 0 and a row whose
// every entry is -inf giving all zeros (as ops::softmax does).
//
//   sparsemax      Martins & Astudillo 2016, eq. 2 (forward, Algorithm 1 by sorting) and eq. 14
//                  (backward: J^T g = s * (g - sum(s * g) / |S|), s the support indicator).
//   topk_mask      the mask (1 = dropped) of all but the k largest scores of each row; top-k
//                  attention is softmax(masked_fill(scores, topk_mask(scores, k), -inf)).
//   straight_through_one_hot
//                  forward: the one-hot of each row's argmax; backward: the identity, so
//                  one_hot(softmax(x)) is hard attention with softmax's gradient (Bengio et al.
//                  2013's straight-through estimator), and PyTorch's F.gumbel_softmax(hard=True).
//   gumbel_noise   g = -log(-log(u)), u ~ U(0, 1) from the run's Generator (Jang et al. 2017,
//                  eq. 1; Maddison et al. 2017): softmax((scores + g) / temperature) is the
//                  Gumbel-softmax sample.

#include "framework/tensor.h"

namespace heed {
class Generator;
}

namespace heed::ops {

/// x [..., n] -> [..., n], the Euclidean projection of each row onto the probability simplex.
Tensor sparsemax(const Tensor& x);

/// scores [..., n] -> float mask [..., n], 1 where an entry is not among its row's k largest
/// finite scores (ties go to the lower index). Not differentiable (a constant). Throws when k < 1.
Tensor topk_mask(const Tensor& scores, int64_t k);

/// probs [..., n] -> [..., n] one-hot at each row's argmax (first on ties); an all-zero row stays
/// zero. Gradient: passed through unchanged.
Tensor straight_through_one_hot(const Tensor& probs);

/// Standard Gumbel noise of `shape`; u is clamped to [1e-10, 1 - 1e-7] so g is finite.
Tensor gumbel_noise(const Shape& shape, Generator& gen);

}  // namespace heed::ops

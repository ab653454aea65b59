#pragma once
// Attention on a band of the [query, key] matrix, computed on the band only: O(seq * width) time
// and memory where the dense form masks an O(seq^2) matrix (the sliding-window attention of
// Beltagy et al. 2020, Longformer, section 3.1; Child et al. 2019's local pattern). Row i of a
// band holds the keys j = i - before + t for t in [0, width), width = before + 1 + after:
// before = after = w is the symmetric window |i - j| <= w, after = 0 the causal one.
//
//   scores  = band_scores(q / sqrt(d_k), k, w, 0)     [..., seq, w + 1]
//   weights = softmax(scores, -1)                      keys outside [0, seq) hold -inf: weight 0
//   output  = band_matmul(weights, v, w)               [..., seq, d_v]
//
// Each op is parallel over the leading dimensions (OpenMP) and has its backward beside it.
// Throws heed::Error naming the op and the shapes when they disagree.

#include <cstdint>

#include "framework/tensor.h"

namespace heed::ops {

/// q [..., seq, d], k [..., seq, d] -> [..., seq, before + 1 + after]: entry (i, t) is
/// q_i . k_j with j = i - before + t, or -inf where j is outside [0, seq) (then it gets no
/// gradient). before, after >= 0.
Tensor band_scores(const Tensor& q, const Tensor& k, int64_t before, int64_t after);

/// weights [..., seq, width], v [..., seq, d_v] -> [..., seq, d_v]: out_i = sum_t w_it v_j over
/// the j = i - before + t inside [0, seq); entries outside are ignored (gradient 0).
Tensor band_matmul(const Tensor& weights, const Tensor& v, int64_t before);

/// weights [..., seq, width] -> [..., seq, seq], the band written into its place of the dense
/// matrix and zeros elsewhere (for callers that want the [query, key] weights: inspection).
/// Differentiable (its gradient reads the band back).
Tensor band_to_dense(const Tensor& weights, int64_t before);

/// key_padding_mask [batch, seq] (nonzero = padding, any dtype) -> [batch, 1, seq, width] float
/// mask, 1 where the band's key is padding or outside [0, seq): a masked_fill mask for
/// band_scores over [batch, heads, seq, width].
Tensor band_key_mask(const Tensor& key_padding_mask, int64_t before, int64_t after);

}  // namespace heed::ops

#pragma once
// Neural-network ops with fused kernels: embedding lookup, dropout, cross-entropy.

#include "framework/tensor.h"

namespace heed {
class Generator;
}

namespace heed::ops {

/// Rows of weight [num_embeddings, embedding_dim] picked by int64 ids of any shape
/// -> [..., embedding_dim]. Rows at `padding_idx` (if >= 0) get no gradient, as in PyTorch.
/// Throws naming the offending id when one is outside [0, num_embeddings).
Tensor embedding(const Tensor& weight, const Tensor& ids, int64_t padding_idx = -1);

/// Inverted dropout (Srivastava et al. 2014): zeroes each element with probability p and scales the
/// rest by 1/(1-p) when training; the identity otherwise. The mask comes from `gen` through a
/// counter-based hash, so it is the same for any thread count and is replayed on resume.
Tensor dropout(const Tensor& x, float p, bool training, Generator& gen);

/// Mean cross-entropy of logits [N, C] against int64 targets [N] (PyTorch's F.cross_entropy with
/// reduction="mean"): targets equal to `ignore_index` count neither in the loss nor the mean, and
/// `label_smoothing` eps mixes the one-hot target with the uniform distribution,
/// loss_i = (1 - eps) * -log p_i[t_i] + eps * mean_c(-log p_i[c]) (Szegedy et al. 2016).
/// Throws on a target outside [0, C) that is not ignore_index. Returns a scalar; NaN if every
/// target is ignored, as PyTorch.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100,
                     float label_smoothing = 0.f);

}  // namespace heed::ops

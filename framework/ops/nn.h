#pragma once
// Neural-network ops with fused kernels: embedding lookup, dropout, and the losses: cross-entropy,
// mean squared error, Huber.

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

/// Mean squared error mean((input - target)^2) over every element (PyTorch's F.mse_loss with
/// reduction="mean"), with gradients for both. Throws heed::Error naming both shapes unless
/// input and target are float32 of one shape (PyTorch broadcasts, with a warning that it is
/// probably a mistake: here it is an error). Returns a scalar; NaN for empty tensors, as PyTorch.
Tensor mse_loss(const Tensor& input, const Tensor& target);

/// The Huber loss (Huber 1964, "Robust Estimation of a Location Parameter"; PyTorch's
/// F.huber_loss with reduction="mean"): per element of d = input - target, 0.5 d^2 where
/// |d| < delta and delta (|d| - 0.5 delta) elsewhere, so quadratic near 0 and linear (gradient
/// +-delta) beyond; the mean over every element. Throws heed::Error as mse_loss does, and unless
/// delta > 0.
Tensor huber_loss(const Tensor& input, const Tensor& target, float delta = 1.f);

}  // namespace heed::ops

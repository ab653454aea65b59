#pragma once
// The expected alignment of monotonic attention (Raffel, Luong, Liu, Weiss & Eck 2017, "Online and
// Linear-Time Attention by Enforcing Monotonic Alignments", ICML, eq. 9-11). At output step i the
// decoder scans the memory left to right from where step i - 1 stopped and stops at entry j with
// probability p_ij; in training the stop is not sampled but taken in expectation:
//   alpha_ij = p_ij q_ij,   q_ij = (1 - p_i,j-1) q_i,j-1 + alpha_i-1,j,   q_i1 = alpha_i-1,1
// (the recurrence form of eq. 9, alpha_ij = p_ij sum_{k<=j} alpha_i-1,k prod_{l=k}^{j-1}
// (1 - p_il)), O(memory) per step and exact, without the cumulative-product division of eq. 11
// that needs clamping. alpha_0 is one-hot at the first entry. A row's weights sum to at most 1:
// the rest is the chance that the scan runs off the end (then the context is zero).
//
// Gradients by the reverse scan of the same recurrence, with G_j = d loss / d q_ij:
//   G_j = dalpha_j p_j + G_j+1 (1 - p_j)   (G past the end 0)
//   d p_j = dalpha_j q_j - G_j+1 q_j,   d previous_j = G_j
//
//   p [batch, memory] in [0, 1] (sigmoid of the energies; 0 for padded entries, which then take
//   and pass nothing), previous [batch, memory] (alpha_i-1) -> alpha [batch, memory]
// Throws heed::Error naming monotonic_alignment and both shapes unless they are equal and 2-D.
//
//   Tensor alpha = one_hot_first;  // [batch, memory]
//   for (step i) alpha = ops::monotonic_alignment(ops::sigmoid(energy_i), alpha);

#include "framework/tensor.h"

namespace heed::ops {

Tensor monotonic_alignment(const Tensor& p, const Tensor& previous);

}  // namespace heed::ops

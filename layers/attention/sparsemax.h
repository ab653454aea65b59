#pragma once
// Sparsemax attention: the softmax of scaled dot-product attention replaced by sparsemax, the
// Euclidean projection of the scores onto the probability simplex (Martins & Astudillo 2016,
// eq. 2), so most keys get exactly zero weight. Registered as "sparsemax"; no options.
//   weights = sparsemax(Q K^T / sqrt(d_k)), shapes as layers/attention/mechanism.h.

#include "layers/attention/mechanism.h"

namespace heed::nn {

class SparsemaxAttention : public AttentionMechanism {
 public:
  using AttentionMechanism::AttentionMechanism;
  static AttentionFactory from_config(const Config& options);
  Tensor normalize(const Tensor& scores, const AttentionCall& call) const override;
};

}  // namespace heed::nn

#pragma once
// Top-k attention: softmax over the `topk` highest scores of each query, every other key masked
// (the explicit sparse attention of Zhao et al. 2019, "Explicit Sparse Transformer", eq. 6-8).
// Registered as "topk" with option topk (keys kept per query). Shapes as mechanism.h.

#include "layers/attention/mechanism.h"

namespace heed::nn {

class TopkAttention : public AttentionMechanism {
 public:
  struct Options {
    int64_t topk = 4;  // keys kept per query, >= 1
  };
  TopkAttention(const Options& options, const HeadShape& shape);
  static AttentionFactory from_config(const Config& options);
  Tensor normalize(const Tensor& scores, const AttentionCall& call) const override;
  std::string options_repr() const override;

  const Options options;
};

}  // namespace heed::nn

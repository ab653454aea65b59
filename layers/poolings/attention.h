#pragma once
// The pooling "attention" (any encoder): the last step's output is the query, and every step's
// output the keys and values, of one alignment ("pool": AdditiveAttention or LuongAttention,
// layers/attention/alignment.h), as Luong et al. 2015's h_t of a decoder's first step; local_m
// centres its window on the last step. The pooled vector is [context; query] (2 * features)
// unless "concat_query" is false (context alone).
//   h [batch, seq, features] -> [batch, 2 * features] or [batch, features]
// Options: "attention" (the alignment: a name or {"type": ..., its options}; default "additive")
// and "concat_query" (true).

#include "layers/attention/alignment.h"
#include "layers/poolings/pooling.h"

namespace heed::nn {

class AttentionPooling : public Pooling {
 public:
  AttentionPooling(const AlignmentFactory& alignment, bool concat_query,
                   const EncoderShape& encoder, Generator& gen);
  static PoolingFactory from_config(const Config& c);
  Tensor forward(const Tensor& h, const Tensor& lengths) const override;

 private:
  Alignment alignment_;
  bool concat_query_;
};

}  // namespace heed::nn

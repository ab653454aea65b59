#pragma once
// The pooling "query" (Transformer encoders only): one learned query ("pool_query" [1, 1,
// d_model], N(0, 0.02^2) as the learned positions) reads the encoder's outputs through one
// TransformerDecoderLayer ("pool_decoder", the encoder layers' options): its self-attention over
// the single query is trivial, its cross-attention is the pooling; the decoder's output for the
// query is the pooled vector. No options.
//   h [batch, seq, d_model] -> [batch, d_model]

#include "layers/poolings/pooling.h"
#include "layers/transformer_decoder.h"

namespace heed::nn {

class QueryPooling : public Pooling {
 public:
  QueryPooling(const TransformerEncoderLayerOptions& layer, Generator& gen);
  static PoolingFactory from_config(const Config& c);
  Tensor forward(const Tensor& h, const Tensor& lengths) const override;

  Tensor pool_query;
  std::shared_ptr<TransformerDecoderLayer> pool_decoder;
};

}  // namespace heed::nn

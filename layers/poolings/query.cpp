#include "layers/poolings/query.h"

#include "framework/data.h"
#include "framework/ops.h"
#include "framework/random.h"

namespace heed::nn {

QueryPooling::QueryPooling(const TransformerEncoderLayerOptions& o, Generator& gen) {
  width = o.d_model;
  pool_query = add_parameter("pool_query", Tensor::randn({1, 1, o.d_model}, gen) * 0.02f);
  pool_decoder = add_module("pool_decoder", std::make_shared<TransformerDecoderLayer>(o, gen));
}

PoolingFactory QueryPooling::from_config(const Config& c) {
  const std::string path = c.path();
  return [path](const EncoderShape& encoder, Generator& gen) {
    HEED_RECIPE_CHECK(encoder.transformer.has_value(), path,
                      ": pooling \"query\" needs encoder.type \"transformer\" (its decoder layer "
                      "reuses the encoder's options)");
    return with_recipe_path(
        path, [&] { return std::make_unique<QueryPooling>(*encoder.transformer, gen); });
  };
}

Tensor QueryPooling::forward(const Tensor& h, const Tensor& lengths) const {
  const Tensor query = pool_query.expand({h.size(0), 1, h.size(2)});
  return pool_decoder
      ->forward(query, h, Tensor(), Tensor(), Tensor(), padding_mask(lengths, h.size(1)))
      .squeeze(1);
}

}  // namespace heed::nn

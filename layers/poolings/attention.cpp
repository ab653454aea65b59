#include "layers/poolings/attention.h"

#include "framework/ops.h"

namespace heed::nn {

AttentionPooling::AttentionPooling(const AlignmentFactory& alignment, bool concat_query,
                                   const EncoderShape& encoder, Generator& gen)
    : alignment_(alignment({encoder.features, encoder.features}, gen)),
      concat_query_(concat_query) {
  add_module("pool", alignment_.module);
  width = concat_query ? 2 * encoder.features : encoder.features;
}

PoolingFactory AttentionPooling::from_config(const Config& c) {
  const bool concat_query = c.get<bool>("concat_query", true);
  const AlignmentFactory alignment = alignment_from_config(c, "attention");
  const std::string path = c.path_of("attention");
  return [alignment, concat_query, path](const EncoderShape& encoder, Generator& gen) {
    return with_recipe_path(path, [&] {
      return std::make_unique<AttentionPooling>(alignment, concat_query, encoder, gen);
    });
  };
}

Tensor AttentionPooling::forward(const Tensor& h) const {
  const int64_t seq = h.size(1);
  const Tensor query = h.narrow(1, seq - 1, 1);  // [batch, 1, features]
  const Tensor context = alignment_.forward(query, h, h, Tensor(), seq - 1).output.squeeze(1);
  return concat_query_ ? ops::concat({context, query.squeeze(1)}, 1) : context;
}

}  // namespace heed::nn

#include "layers/poolings/attention.h"

#include "framework/data.h"
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

Tensor AttentionPooling::forward(const Tensor& h, const Tensor& lengths) const {
  const int64_t batch = h.size(0), seq = h.size(1);
  const Tensor query = last_steps(h, lengths).unsqueeze(1);  // [batch, 1, features]
  // The query is each sequence's last step (local_m centres its window there).
  std::vector<int64_t> last_step =
      lengths.defined() ? lengths.to_vector_i64() : std::vector<int64_t>(batch, seq);
  for (int64_t& step : last_step) step -= 1;
  const Tensor context = alignment_
                             .forward(query, h, h, padding_mask(lengths, seq),
                                      Tensor::from_vector_i64(last_step, {batch}))
                             .output.squeeze(1);
  return concat_query_ ? ops::concat({context, query.squeeze(1)}, 1) : context;
}

}  // namespace heed::nn

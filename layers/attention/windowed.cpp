#include "layers/attention/windowed.h"

#include <cstdlib>

namespace heed::nn {

Tensor band_mask(int64_t query, int64_t key, int64_t window, bool causal) {
  HEED_CHECK(query >= 0 && key >= 0 && window >= 0, "band_mask: query ", query, ", key ", key,
             " and window ", window, " must be nonnegative");
  Tensor mask = Tensor::zeros({query, key});
  float* p = mask.data();
  for (int64_t i = 0; i < query; ++i)
    for (int64_t j = 0; j < key; ++j) {
      const int64_t offset = i - j;  // how far back key j lies from query i
      const bool outside = causal ? (offset < 0 || offset > window) : std::abs(offset) > window;
      p[i * key + j] = outside ? 1.f : 0.f;
    }
  return mask;
}

WindowedAttention::WindowedAttention(const Options& o, const HeadShape& shape)
    : AttentionMechanism(shape), options(o) {
  HEED_CHECK(o.window >= 0, "windowed attention: window must be non-negative, got ", o.window);
}

AttentionFactory WindowedAttention::from_config(const Config& c) {
  Options o;
  o.window = c.get<int64_t>("window", o.window, range::size_or_zero);
  return [o](const HeadShape& s) { return std::make_unique<WindowedAttention>(o, s); };
}

Tensor WindowedAttention::extra_mask(int64_t query, int64_t key) const {
  return shape.cross ? Tensor() : band_mask(query, key, options.window, false);
}

std::string WindowedAttention::options_repr() const {
  return ", window=" + std::to_string(options.window);
}

}  // namespace heed::nn

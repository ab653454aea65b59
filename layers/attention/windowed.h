#pragma once
// Local windowed self-attention as a band mask (the sliding window of Beltagy et al. 2020,
// Longformer, section 3.1): each query i sees keys within `window` steps of it.
//
//   -> [query, key] float mask, nonzero where attention is NOT allowed (the convention of every
//   attention function here): |i - j| > window, or, when causal, j > i or i - j > window.
// Pass it among the masks of scaled_dot_product_attention / cosine_attention or as
// MultiheadAttention's attn_mask. Throws heed::Error on negative sizes or window.
//
//   Tensor mask = band_mask(28, 28, /*window=*/4, /*causal=*/false);

#include <cstdint>

#include "layers/attention/mechanism.h"

namespace heed::nn {

Tensor band_mask(int64_t query, int64_t key, int64_t window, bool causal);

/// The registered mechanism "windowed": softmax attention within the band, option window (keys
/// within this distance are seen, >= 0). In self-attention with no attn_mask or a causal one, and
/// no score bias, it is computed on the band only (framework/ops/band_attention.h): O(seq *
/// window) time and memory, the [query, key] weights formed only when the call needs them. Any
/// other mask, ALiBi's bias, or queries and keys of different lengths take the dense form (the
/// scores masked by band_mask), which gives the same result. In cross-attention
/// (HeadShape::cross) queries and keys come from different sequences, so there is no distance
/// between them and no band: it is plain scaled dot-product attention there.
class WindowedAttention : public AttentionMechanism {
 public:
  struct Options {
    int64_t window = 4;
  };
  WindowedAttention(const Options& options, const HeadShape& shape);
  static AttentionFactory from_config(const Config& options);
  AttentionOutput attend(const Tensor& q, const Tensor& k, const Tensor& v,
                         const AttentionCall& call) const override;
  Tensor extra_mask(int64_t query, int64_t key) const override;
  std::string options_repr() const override;

  const Options options;
};

}  // namespace heed::nn

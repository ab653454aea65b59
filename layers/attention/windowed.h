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

#include "framework/tensor.h"

namespace heed::nn {

Tensor band_mask(int64_t query, int64_t key, int64_t window, bool causal);

}  // namespace heed::nn

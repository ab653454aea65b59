#pragma once
// Sampling the next token from a language model's logits, as `heed generate` does: softmax with a
// temperature (Ackley, Hinton & Sejnowski 1985), optionally over the k most likely tokens only
// (top-k sampling, Fan, Lewis & Dauphin 2018), as PyTorch/Hugging Face's generate() with
// do_sample. The four special tokens (<pad>, <s>, </s>, <unk>) are never drawn: generated text
// holds only the vocabulary's own tokens.
//
//   Generator gen(seed);
//   int64_t id = sample_token(model.next_token_logits(context), {.temperature = 0.8f}, gen);

#include <cstdint>

#include "framework/model.h"

namespace heed {

class Generator;

struct SamplingOptions {
  float temperature = 1.f;  // > 0: softmax(logits / T); 0: the most likely token (greedy)
  int64_t top_k = 0;        // > 0: draw among the k most likely ordinary tokens only; 0: all
};

/// One token id from `logits` [vocab] (float32); ties of the greedy choice go to the lowest id.
/// Throws heed::Error on a negative temperature or top_k, or a vocabulary of no ordinary token.
int64_t sample_token(const Tensor& logits, const SamplingOptions& options, Generator& gen);

/// `length` tokens after `prompt` (token ids, at least one), each drawn from the model's logits
/// for the last `model.max_context()` tokens so far, without gradients (the caller puts the model
/// in eval mode). Returns the new tokens only. Throws heed::Error on an empty prompt or a negative
/// length.
std::vector<int64_t> generate_tokens(NextTokenModel& model, const std::vector<int64_t>& prompt,
                                     int64_t length, const SamplingOptions& options,
                                     Generator& gen);

}  // namespace heed

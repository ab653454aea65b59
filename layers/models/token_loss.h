#pragma once
// What every model with token targets (language model, seq2seq) returns for a batch:
// cross-entropy of logits [batch * len, vocab] against the target ids [batch, len], over the
// positions that are not <pad> (Vocabulary::kPad is the ignore_index, so a padded batch and the
// same sequences unpadded give the same loss: the mean runs over the real tokens only), with
// optional label smoothing (Szegedy et al. 2016); and the metrics, each over the real positions
// of a whole split (framework/model.h, Metric):
//   token_accuracy   the fraction whose argmax is the target
//   cross_entropy    nats per token, without label smoothing
//   perplexity       exp(cross_entropy)
//   bits_per_token   cross_entropy / ln 2: bits per character (bpc) on character data (`text`)

#include "framework/model.h"

namespace heed::nn {

/// logits [N, vocab], target int64 [batch, len] with batch * len = N. Throws heed::Error (from
/// cross_entropy) when they do not fit or a target id is outside [0, vocab).
ModelOutput token_output(const Tensor& logits, const Tensor& target, float label_smoothing);

}  // namespace heed::nn

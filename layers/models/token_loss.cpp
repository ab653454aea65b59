#include "layers/models/token_loss.h"

#include <cmath>

#include "framework/ops.h"

namespace heed::nn {

ModelOutput token_output(const Tensor& logits, const Tensor& target, float label_smoothing) {
  const Tensor labels = target.reshape({-1});
  ModelOutput result;
  result.loss = ops::cross_entropy(logits, labels, Vocabulary::kPad, label_smoothing);
  const std::vector<int64_t> predicted = ops::argmax(logits.detach(), 1).to_vector_i64();
  const std::vector<int64_t> targets = labels.to_vector_i64();
  int64_t correct = 0, counted = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i] == Vocabulary::kPad) continue;
    ++counted;
    correct += predicted[i] == targets[i];
  }
  const auto tokens = static_cast<double>(counted);
  result.loss_count = tokens;
  result.metrics["token_accuracy"] = {static_cast<double>(correct), tokens};
  // The unsmoothed cross-entropy in nats per token, which perplexity and bits derive from.
  const double nats =
      label_smoothing == 0.f
          ? result.loss.item()
          : ops::cross_entropy(logits.detach(), labels, Vocabulary::kPad, 0.f).item();
  result.metrics["cross_entropy"] = {nats * tokens, tokens};
  result.metrics["perplexity"] = {nats * tokens, tokens,
                                  [](double mean) { return std::exp(mean); }};
  result.metrics["bits_per_token"] = {nats * tokens, tokens,
                                      [](double mean) { return mean / std::log(2.0); }};
  return result;
}

}  // namespace heed::nn

#include "layers/models/token_loss.h"

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
  result.metrics["token_accuracy"] =
      counted ? static_cast<double>(correct) / static_cast<double>(counted) : 0.0;
  return result;
}

}  // namespace heed::nn

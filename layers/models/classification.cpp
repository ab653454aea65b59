#include "layers/models/classification.h"

#include "framework/autograd.h"
#include "framework/inspect.h"
#include "framework/ops.h"

namespace heed::nn {

ModelOutput classification_output(const Module& model, const Tensor& logits, const Tensor& target,
                                  float label_smoothing) {
  Inspector::record(model, "logits", logits);
  ModelOutput result;
  result.loss = ops::cross_entropy(logits, target, -100, label_smoothing);
  const std::vector<int64_t> predicted = ops::argmax(logits, 1).to_vector_i64();
  const std::vector<int64_t> targets = target.to_vector_i64();
  int64_t correct = 0;
  for (size_t i = 0; i < targets.size(); ++i) correct += predicted[i] == targets[i];
  result.loss_count = static_cast<double>(targets.size());
  {
    NoGradGuard no_grad;
    const std::vector<float> log_p = ops::log_softmax(logits, 1).to_vector();
    const int64_t classes = logits.size(1);
    std::vector<float> picked(targets.size());
    for (size_t i = 0; i < targets.size(); ++i)
      picked[i] = log_p[i * classes + static_cast<size_t>(targets[i])];
    result.example_log_likelihood =
        Tensor::from_vector(picked, {static_cast<int64_t>(targets.size())});
  }
  result.metrics["accuracy"] = {static_cast<double>(correct), result.loss_count};
  return result;
}

}  // namespace heed::nn

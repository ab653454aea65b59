#pragma once
// Model: what a recipe trains. A model receives a whole batch and returns its loss and named
// metrics, so the trainer never knows whether it trains a classifier, a seq2seq model or a
// language model (ARCHITECTURE.md, "The flow of one training run").

#include <map>
#include <string>

#include "framework/module.h"

namespace heed {

/// One batch as a dataset serves it: `input` [batch, ...] (float32 features or int64 tokens) and
/// `target` [batch, ...] (int64 class ids or tokens).
struct Batch {
  Tensor input;
  Tensor target;
  int64_t size() const { return input.size(0); }
};

struct ModelOutput {
  Tensor loss;                            // scalar, mean over the batch
  std::map<std::string, double> metrics;  // batch means, e.g. {"accuracy", 0.91}
};

class Model : public Module {
 public:
  virtual ModelOutput forward(const Batch& batch) = 0;
};

}  // namespace heed

#pragma once
// Model: what a recipe trains. A model receives a whole batch and returns its loss and named
// metrics, so the trainer never knows whether it trains a classifier, a seq2seq model or a
// language model (ARCHITECTURE.md, "The flow of one training run").

#include <map>
#include <string>

#include "framework/data.h"
#include "framework/module.h"

namespace heed {

struct ModelOutput {
  Tensor loss;                            // scalar, mean over the batch
  std::map<std::string, double> metrics;  // batch means, e.g. {"accuracy", 0.91}
};

class Model : public Module {
 public:
  virtual ModelOutput forward(const Batch& batch) = 0;
};

}  // namespace heed

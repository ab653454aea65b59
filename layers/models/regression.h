#pragma once
// What a model with real-valued targets (data whose DataInfo::target_kind is Value, such as the
// adding problem, datasets/adding.h) returns for a batch: predictions [batch, 1] against float32
// targets [batch], the loss a recipe names ("mse": ops::mse_loss; "huber": ops::huber_loss with
// its delta), and the metrics, each over a whole split's examples (framework/model.h, Metric):
//   mse   mean squared error
//   mae   mean absolute error
// The predictions are recorded for an Inspector (framework/inspect.h) as "predictions" of
// `model`, as a classifier's logits are.

#include <string>

#include "framework/model.h"

namespace heed::nn {

struct RegressionLoss {
  std::string name = "mse";  // "mse" or "huber"
  float huber_delta = 1.f;
};

/// Throws heed::Error unless predictions are [batch, 1] and target float32 [batch].
ModelOutput regression_output(const Module& model, const Tensor& predictions, const Tensor& target,
                              const RegressionLoss& loss);

}  // namespace heed::nn

#include "layers/models/regression.h"

#include <cmath>

#include "framework/inspect.h"
#include "framework/ops.h"

namespace heed::nn {

ModelOutput regression_output(const Module& model, const Tensor& predictions, const Tensor& target,
                              const RegressionLoss& loss) {
  HEED_CHECK(target.dtype() == Dtype::Float32 && target.dim() == 1 &&
                 predictions.shape() == Shape({target.size(0), 1}),
             "regression: predictions ", predictions.shape(), " and targets ",
             dtype_name(target.dtype()), " ", target.shape(),
             " do not fit (expected [batch, 1] and float32 [batch])");
  Inspector::record(model, "predictions", predictions);
  const Tensor y = target.reshape({target.size(0), 1});
  ModelOutput result;
  result.loss = loss.name == "huber" ? ops::huber_loss(predictions, y, loss.huber_delta)
                                     : ops::mse_loss(predictions, y);
  const std::vector<float> p = predictions.to_vector(), t = target.to_vector();
  double squared = 0, absolute = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const double d = static_cast<double>(p[i]) - t[i];
    squared += d * d;
    absolute += std::abs(d);
  }
  result.loss_count = static_cast<double>(t.size());
  result.metrics["mse"] = {squared, result.loss_count};
  result.metrics["mae"] = {absolute, result.loss_count};
  return result;
}

}  // namespace heed::nn

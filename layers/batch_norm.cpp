#include "layers/batch_norm.h"

#include <sstream>

#include "framework/ops/batch_norm.h"

namespace heed::nn {

BatchNorm::BatchNorm(const char* name, const BatchNormOptions& o) : options(o), name_(name) {
  HEED_CHECK(o.num_features > 0, name, ": num_features must be positive, got ", o.num_features);
  HEED_CHECK(o.eps > 0.f && o.momentum >= 0.f && o.momentum <= 1.f, name,
             ": eps must be positive and momentum in [0, 1], got eps ", o.eps, " and momentum ",
             o.momentum);
  if (o.affine) {
    weight = register_parameter("weight", Tensor::ones({o.num_features}));
    bias = register_parameter("bias", Tensor::zeros({o.num_features}));
  }
  if (o.track_running_stats) {
    running_mean = register_buffer("running_mean", Tensor::zeros({o.num_features}));
    running_var = register_buffer("running_var", Tensor::ones({o.num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, Dtype::Int64));
  }
}

Tensor BatchNorm::forward(const Tensor& x) const {
  check_input(x);
  HEED_CHECK(x.size(1) == options.num_features, name_, ": input ", x.shape(), " has ", x.size(1),
             " channels, expected num_features ", options.num_features);
  // Without running statistics, eval normalizes with the batch's, as PyTorch does.
  const bool use_batch_stats = is_training() || !options.track_running_stats;
  if (is_training() && options.track_running_stats) ++num_batches_tracked.data_i64()[0];
  return ops::batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats,
                         options.momentum, options.eps);
}

std::string BatchNorm::repr() const {
  std::ostringstream out;
  out << name_ << "(" << options.num_features << ", eps=" << options.eps
      << ", momentum=" << options.momentum << ", affine=" << (options.affine ? "true" : "false")
      << ", track_running_stats=" << (options.track_running_stats ? "true" : "false") << ")";
  return out.str();
}

void BatchNorm1d::check_input(const Tensor& x) const {
  HEED_CHECK(x.dim() == 2 || x.dim() == 3, "BatchNorm1d: expected 2D or 3D input [batch, ",
             "num_features(, length)], got ", x.shape());
}

void BatchNorm2d::check_input(const Tensor& x) const {
  HEED_CHECK(x.dim() == 4, "BatchNorm2d: expected 4D input [batch, num_features, H, W], got ",
             x.shape());
}

}  // namespace heed::nn

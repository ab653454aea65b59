#pragma once
// BatchNorm1d and BatchNorm2d (PyTorch's nn.BatchNorm1d/2d; Ioffe & Szegedy 2015, Algorithm 1),
// through oneDNN (framework/ops/batch_norm.h).
//   BatchNorm1d: x [batch, num_features] or [batch, num_features, length] -> the same shape;
//   BatchNorm2d: x [batch, num_features, H, W] -> the same shape.
// Parameters weight (ones) and bias (zeros) [num_features] when affine; buffers running_mean
// (zeros), running_var (ones) [num_features] and num_batches_tracked (int64 scalar) when
// track_running_stats, with PyTorch's names, so state dicts match.
// Training normalizes with the batch's statistics and updates the running ones (momentum 0.1,
// unbiased variance); eval normalizes with the running ones.
//
//   BatchNorm2d bn({.num_features = 32});
//   Tensor y = bn.forward(x);  // training: updates bn.running_mean, bn.running_var

#include "framework/module.h"

namespace heed::nn {

struct BatchNormOptions {
  int64_t num_features = 0;
  float eps = 1e-5f;
  float momentum = 0.1f;
  bool affine = true;
  bool track_running_stats = true;
};

/// The shared body of BatchNorm1d and BatchNorm2d, which differ in the input ranks they accept.
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;

  const BatchNormOptions options;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 protected:
  /// Throws heed::Error unless num_features > 0, eps > 0 and 0 <= momentum <= 1.
  BatchNorm(const char* name, const BatchNormOptions& options);
  virtual void check_input(const Tensor& x) const = 0;
  const char* name_;
};

class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(const BatchNormOptions& options) : BatchNorm("BatchNorm1d", options) {}

 protected:
  void check_input(const Tensor& x) const override;
};

class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(const BatchNormOptions& options) : BatchNorm("BatchNorm2d", options) {}

 protected:
  void check_input(const Tensor& x) const override;
};

}  // namespace heed::nn

#pragma once
// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60,000 training and 10,000 test images of 28x28
// grey pixels in 10 classes, read from the gzipped IDX files Debian's dataset-fashion-mnist
// package installs in /usr/share/datasets/fashion-mnist.
//
// Pixels are scaled to [0, 1] and standardized with the training set's mean 0.2860 and standard
// deviation 0.3530. Served as
//   layout "rows":  input [batch, 28, 28] float32, a sequence of 28 rows of 28 pixels;
//   layout "image": input [batch, 1, 28, 28] float32, one channel;
// target [batch] int64 class ids 0..9.

#include <string>

#include "framework/registry.h"

namespace heed::data {

class FashionMnist : public Dataset {
 public:
  /// Reads split "train" or "test" from `dir`, keeping the first `limit` examples when limit > 0.
  /// Throws heed::Error naming the file on a missing or corrupt file.
  FashionMnist(const std::string& dir, const std::string& split, const std::string& layout,
               int64_t limit);
  int64_t size() const override { return labels_.size(0); }
  Batch get(const std::vector<int64_t>& indices) const override;

 private:
  Tensor images_;  // [N, 28, 28] standardized
  Tensor labels_;  // [N]
  bool image_layout_;
};

}  // namespace heed::data

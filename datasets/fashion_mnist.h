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
//
// Splits (the protocol of e.g. Xiao et al.'s benchmark and torchvision users' usual hold-out):
// train = the training file's first 60,000 - dev_samples images, dev = its last dev_samples
// (5,000 by default), test = the test file's 10,000. Model selection reads dev, never test.

#include <string>

#include "datasets/idx.h"
#include "framework/data.h"

namespace heed::data {

class FashionMnist : public Dataset {
 public:
  /// Examples [begin, begin + count) of a file read by read_fashion_mnist (datasets/idx.h).
  /// Throws heed::Error when they are not all in the file.
  FashionMnist(const FashionMnistSplit& file, int64_t begin, int64_t count,
               const std::string& layout);
  int64_t size() const override { return labels_.size(0); }
  Batch get(const std::vector<int64_t>& indices) const override;

 private:
  Tensor images_;  // [N, 28, 28] standardized
  Tensor labels_;  // [N]
  bool image_layout_;
};

}  // namespace heed::data

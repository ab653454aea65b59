#pragma once
// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60,000 training and 10,000 test images of 28x28
// grey pixels in 10 classes, read from the gzipped IDX files Debian's dataset-fashion-mnist
// package installs in /usr/share/datasets/fashion-mnist.
//
// Pixels are scaled to [0, 1] and standardized with the training set's mean 0.2860 and standard
// deviation 0.3530. Served as
//   layout "rows":   input [batch, 28, 28] float32, a sequence of 28 rows of 28 pixels;
//   layout "image":  input [batch, 1, 28, 28] float32, one channel;
//   layout "pixels": input [batch, 784, 1] float32, 784 steps of one pixel in raster order
//                    (sequential MNIST: Le, Jaitly & Hinton 2015, "A Simple Way to Initialize
//                    Recurrent Networks of Rectified Linear Units", sec. 4.1);
//   layout "permuted_pixels": the same 784 steps in one fixed random order for every image
//                    (their permuted MNIST), pixel_permutation();
// target [batch] int64 class ids 0..9.
//
// Splits (the protocol of e.g. Xiao et al.'s benchmark and torchvision users' usual hold-out):
// train = the training file's first 60,000 - dev_samples images, dev = its last dev_samples
// (5,000 by default), test = the test file's 10,000. Model selection reads dev, never test.

#include <string>
#include <vector>

#include "datasets/idx.h"
#include "framework/data.h"

namespace heed::data {

/// One example's input shape in `layout` ("rows", "image", "pixels", "permuted_pixels").
Shape fashion_mnist_shape(const std::string& layout);

/// The order in which layout "permuted_pixels" reads the 784 raster-order pixels: step s reads
/// pixel order[s]. A Fisher-Yates shuffle by heed's Generator seeded with 0, the same for every
/// split, run and machine, as the permuted task asks.
std::vector<int64_t> pixel_permutation();

class FashionMnist : public Dataset {
 public:
  /// Examples [begin, begin + count) of a file read by read_fashion_mnist (datasets/idx.h), in
  /// `layout`. Throws heed::Error when they are not all in the file.
  FashionMnist(const FashionMnistSplit& file, int64_t begin, int64_t count,
               const std::string& layout);
  int64_t size() const override { return labels_.size(0); }
  Batch get(const std::vector<int64_t>& indices) const override;

 private:
  Tensor images_;  // [N, 784] standardized, in the layout's pixel order
  Tensor labels_;  // [N]
  Shape shape_;    // one example's
};

}  // namespace heed::data

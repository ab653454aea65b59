// FashionMnist's layouts (datasets/fashion_mnist.h) on a two-image split built in memory: rows,
// image, the sequential pixels and the fixed permutation of permuted MNIST.

#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "datasets/fashion_mnist.h"
#include "framework/error.h"

using namespace heed;

namespace {

// Two images whose pixel p is (p + 100 i) % 256, labels 3 and 7.
data::FashionMnistSplit two_images() {
  data::FashionMnistSplit split;
  split.images.dims = {2, 28, 28};
  for (int i = 0; i < 2; ++i)
    for (int p = 0; p < 784; ++p)
      split.images.data.push_back(static_cast<uint8_t>((p + 100 * i) % 256));
  split.labels = {{2}, {3, 7}};
  return split;
}

}  // namespace

TEST_CASE("fashion_mnist layouts: the same standardized pixels in each shape and order") {
  const data::FashionMnistSplit split = two_images();
  const Batch rows = data::FashionMnist(split, 0, 2, "rows").get({1, 0});
  const Batch image = data::FashionMnist(split, 0, 2, "image").get({1, 0});
  const Batch pixels = data::FashionMnist(split, 0, 2, "pixels").get({1, 0});
  const Batch permuted = data::FashionMnist(split, 0, 2, "permuted_pixels").get({1, 0});
  CHECK(rows.input.shape() == Shape{2, 28, 28});
  CHECK(image.input.shape() == Shape{2, 1, 28, 28});
  CHECK(pixels.input.shape() == Shape{2, 784, 1});
  CHECK(permuted.input.shape() == Shape{2, 784, 1});
  CHECK(permuted.target.to_vector_i64() == std::vector<int64_t>{7, 3});
  const std::vector<float> raster = rows.input.to_vector();
  CHECK(image.input.to_vector() == raster);
  CHECK(pixels.input.to_vector() == raster);
  // Pixel 1 of image 1 is 101: standardized with the training set's mean and deviation.
  CHECK(raster[1] == doctest::Approx((101 / 255.0 - 0.2860) / 0.3530));
  const std::vector<int64_t> order = data::pixel_permutation();
  const std::vector<float> shuffled = permuted.input.to_vector();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t s = 0; s < 784; ++s) REQUIRE(shuffled[b * 784 + s] == raster[b * 784 + order[s]]);
}

TEST_CASE("fashion_mnist permuted_pixels: one fixed permutation of the 784 pixels") {
  const std::vector<int64_t> order = data::pixel_permutation();
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(784);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(sorted == identity);
  CHECK(order != identity);
  CHECK(data::pixel_permutation() == order);
  // Pinned: a change of the order would silently change the task every recipe names.
  const std::vector<int64_t> first(order.begin(), order.begin() + 4);
  CHECK(first == std::vector<int64_t>{612, 760, 366, 252});
}

TEST_CASE("fashion_mnist: an unknown layout is named") {
  CHECK_THROWS_WITH_AS(data::fashion_mnist_shape("columns"),
                       "fashion_mnist: layout \"columns\" is not one of \"rows\", \"image\", "
                       "\"pixels\", \"permuted_pixels\"",
                       Error);
}

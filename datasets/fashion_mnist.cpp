#include "datasets/fashion_mnist.h"

#include <cstring>
#include <numeric>

#include "framework/random.h"

namespace heed::data {

namespace {
constexpr float kMean = 0.2860f, kStd = 0.3530f;
constexpr int64_t kPixels = 28 * 28;
}  // namespace

Shape fashion_mnist_shape(const std::string& layout) {
  if (layout == "rows") return {28, 28};
  if (layout == "image") return {1, 28, 28};
  HEED_CHECK(layout == "pixels" || layout == "permuted_pixels", "fashion_mnist: layout \"", layout,
             "\" is not one of \"rows\", \"image\", \"pixels\", \"permuted_pixels\"");
  return {kPixels, 1};
}

std::vector<int64_t> pixel_permutation() {
  std::vector<int64_t> order(kPixels);
  std::iota(order.begin(), order.end(), 0);
  Generator gen(0);
  for (int64_t j = kPixels - 1; j > 0; --j)
    std::swap(order[j], order[static_cast<int64_t>(gen.below(static_cast<uint64_t>(j) + 1))]);
  return order;
}

FashionMnist::FashionMnist(const FashionMnistSplit& file, int64_t begin, int64_t count,
                           const std::string& layout)
    : shape_(fashion_mnist_shape(layout)) {
  const int64_t available = file.labels.dims[0];
  HEED_CHECK(begin >= 0 && count >= 0 && begin + count <= available, "fashion_mnist: examples [",
             begin, ", ", begin + count, ") of a file of ", available);
  images_ = Tensor::empty({count, kPixels});
  labels_ = Tensor::empty({count}, Dtype::Int64);
  std::vector<int64_t> order(kPixels);
  if (layout == "permuted_pixels") {
    order = pixel_permutation();
  } else {
    std::iota(order.begin(), order.end(), 0);
  }
  float* img = images_.data();
  const uint8_t* pixels = file.images.data.data() + begin * kPixels;
  for (int64_t i = 0; i < count; ++i)
    for (int64_t s = 0; s < kPixels; ++s)
      img[i * kPixels + s] = (pixels[i * kPixels + order[s]] / 255.f - kMean) / kStd;
  for (int64_t i = 0; i < count; ++i) labels_.data_i64()[i] = file.labels.data[begin + i];
}

Batch FashionMnist::get(const std::vector<int64_t>& indices) const {
  const int64_t b = static_cast<int64_t>(indices.size()), pixels = kPixels;
  Shape shape{b};
  shape.insert(shape.end(), shape_.begin(), shape_.end());
  Tensor input = Tensor::empty(shape);
  Tensor target = Tensor::empty({b}, Dtype::Int64);
  for (int64_t i = 0; i < b; ++i) {
    HEED_CHECK(indices[i] >= 0 && indices[i] < size(), "fashion_mnist: index ", indices[i],
               " out of range");
    std::memcpy(input.data() + i * pixels, images_.data() + indices[i] * pixels,
                pixels * sizeof(float));
    target.data_i64()[i] = labels_.data_i64()[indices[i]];
  }
  return {input, target};
}

}  // namespace heed::data

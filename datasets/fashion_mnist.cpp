#include "datasets/fashion_mnist.h"

#include <cstring>

#include "datasets/idx.h"

namespace heed::data {

namespace {
constexpr float kMean = 0.2860f, kStd = 0.3530f;
}

FashionMnist::FashionMnist(const std::string& dir, const std::string& split,
                           const std::string& layout, int64_t limit)
    : image_layout_(layout == "image") {
  const FashionMnistSplit raw = read_fashion_mnist(dir, split);
  const int64_t n = limit > 0 ? std::min(limit, raw.labels.dims[0]) : raw.labels.dims[0];
  images_ = Tensor::empty({n, 28, 28});
  labels_ = Tensor::empty({n}, Dtype::Int64);
  float* img = images_.data();
  for (int64_t i = 0; i < n * 28 * 28; ++i) img[i] = (raw.images.data[i] / 255.f - kMean) / kStd;
  for (int64_t i = 0; i < n; ++i) labels_.data_i64()[i] = raw.labels.data[i];
}

Batch FashionMnist::get(const std::vector<int64_t>& indices) const {
  const int64_t b = static_cast<int64_t>(indices.size()), pixels = 28 * 28;
  Tensor input = Tensor::empty(image_layout_ ? Shape{b, 1, 28, 28} : Shape{b, 28, 28});
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

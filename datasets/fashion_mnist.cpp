#include "datasets/fashion_mnist.h"

#include <cstring>

namespace heed::data {

namespace {
constexpr float kMean = 0.2860f, kStd = 0.3530f;
}

FashionMnist::FashionMnist(const FashionMnistSplit& file, int64_t begin, int64_t count,
                           const std::string& layout)
    : image_layout_(layout == "image") {
  const int64_t available = file.labels.dims[0];
  HEED_CHECK(begin >= 0 && count >= 0 && begin + count <= available, "fashion_mnist: examples [",
             begin, ", ", begin + count, ") of a file of ", available);
  images_ = Tensor::empty({count, 28, 28});
  labels_ = Tensor::empty({count}, Dtype::Int64);
  float* img = images_.data();
  const uint8_t* pixels = file.images.data.data() + begin * 28 * 28;
  for (int64_t i = 0; i < count * 28 * 28; ++i) img[i] = (pixels[i] / 255.f - kMean) / kStd;
  for (int64_t i = 0; i < count; ++i) labels_.data_i64()[i] = file.labels.data[begin + i];
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

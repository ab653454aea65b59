// Fashion-MNIST images through a small CNN: BENCHMARKS.md's cnn_fmnist, the registered
// image_classifier built from the same layer list as recipes/fashion_mnist/cnn.json.

#include "bench/bench.h"
#include "framework/random.h"
#include "framework/registry.h"

namespace heed::bench {

void cnn_fmnist(const Args& a) {
  Generator gen(a.seed);
  const int64_t batch = 64;
  const nlohmann::json recipe = {
      {"type", "image_classifier"},
      {"layers",
       nlohmann::json::array(
           {{{"type", "conv2d"}, {"out_channels", 32}, {"kernel_size", 3}, {"padding", 1}},
            {{"type", "relu"}},
            {{"type", "max_pool2d"}, {"kernel_size", 2}},
            {{"type", "conv2d"}, {"out_channels", 64}, {"kernel_size", 3}, {"padding", 1}},
            {{"type", "relu"}},
            {{"type", "max_pool2d"}, {"kernel_size", 2}},
            {{"type", "flatten"}},
            {{"type", "linear"}, {"out_features", 128}},
            {{"type", "relu"}},
            {{"type", "dropout"}, {"p", 0.5}}})}};
  auto model = build_model(Config(recipe, "model"), DataInfo{{1, 28, 28}, 10}, gen);
  std::vector<int64_t> labels(batch);
  for (auto& l : labels) l = static_cast<int64_t>(gen.below(10));
  const Batch b{Tensor::randn({batch, 1, 28, 28}, gen), Tensor::from_vector_i64(labels, {batch})};
  train_steps(a, *model, b, batch, "images/s");
}

}  // namespace heed::bench

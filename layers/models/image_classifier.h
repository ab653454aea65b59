#pragma once
// ImageClassifier: a stack of layers named in the recipe, like PyTorch's nn.Sequential, then a
// Linear head to num_classes, trained with cross-entropy: the model recipes name
// "image_classifier" (docs/recipes.md).
//   input [batch, *input_shape] (e.g. [batch, 1, 28, 28] for data.layout "image", or
//   [batch, 28, 28] for "rows", read by conv1d as 28 channels of length 28) -> logits
//   [batch, num_classes].
// "layers" is a list of {"type": ..., options}, each a layer of the registry in
// layers/models/image_layers.h (conv1d, conv2d, batch_norm1d, batch_norm2d, relu, gelu, tanh,
// sigmoid, max_pool1d, max_pool2d, avg_pool1d, avg_pool2d, adaptive_avg_pool2d, flatten, linear,
// dropout, se, cbam). Each layer's in_channels / num_features / in_features is the size its input
// has, inferred from the data shape. The final Linear(features, num_classes) is
// appended after the listed layers, whose output must be flat ([batch, features]).
// Children are "layers.0", "layers.1", ... (the head is the last index), so the state dict is that
// of the same nn.Sequential named "layers" in PyTorch.
// Metrics: "accuracy" (fraction of the batch whose argmax is the target).

#include <functional>
#include <memory>
#include <vector>

#include "framework/config.h"
#include "framework/registry.h"
#include "layers/models/image_layers.h"

namespace heed::nn {

/// The model section's options, read without building anything (`heed list` describes them).
struct ImageClassifierOptions {
  struct Layer {
    std::string path;  // "model.layers.3"
    ImageLayerFactory build;
  };
  std::vector<Layer> layers;
  float label_smoothing = 0.f;
  /// Every layer's type and options, and the model's own; throws heed::RecipeError naming the
  /// recipe path of an unknown layer type or key or a value out of range.
  static ImageClassifierOptions from_config(const Config& c);
};

class ImageClassifier : public Model {
 public:
  /// Reads the recipe's model section; throws heed::Error naming the recipe path on an unknown
  /// layer type or key, and on a layer whose input does not fit (with the shapes).
  ImageClassifier(const Config& config, const DataInfo& info, Generator& gen);
  ModelOutput forward(const Batch& batch) override;
  /// logits [batch, num_classes] for input [batch, *input_shape].
  Tensor logits(const Tensor& input) const;
  std::string repr() const override;

 private:
  std::shared_ptr<Module> layers_;
  std::vector<std::function<Tensor(const Tensor&)>> steps_;
  float label_smoothing_;
};

}  // namespace heed::nn

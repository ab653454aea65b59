#pragma once
// The layers of ImageClassifier's list ("model.layers"), each built by name from one registry
// (layers/models/image_layers.cpp), the parts of kind "layer":
//   conv1d, conv2d                      Conv1d, Conv2d (layers/conv.h)
//   batch_norm1d, batch_norm2d          BatchNorm1d, BatchNorm2d (layers/batch_norm.h)
//   relu, gelu, tanh, sigmoid           parameterless activations (as nn.ReLU, ...)
//   max_pool1d, max_pool2d, avg_pool1d, avg_pool2d, adaptive_avg_pool2d   (layers/pool.h)
//   flatten, linear, dropout            Flatten, Linear, Dropout
//   se, cbam                            SqueezeExcitation, CBAM (layers/attention/channel.h)
// Each entry's from_config reads its options from the layer's list element
//   {"type": "conv2d", "out_channels": 32, "kernel_size": 3}
// and returns a factory that builds the layer for the shape one example has at its input, from
// which in_channels / num_features / in_features are inferred. An option the layer does not read
// is an error naming the key and the layer types that have it; `heed list` prints every layer
// type with the options its from_config reads (Config::describe).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "framework/config.h"
#include "framework/module.h"
#include "framework/registry.h"

namespace heed::nn {

/// One built layer: its module (a child of the model's Sequential) and its forward.
struct ImageLayer {
  std::shared_ptr<Module> module;
  std::function<Tensor(const Tensor&)> forward;  // [batch, *input] -> [batch, *output]
};

/// Builds the layer for one example's input shape without the batch ([channels, H, W],
/// [channels, length], [features]); throws heed::RecipeError naming the layer's path when the
/// input does not suit it.
using ImageLayerFactory = std::function<ImageLayer(const Shape& input, Generator& gen)>;

/// Reads the layer that is the list element `layer` ({"type": ..., options}): its type and every
/// option; throws heed::RecipeError naming the recipe path. `type` receives the type.
ImageLayerFactory image_layer_from_config(const Config& layer, std::string* type = nullptr);

std::vector<std::string> image_layer_names();
std::vector<RegistryEntry> list_image_layers();

}  // namespace heed::nn

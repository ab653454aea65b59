// The image classifier's layers as a registry (layers/models/image_layers.h): every registered
// layer type builds from its minimal options and runs; an option the type does not read is an
// error naming the layer and the types that have the option; an unknown type names the nearest;
// `heed list` prints every layer type with the options its from_config reads.

#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "framework/config.h"
#include "framework/random.h"
#include "framework/registry.h"
#include "layers/models/image_layers.h"
#include "testing.h"

using namespace heed;
using json = nlohmann::json;

namespace {

// {"type": name} with the options the type requires.
json minimal_layer(const std::string& name) {
  json layer = {{"type", name}};
  if (name.rfind("conv", 0) == 0) layer.update({{"out_channels", 2}, {"kernel_size", 3}});
  if (name.find("pool") != std::string::npos && name.rfind("adaptive", 0) != 0)
    layer["kernel_size"] = 2;
  if (name == "linear") layer["out_features"] = 3;
  return layer;
}

// One example's input for the type: [features] for linear, [channels, length] for the 1d
// layers, else [channels, H, W].
Shape input_for(const std::string& name) {
  if (name == "linear") return {16};
  return name.size() > 2 && name.substr(name.size() - 2) == "1d" ? Shape{4, 8} : Shape{4, 8, 8};
}

std::string model_error(const json& layers, const Shape& input = {4, 8, 8}) {
  Generator gen(0);
  return testing::error_of([&] {
    build_model(Config({{"type", "image_classifier"}, {"layers", layers}}, "model"),
                DataInfo{input, 5}, gen);
  });
}

}  // namespace

TEST_CASE("image layers: every registered type builds from its minimal options and runs") {
  const std::vector<std::string> names = nn::image_layer_names();
  CHECK(names.size() == 20);
  for (const std::string& name : names) {
    INFO(name);
    Generator gen(1);
    // Alone, as the registry builds it for one example's input.
    const nn::ImageLayerFactory make =
        nn::image_layer_from_config(Config(minimal_layer(name), "model.layers.0"));
    const Shape in = input_for(name);
    const nn::ImageLayer layer = make(in, gen);
    REQUIRE(layer.module);
    Shape batch{2};
    batch.insert(batch.end(), in.begin(), in.end());
    CHECK(layer.forward(Tensor::zeros(batch)).size(0) == 2);
    // In a model: then flattened, with the head; forward and backward.
    const json layers = {minimal_layer(name), {{"type", "flatten"}}};
    auto model = build_model(Config({{"type", "image_classifier"}, {"layers", layers}}, "model"),
                             DataInfo{in, 5}, gen);
    batch[0] = 3;
    const ModelOutput out =
        model->forward({Tensor::randn(batch, gen), Tensor::from_vector_i64({0, 1, 4}, {3})});
    CHECK(std::isfinite(out.loss.item()));
    out.loss.backward();
  }
}

TEST_CASE("image layers: an option the type does not read names the types that have it") {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"type", "relu"}, {"p", 0.5}},
       "recipe: \"model.layers.0.p\" is not an option of layer \"relu\" (it has none); \"p\" is "
       "an option of layer \"dropout\""},
      {{{"type", "max_pool2d"}, {"kernel_size", 2}, {"count_include_pad", false}},
       "recipe: \"model.layers.0.count_include_pad\" is not an option of layer \"max_pool2d\" "
       "(its options: kernel_size, padding, stride); \"count_include_pad\" is an option of layer "
       "\"avg_pool1d\", \"avg_pool2d\""},
      {{{"type", "se"}, {"kernel_size", 3}},
       "recipe: \"model.layers.0.kernel_size\" is not an option of layer \"se\" (its options: "
       "reduction); \"kernel_size\" is an option of layer \"conv1d\", \"conv2d\", \"max_pool1d\", "
       "\"max_pool2d\", \"avg_pool1d\", \"avg_pool2d\", \"cbam\", \"spatial_attention\""},
      {{{"type", "conv2d"}, {"out_channels", 4}, {"kernel_size", 3}, {"paddin", 1}},
       "recipe: \"model.layers.0.paddin\" is not an option of layer \"conv2d\" (its options: "
       "bias, dilation, groups, kernel_size, out_channels, padding, stride); did you mean "
       "\"padding\"?"},
  };
  for (const auto& [layer, message] : cases) {
    INFO(layer.dump());
    CHECK(model_error(json::array({layer, {{"type", "flatten"}}})) == message);
  }
}

TEST_CASE("image layers: an unknown type names the nearest registered one") {
  CHECK(
      model_error(json::array({{{"type", "batchnorm2d"}}}))
          .rfind(
              "recipe: unknown layer type \"batchnorm2d\" at \"model.layers.0.type\"; did you mean "
              "\"batch_norm2d\"? (valid: conv1d, conv2d, batch_norm1d, ",
              0) == 0);
  CHECK(model_error(json::array({{{"type", "flatten"}}, {{"type", "lineer"}}}))
            .rfind("recipe: unknown layer type \"lineer\" at \"model.layers.1.type\"; did you "
                   "mean \"linear\"?",
                   0) == 0);
  CHECK(model_error(json::array({{{"out_channels", 2}}})) ==
        "recipe: missing required key \"model.layers.0.type\"");
}

TEST_CASE("image layers: heed list prints every layer type with its options") {
  std::map<std::string, std::string> listed;
  for (const RegistryEntry& e : list_parts())
    if (e.kind == "layer") listed[e.name] = e.options;
  for (const std::string& name : nn::image_layer_names()) CHECK(listed.count(name) == 1);
  CHECK(listed.size() == nn::image_layer_names().size());
  CHECK(listed["relu"] == "(none)");
  CHECK(listed["conv2d"].rfind("out_channels (required, in [1, 1048576]); kernel_size (required, "
                               "in [1, 1048576]); stride (1, in [1, 1048576]); ",
                               0) == 0);
  CHECK(listed["conv1d"].find("groups (1, in [1, 1048576]; divides the input's and the output's "
                              "channels)") != std::string::npos);
  CHECK(listed["max_pool2d"] ==
        "kernel_size (required, in [1, 1048576]); stride (kernel_size, in [1, 1048576]); padding "
        "(0, in [0, 1048576]; at most kernel_size / 2)");
  CHECK(listed["avg_pool1d"].find("count_include_pad (true)") != std::string::npos);
  CHECK(listed["cbam"] == "reduction (16, in [1, 1048576]); kernel_size (7, in [1, 1048576]; odd)");
  CHECK(listed["spatial_attention"] == "kernel_size (7, in [1, 1048576]; odd)");
  CHECK(listed["attention_in_attention"] ==
        "reduction (4, in [1, 1048576]); temperature (30.0, > 0)");
  CHECK(listed["dropout"] == "p (0.5, in [0, 1])");
}

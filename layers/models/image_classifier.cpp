#include "layers/models/image_classifier.h"

#include <algorithm>

#include "framework/autograd.h"
#include "framework/ops.h"
#include "layers/attention/channel.h"
#include "layers/batch_norm.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/models/classification.h"
#include "layers/pool.h"

namespace heed::nn {

namespace {

// nn.Sequential's container: children "0", "1", ... so keys read "layers.3.weight".
class Sequential : public Module {
 public:
  void add(std::shared_ptr<Module> m) { register_module(std::to_string(size_++), std::move(m)); }
  std::string repr() const override { return "Sequential()"; }

 private:
  int64_t size_ = 0;
};

// A parameterless elementwise activation, present in the list (and its numbering) as PyTorch's
// nn.ReLU is.
class Activation : public Module {
 public:
  Activation(std::string name, Tensor (*fn)(const Tensor&)) : name_(std::move(name)), fn_(fn) {}
  Tensor forward(const Tensor& x) const { return fn_(x); }
  std::string repr() const override { return name_ + "()"; }

 private:
  std::string name_;
  Tensor (*fn_)(const Tensor&);
};

const std::vector<std::string> kLayerTypes = {"conv1d",
                                              "conv2d",
                                              "batch_norm1d",
                                              "batch_norm2d",
                                              "relu",
                                              "gelu",
                                              "tanh",
                                              "sigmoid",
                                              "max_pool1d",
                                              "max_pool2d",
                                              "avg_pool1d",
                                              "avg_pool2d",
                                              "adaptive_avg_pool2d",
                                              "flatten",
                                              "linear",
                                              "dropout",
                                              "se",
                                              "cbam"};

struct Built {
  std::shared_ptr<Module> module;
  std::function<Tensor(const Tensor&)> forward;
};

template <class M>
Built wrap(std::shared_ptr<M> m) {
  return {m, [m](const Tensor& x) { return m->forward(x); }};
}

// The input's channel count (its first per-example dimension) for a layer that needs one.
int64_t channels_of(const Shape& in, const Config& c, const std::string& type, int64_t rank) {
  HEED_RECIPE_CHECK(static_cast<int64_t>(in.size()) == rank + 1, c.path(), " (", type,
                    ") needs input [channels, ", rank == 2 ? "H, W" : "length",
                    "] per example, got ", in);
  return in[0];
}

// A dimension of the input with the batch (0) first, or counted from the end (-1).
constexpr Range kDim{-8, 7};

Built build_conv(const Config& c, const std::string& type, const Shape& in, Generator& gen) {
  const int64_t k = c.require<int64_t>("kernel_size", range::size),
                out = c.require<int64_t>("out_channels", range::size),
                s = c.get<int64_t>("stride", 1, range::size),
                p = c.get<int64_t>("padding", 0, range::size_or_zero),
                d = c.get<int64_t>("dilation", 1, range::size),
                g = c.get<int64_t>("groups", 1, range::size);
  const bool bias = c.get<bool>("bias", true);
  const int64_t channels = channels_of(in, c, type, type == "conv1d" ? 1 : 2);
  HEED_RECIPE_CHECK(channels % g == 0 && out % g == 0, c.path_of("groups"), " (", g,
                    ") must divide the input's channels (", channels, ") and \"",
                    c.path_of("out_channels"), "\" (", out, ")");
  if (type == "conv1d")
    return wrap(std::make_shared<Conv1d>(Conv1dOptions{channels, out, k, s, p, d, g, bias}, gen));
  return wrap(std::make_shared<Conv2d>(
      Conv2dOptions{channels, out, {k, k}, {s, s}, {p, p}, {d, d}, g, bias}, gen));
}

Built build_pool(const Config& c, const std::string& type) {
  if (type == "adaptive_avg_pool2d") {
    const int64_t size = c.get<int64_t>("output_size", 1, range::size);
    return wrap(std::make_shared<AdaptiveAvgPool2d>(ops::Pair{size, size}));
  }
  const int64_t k = c.require<int64_t>("kernel_size", range::size),
                s = c.get<int64_t>("stride", k, range::size),
                p = c.get<int64_t>("padding", 0, range::size_or_zero);
  HEED_RECIPE_CHECK(p <= k / 2, c.path_of("padding"), " (", p, ") must be at most half of \"",
                    c.path_of("kernel_size"), "\" (", k, ")");
  if (type == "max_pool1d") return wrap(std::make_shared<MaxPool1d>(k, s, p));
  if (type == "max_pool2d")
    return wrap(std::make_shared<MaxPool2d>(ops::Pair{k, k}, ops::Pair{s, s}, ops::Pair{p, p}));
  const bool include_pad = c.get<bool>("count_include_pad", true);
  if (type == "avg_pool1d") return wrap(std::make_shared<AvgPool1d>(k, s, p, include_pad));
  return wrap(
      std::make_shared<AvgPool2d>(ops::Pair{k, k}, ops::Pair{s, s}, ops::Pair{p, p}, include_pad));
}

Built build_layer(const Config& c, const std::string& type, const Shape& in, Generator& gen) {
  if (type == "conv1d" || type == "conv2d") return build_conv(c, type, in, gen);
  if (type.find("pool") != std::string::npos) return build_pool(c, type);
  if (type == "batch_norm1d" || type == "batch_norm2d") {
    HEED_RECIPE_CHECK(!in.empty(), c.path(), " (", type, ") needs a channel dimension");
    const BatchNormOptions o{in[0], c.get<float>("eps", 1e-5f, range::positive),
                             c.get<float>("momentum", 0.1f, range::probability),
                             c.get<bool>("affine", true), c.get<bool>("track_running_stats", true)};
    if (type == "batch_norm1d") return wrap(std::make_shared<BatchNorm1d>(o));
    return wrap(std::make_shared<BatchNorm2d>(o));
  }
  if (type == "relu") return wrap(std::make_shared<Activation>("ReLU", ops::relu));
  if (type == "gelu") return wrap(std::make_shared<Activation>("GELU", ops::gelu));
  if (type == "tanh") return wrap(std::make_shared<Activation>("Tanh", ops::tanh));
  if (type == "sigmoid") return wrap(std::make_shared<Activation>("Sigmoid", ops::sigmoid));
  if (type == "flatten")
    return wrap(std::make_shared<Flatten>(c.get<int64_t>("start_dim", 1, kDim),
                                          c.get<int64_t>("end_dim", -1, kDim)));
  if (type == "linear") {
    HEED_RECIPE_CHECK(!in.empty(), c.path(), " (linear) needs an input dimension");
    return wrap(std::make_shared<Linear>(in.back(), c.require<int64_t>("out_features", range::size),
                                         gen, c.get<bool>("bias", true)));
  }
  if (type == "dropout")
    return wrap(std::make_shared<Dropout>(c.get<float>("p", 0.5f, range::probability), gen));
  if (type == "se")
    return wrap(std::make_shared<SqueezeExcitation>(
        channels_of(in, c, type, static_cast<int64_t>(in.size()) - 1), gen,
        c.get<int64_t>("reduction", 16, range::size)));
  const int64_t kernel = c.get<int64_t>("kernel_size", 7, range::size);
  HEED_RECIPE_CHECK(kernel % 2 == 1, c.path_of("kernel_size"),
                    " must be odd (the spatial map keeps its size), got ", kernel);
  return wrap(std::make_shared<CBAM>(channels_of(in, c, type, 2), gen,
                                     c.get<int64_t>("reduction", 16, range::size), kernel));
}

// The per-example shape a layer produces, by running it once in eval mode on zeros (so no
// running statistic moves), with the recipe path prefixed to any shape error.
Shape output_shape(const Built& b, const Shape& in, const std::string& path) {
  NoGradGuard no_grad;
  Shape batch{2};
  batch.insert(batch.end(), in.begin(), in.end());
  b.module->eval();
  Shape out;
  try {
    out = b.forward(Tensor::zeros(batch)).shape();
  } catch (const std::exception& e) {  // heed's checks, oneDNN's, an allocation's
    throw recipe_error(path, " does not fit its input [batch, ", shape_str(in).substr(1), ": ",
                       e.what());
  }
  b.module->train();
  return Shape(out.begin() + 1, out.end());
}

}  // namespace

ImageClassifier::ImageClassifier(const Config& c, const DataInfo& info, Generator& gen) {
  HEED_RECIPE_CHECK(c.has("layers") && c.json().at("layers").is_array(), c.path_of("layers"),
                    " must be a list of layers, e.g. [{\"type\": \"conv2d\", ",
                    "\"out_channels\": 32, \"kernel_size\": 3}, {\"type\": \"relu\"}, {\"type\": ",
                    "\"flatten\"}]");
  auto layers = std::make_shared<Sequential>();
  Shape shape = info.input_shape;
  for (const Config& lc : c.objects("layers")) {
    const std::string type = lc.require<std::string>("type");
    if (std::find(kLayerTypes.begin(), kLayerTypes.end(), type) == kLayerTypes.end())
      throw unknown_name_error("layer type", lc.path_of("type"), type, kLayerTypes);
    const Built b = with_recipe_path(lc.path(), [&] { return build_layer(lc, type, shape, gen); });
    lc.finish();
    shape = output_shape(b, shape, lc.path());
    layers->add(b.module);
    steps_.push_back(b.forward);
  }
  HEED_RECIPE_CHECK(shape.size() == 1, c.path_of("layers"), " must end flat, with ",
                    "[batch, features], before the automatic Linear head; it ends with [batch, ",
                    shape_str(shape).substr(1), " (add {\"type\": \"flatten\"})");
  // The head's size comes from the layers' output (e.g. a flatten of a wide conv).
  auto head = with_recipe_path(c.path_of("layers"), [&] {
    return std::make_shared<Linear>(shape[0], info.num_classes, gen);
  });
  layers->add(head);
  steps_.push_back([head](const Tensor& x) { return head->forward(x); });
  layers_ = register_module("layers", layers);
  label_smoothing_ = c.get<float>("label_smoothing", 0.f, range::probability);
  c.finish();
}

Tensor ImageClassifier::logits(const Tensor& input) const {
  Tensor h = input;
  for (const auto& step : steps_) h = step(h);
  return h;
}

ModelOutput ImageClassifier::forward(const Batch& batch) {
  return classification_output(*this, logits(batch.input), batch.target, label_smoothing_);
}

std::string ImageClassifier::repr() const {
  return "ImageClassifier(layers=" + std::to_string(steps_.size()) + ")";
}

}  // namespace heed::nn

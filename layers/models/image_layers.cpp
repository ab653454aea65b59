#include "layers/models/image_layers.h"

#include "framework/ops.h"
#include "layers/attention/attention_in_attention.h"
#include "layers/attention/channel.h"
#include "layers/batch_norm.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/part.h"
#include "layers/pool.h"

namespace heed::nn {

namespace {

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

template <class M>
ImageLayer wrap(std::shared_ptr<M> m) {
  return {m, [m](const Tensor& x) { return m->forward(x); }};
}

// The input's channel count (its first per-example dimension) for layer `type` at `path`, which
// needs [channels, *spatial] with `rank` spatial dimensions.
int64_t channels_of(const Shape& in, const std::string& path, const std::string& type,
                    int64_t rank) {
  HEED_RECIPE_CHECK(static_cast<int64_t>(in.size()) == rank + 1, path, " (", type,
                    ") needs input [channels, ", rank == 2 ? "H, W" : "length",
                    "] per example, got ", in);
  return in[0];
}

// A dimension of the input with the batch (0) first, or counted from the end (-1).
constexpr Range kDim{-8, 7};

// conv1d, conv2d: PyTorch's arguments, each one int (square windows).
struct ConvOptions {
  int64_t out = 0, k = 0, s = 0, p = 0, d = 0, g = 0;
  bool bias = true;
  std::string path, out_path, groups_path;
};

ConvOptions read_conv(const Config& c) {
  ConvOptions o;
  o.out = c.require<int64_t>("out_channels", range::size);
  o.k = c.require<int64_t>("kernel_size", range::size);
  o.s = c.get<int64_t>("stride", 1, range::size);
  o.p = c.get<int64_t>("padding", 0, range::size_or_zero);
  o.d = c.get<int64_t>("dilation", 1, range::size);
  o.g = c.get<int64_t>("groups", 1, range::size);
  o.bias = c.get<bool>("bias", true);
  o.path = c.path(), o.out_path = c.path_of("out_channels"), o.groups_path = c.path_of("groups");
  return o;
}

// The input's channels, which the groups must divide (as the output's).
int64_t conv_channels(const ConvOptions& o, const Shape& in, const std::string& type,
                      int64_t rank) {
  const int64_t channels = channels_of(in, o.path, type, rank);
  HEED_RECIPE_CHECK(channels % o.g == 0 && o.out % o.g == 0, o.groups_path, " (", o.g,
                    ") must divide the input's channels (", channels, ") and \"", o.out_path,
                    "\" (", o.out, ")");
  return channels;
}

ImageLayerFactory conv1d_from_config(const Config& c) {
  return [o = read_conv(c)](const Shape& in, Generator& gen) {
    const int64_t channels = conv_channels(o, in, "conv1d", 1);
    return wrap(std::make_shared<Conv1d>(
        Conv1dOptions{channels, o.out, o.k, o.s, o.p, o.d, o.g, o.bias}, gen));
  };
}

ImageLayerFactory conv2d_from_config(const Config& c) {
  return [o = read_conv(c)](const Shape& in, Generator& gen) {
    const int64_t channels = conv_channels(o, in, "conv2d", 2);
    return wrap(std::make_shared<Conv2d>(
        Conv2dOptions{channels, o.out, {o.k, o.k}, {o.s, o.s}, {o.p, o.p}, {o.d, o.d}, o.g, o.bias},
        gen));
  };
}

// batch_norm1d, batch_norm2d: num_features is the input's channels.
struct NormOptions {
  float eps = 0.f, momentum = 0.f;
  bool affine = true, track_running_stats = true;
  std::string path;
};

NormOptions read_norm(const Config& c) {
  return {c.get<float>("eps", 1e-5f, range::positive),
          c.get<float>("momentum", 0.1f, range::probability), c.get<bool>("affine", true),
          c.get<bool>("track_running_stats", true), c.path()};
}

template <class Norm>
ImageLayerFactory norm_from_config(const Config& c, const char* type) {
  return [o = read_norm(c), type](const Shape& in, Generator&) {
    HEED_RECIPE_CHECK(!in.empty(), o.path, " (", type, ") needs a channel dimension");
    return wrap(std::make_shared<Norm>(
        BatchNormOptions{in[0], o.eps, o.momentum, o.affine, o.track_running_stats}));
  };
}

ImageLayerFactory batch_norm1d_from_config(const Config& c) {
  return norm_from_config<BatchNorm1d>(c, "batch_norm1d");
}

ImageLayerFactory batch_norm2d_from_config(const Config& c) {
  return norm_from_config<BatchNorm2d>(c, "batch_norm2d");
}

ImageLayerFactory activation(const std::string& name, Tensor (*fn)(const Tensor&)) {
  return
      [name, fn](const Shape&, Generator&) { return wrap(std::make_shared<Activation>(name, fn)); };
}

ImageLayerFactory relu_from_config(const Config&) {
  return activation("ReLU", ops::relu);
}

ImageLayerFactory gelu_from_config(const Config&) {
  return activation("GELU", ops::gelu);
}

ImageLayerFactory tanh_from_config(const Config&) {
  return activation("Tanh", ops::tanh);
}

ImageLayerFactory sigmoid_from_config(const Config&) {
  return activation("Sigmoid", ops::sigmoid);
}

// max_pool1d/2d, avg_pool1d/2d: one int each (square windows); the stride defaults to the
// window.
struct PoolOptions {
  int64_t k = 0, s = 0, p = 0;
};

PoolOptions read_pool(const Config& c) {
  const int64_t k = c.require<int64_t>("kernel_size", range::size),
                s = c.get<int64_t>("stride", k, range::size),
                p = c.get<int64_t>("padding", 0, range::size_or_zero);
  HEED_RECIPE_CHECK(p <= k / 2, c.path_of("padding"), " (", p, ") must be at most half of \"",
                    c.path_of("kernel_size"), "\" (", k, ")");
  return {k, s, p};
}

ImageLayerFactory max_pool1d_from_config(const Config& c) {
  return [o = read_pool(c)](const Shape&, Generator&) {
    return wrap(std::make_shared<MaxPool1d>(o.k, o.s, o.p));
  };
}

ImageLayerFactory max_pool2d_from_config(const Config& c) {
  return [o = read_pool(c)](const Shape&, Generator&) {
    return wrap(
        std::make_shared<MaxPool2d>(ops::Pair{o.k, o.k}, ops::Pair{o.s, o.s}, ops::Pair{o.p, o.p}));
  };
}

ImageLayerFactory avg_pool1d_from_config(const Config& c) {
  const PoolOptions o = read_pool(c);
  const bool include_pad = c.get<bool>("count_include_pad", true);
  return [o, include_pad](const Shape&, Generator&) {
    return wrap(std::make_shared<AvgPool1d>(o.k, o.s, o.p, include_pad));
  };
}

ImageLayerFactory avg_pool2d_from_config(const Config& c) {
  const PoolOptions o = read_pool(c);
  const bool include_pad = c.get<bool>("count_include_pad", true);
  return [o, include_pad](const Shape&, Generator&) {
    return wrap(std::make_shared<AvgPool2d>(ops::Pair{o.k, o.k}, ops::Pair{o.s, o.s},
                                            ops::Pair{o.p, o.p}, include_pad));
  };
}

ImageLayerFactory adaptive_avg_pool2d_from_config(const Config& c) {
  return [size = c.get<int64_t>("output_size", 1, range::size)](const Shape&, Generator&) {
    return wrap(std::make_shared<AdaptiveAvgPool2d>(ops::Pair{size, size}));
  };
}

ImageLayerFactory flatten_from_config(const Config& c) {
  const int64_t start = c.get<int64_t>("start_dim", 1, kDim),
                end = c.get<int64_t>("end_dim", -1, kDim);
  return [start, end](const Shape&, Generator&) {
    return wrap(std::make_shared<Flatten>(start, end));
  };
}

ImageLayerFactory linear_from_config(const Config& c) {
  const int64_t out = c.require<int64_t>("out_features", range::size);
  const bool bias = c.get<bool>("bias", true);
  return [out, bias, path = c.path()](const Shape& in, Generator& gen) {
    HEED_RECIPE_CHECK(!in.empty(), path, " (linear) needs an input dimension");
    return wrap(std::make_shared<Linear>(in.back(), out, gen, bias));
  };
}

ImageLayerFactory dropout_from_config(const Config& c) {
  return [p = c.get<float>("p", 0.5f, range::probability)](const Shape&, Generator& gen) {
    return wrap(std::make_shared<Dropout>(p, gen));
  };
}

// se: over any [channels, *spatial] input.
ImageLayerFactory se_from_config(const Config& c) {
  return [reduction = c.get<int64_t>("reduction", 16, range::size), path = c.path()](
             const Shape& in, Generator& gen) {
    // At least one spatial dimension to squeeze (and in[0] to exist at all).
    HEED_RECIPE_CHECK(in.size() >= 2, path,
                      " (se) needs input [channels, *spatial] per example, got ", in);
    return wrap(std::make_shared<SqueezeExcitation>(in[0], gen, reduction));
  };
}

ImageLayerFactory cbam_from_config(const Config& c) {
  const int64_t reduction = c.get<int64_t>("reduction", 16, range::size),
                kernel = c.get<int64_t>("kernel_size", 7, range::size);
  HEED_RECIPE_CHECK(kernel % 2 == 1, c.path_of("kernel_size"),
                    " must be odd (the spatial map keeps its size), got ", kernel);
  return [reduction, kernel, path = c.path()](const Shape& in, Generator& gen) {
    return wrap(std::make_shared<CBAM>(channels_of(in, path, "cbam", 2), gen, reduction, kernel));
  };
}

// spatial_attention: CBAM's spatial half on its own, over [channels, H, W].
ImageLayerFactory spatial_attention_from_config(const Config& c) {
  const int64_t kernel = c.get<int64_t>("kernel_size", 7, range::size);
  HEED_RECIPE_CHECK(kernel % 2 == 1, c.path_of("kernel_size"),
                    " must be odd (the spatial map keeps its size), got ", kernel);
  return [kernel, path = c.path()](const Shape& in, Generator& gen) {
    channels_of(in, path, "spatial_attention", 2);
    return wrap(std::make_shared<SpatialAttention>(gen, kernel));
  };
}

ImageLayerFactory attention_in_attention_from_config(const Config& c) {
  const int64_t reduction = c.get<int64_t>("reduction", 4, range::size);
  const float temperature = c.get<float>("temperature", 30.f, Range::above(0));
  return [reduction, temperature, path = c.path()](const Shape& in, Generator& gen) {
    return wrap(std::make_shared<AttentionInAttention>(
        channels_of(in, path, "attention_in_attention", 2), gen, reduction, temperature));
  };
}

// What the recorded defaults and ranges do not say.
const std::vector<OptionNote> kConvNotes = {
    {"groups", "", "divides the input's and the output's channels"}};
const std::vector<OptionNote> kPoolNotes = {{"stride", "kernel_size", ""},
                                            {"padding", "", "at most kernel_size / 2"}};

const PartRegistry<ImageLayerFactory>& registry() {
  static const PartRegistry<ImageLayerFactory> list({
      {{"layer", "conv1d", "Conv1d over [channels, length]; in_channels inferred (nn.Conv1d)", ""},
       &conv1d_from_config,
       kConvNotes},
      {{"layer", "conv2d", "Conv2d over [channels, H, W]; in_channels inferred (nn.Conv2d)", ""},
       &conv2d_from_config,
       kConvNotes},
      {{"layer", "batch_norm1d",
        "BatchNorm1d over [channels] or [channels, length] (Ioffe & Szegedy 2015)", ""},
       &batch_norm1d_from_config},
      {{"layer", "batch_norm2d", "BatchNorm2d over [channels, H, W] (Ioffe & Szegedy 2015)", ""},
       &batch_norm2d_from_config},
      {{"layer", "relu", "ReLU (nn.ReLU)", ""}, &relu_from_config},
      {{"layer", "gelu", "GELU, exact erf form (nn.GELU)", ""}, &gelu_from_config},
      {{"layer", "tanh", "Tanh (nn.Tanh)", ""}, &tanh_from_config},
      {{"layer", "sigmoid", "Sigmoid (nn.Sigmoid)", ""}, &sigmoid_from_config},
      {{"layer", "max_pool1d", "MaxPool1d over [channels, length] (nn.MaxPool1d)", ""},
       &max_pool1d_from_config,
       kPoolNotes},
      {{"layer", "max_pool2d", "MaxPool2d over [channels, H, W] (nn.MaxPool2d)", ""},
       &max_pool2d_from_config,
       kPoolNotes},
      {{"layer", "avg_pool1d", "AvgPool1d over [channels, length] (nn.AvgPool1d)", ""},
       &avg_pool1d_from_config,
       kPoolNotes},
      {{"layer", "avg_pool2d", "AvgPool2d over [channels, H, W] (nn.AvgPool2d)", ""},
       &avg_pool2d_from_config,
       kPoolNotes},
      {{"layer", "adaptive_avg_pool2d",
        "AdaptiveAvgPool2d to [channels, output_size, output_size]; 1: global average pooling", ""},
       &adaptive_avg_pool2d_from_config},
      {{"layer", "flatten", "Flatten start_dim..end_dim into one (nn.Flatten)", ""},
       &flatten_from_config,
       {{"start_dim", "", "within the input's dimensions"},
        {"end_dim", "", "within the input's dimensions"}}},
      {{"layer", "linear", "Linear over the last dimension; in_features inferred (nn.Linear)", ""},
       &linear_from_config,
       {{"out_features", "", "the weight [out_features, in_features] at most 2 GiB"}}},
      {{"layer", "dropout", "Dropout, training only (nn.Dropout)", ""}, &dropout_from_config},
      {{"layer", "se", "Squeeze-and-Excitation channel attention (Hu et al. 2018)", ""},
       &se_from_config},
      {{"layer", "cbam",
        "CBAM: channel then spatial attention over [channels, H, W] (Woo et al. 2018)", ""},
       &cbam_from_config,
       {{"kernel_size", "", "odd"}}},
      {{"layer", "spatial_attention",
        "CBAM's spatial attention alone: x * sigmoid(conv([mean_c x, max_c x])) (Woo et al. 2018, "
        "sec. 3)",
        ""},
       &spatial_attention_from_config,
       {{"kernel_size", "", "odd"}}},
      {{"layer", "attention_in_attention",
        "A2N's attention in attention block: an attention and a plain branch mixed per example "
        "(Chen et al. 2021, arXiv 2104.09497)",
        ""},
       &attention_in_attention_from_config},
  });
  return list;
}

}  // namespace

ImageLayerFactory image_layer_from_config(const Config& layer, std::string* type) {
  return registry().from_object(layer, type);
}

std::vector<std::string> image_layer_names() {
  return registry().names();
}

std::vector<RegistryEntry> list_image_layers() {
  return registry().list();
}

}  // namespace heed::nn

#include "layers/attention/channel.h"

#include "framework/inspect.h"
#include "framework/ops.h"

namespace heed::nn {

namespace {

void check_feature_map(const char* module, const Tensor& x, int64_t channels, bool spatial_only) {
  HEED_CHECK((spatial_only ? x.dim() == 4 : x.dim() >= 3) && x.size(1) == channels, module,
             ": input ", x.shape(), " must be [batch, ", channels,
             spatial_only ? ", H, W]" : ", H, W] or [batch, channels, L]");
}

// x [batch, C, *] -> [batch, C, positions], the view both poolings of the channel gates read.
Tensor positions(const Tensor& x) {
  return ops::reshape(x, {x.size(0), x.size(1), -1});
}

// Channel weights [batch, C] broadcast over x's positions.
Tensor scale_channels(const Tensor& x, const Tensor& weights) {
  Shape shape(x.dim(), 1);
  shape[0] = x.size(0);
  shape[1] = x.size(1);
  return x * ops::reshape(weights, shape);
}

int64_t hidden(const char* module, int64_t channels, int64_t reduction) {
  HEED_CHECK(channels > 0 && reduction > 0, module,
             ": channels and reduction must be positive, got ", channels, " and ", reduction);
  return std::max<int64_t>(1, channels / reduction);
}

std::string channel_repr(const char* module, int64_t channels, int64_t reduction) {
  return std::string(module) + "(channels=" + std::to_string(channels) +
         ", reduction=" + std::to_string(reduction) + ")";
}

}  // namespace

SqueezeExcitation::SqueezeExcitation(int64_t c, Generator& gen, int64_t r)
    : channels(c), reduction(r) {
  const int64_t h = hidden("SqueezeExcitation", c, r);
  fc1 = register_module("fc1", std::make_shared<Linear>(c, h, gen));
  fc2 = register_module("fc2", std::make_shared<Linear>(h, c, gen));
}

AttentionMap SqueezeExcitation::attend(const Tensor& x) const {
  check_feature_map("SqueezeExcitation", x, channels, false);
  const Tensor squeezed = ops::mean(positions(x), {2});
  const Tensor weights = ops::sigmoid(fc2->forward(ops::relu(fc1->forward(squeezed))));
  Inspector::record(*this, "weights", weights);
  return {scale_channels(x, weights), weights};
}

std::string SqueezeExcitation::repr() const {
  return channel_repr("SqueezeExcitation", channels, reduction);
}

ChannelAttention::ChannelAttention(int64_t c, Generator& gen, int64_t r)
    : channels(c), reduction(r) {
  const int64_t h = hidden("ChannelAttention", c, r);
  fc1 = register_module("fc1", std::make_shared<Linear>(c, h, gen));
  fc2 = register_module("fc2", std::make_shared<Linear>(h, c, gen));
}

AttentionMap ChannelAttention::attend(const Tensor& x) const {
  check_feature_map("ChannelAttention", x, channels, false);
  const Tensor flat = positions(x);
  const int64_t batch = x.size(0);
  // Both pooled descriptors go through the shared MLP as one [2 * batch, C] matrix.
  const Tensor pooled = ops::concat({ops::mean(flat, {2}), ops::max(flat, 2)}, 0);
  const Tensor scores = fc2->forward(ops::relu(fc1->forward(pooled)));
  const Tensor weights = ops::sigmoid(scores.narrow(0, 0, batch) + scores.narrow(0, batch, batch));
  Inspector::record(*this, "weights", weights);
  return {scale_channels(x, weights), weights};
}

std::string ChannelAttention::repr() const {
  return channel_repr("ChannelAttention", channels, reduction);
}

SpatialAttention::SpatialAttention(Generator& gen, int64_t k) : kernel_size(k) {
  HEED_CHECK(k > 0 && k % 2 == 1, "SpatialAttention: kernel_size must be odd and positive, got ",
             k);
  Conv2dOptions o;
  o.in_channels = 2;
  o.out_channels = 1;
  o.kernel_size = {k, k};
  o.padding = {k / 2, k / 2};
  o.bias = false;
  conv = register_module("conv", std::make_shared<Conv2d>(o, gen));
}

AttentionMap SpatialAttention::attend(const Tensor& x) const {
  HEED_CHECK(x.dim() == 4, "SpatialAttention: input ", x.shape(),
             " must be [batch, channels, H, W]");
  const Tensor pooled = ops::concat({ops::mean(x, {1}, true), ops::max(x, 1, true)}, 1);
  const Tensor map = ops::sigmoid(conv->forward(pooled));
  Inspector::record(*this, "weights", map);
  return {x * map, map};
}

std::string SpatialAttention::repr() const {
  return "SpatialAttention(kernel_size=" + std::to_string(kernel_size) + ")";
}

CBAM::CBAM(int64_t channels, Generator& gen, int64_t reduction, int64_t kernel_size) {
  channel_attention = register_module("channel_attention",
                                      std::make_shared<ChannelAttention>(channels, gen, reduction));
  spatial_attention =
      register_module("spatial_attention", std::make_shared<SpatialAttention>(gen, kernel_size));
}

AttentionMap CBAM::attend(const Tensor& x) const {
  HEED_CHECK(x.dim() == 4, "CBAM: input ", x.shape(), " must be [batch, channels, H, W]");
  return spatial_attention->attend(channel_attention->forward(x));
}

std::string CBAM::repr() const {
  return "CBAM(channels=" + std::to_string(channel_attention->channels) +
         ", reduction=" + std::to_string(channel_attention->reduction) +
         ", kernel_size=" + std::to_string(spatial_attention->kernel_size) + ")";
}

}  // namespace heed::nn

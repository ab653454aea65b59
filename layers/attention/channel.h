#pragma once
// Attention over the channels and positions of convolutional feature maps.
//
// SqueezeExcitation (Hu et al. 2018, "Squeeze-and-Excitation Networks", eq. 2-4):
//   z = mean over positions of x                                  (squeeze, eq. 2)  [batch, C]
//   s = sigmoid(fc2(relu(fc1(z))))                                (excitation, eq. 3)
//   y = x * s, broadcast over positions                           (scale, eq. 4)
// fc1 = Linear(C, C / r), fc2 = Linear(C / r, C), r = reduction (16 by default).
//
// CBAM (Woo et al. 2018, "CBAM: Convolutional Block Attention Module", eq. 1-3):
//   ChannelAttention: M_c = sigmoid(MLP(avgpool(x)) + MLP(maxpool(x)))        (eq. 2) [batch, C]
//                     with the MLP fc2(relu(fc1(.))) shared by both pooled vectors;
//   SpatialAttention: M_s = sigmoid(conv7x7([mean_c(x); max_c(x)]))           (eq. 3)
//                     [batch, 1, H, W], conv = Conv2d(2, 1, kernel_size, padding=k/2, bias=false);
//   CBAM:             x' = M_c(x) * x,  x'' = M_s(x') * x'                     (eq. 1).
//
// Every module takes x [batch, channels, H, W] (SqueezeExcitation and ChannelAttention also
// [batch, channels, L]) and returns the same shape; attend() also returns the attention map for
// inspection. Shape errors throw heed::Error naming the module and the shapes.
//
//   SqueezeExcitation se(64, gen, 16);
//   auto [y, weights] = se.attend(x);  // weights [batch, 64]

#include <memory>

#include "framework/module.h"
#include "layers/conv.h"
#include "layers/linear.h"

namespace heed::nn {

/// A module's output and the attention it applied: channel weights [batch, C] or a spatial map
/// [batch, 1, H, W].
struct AttentionMap {
  Tensor output, attention;
};

class SqueezeExcitation : public Module {
 public:
  /// Throws heed::Error unless channels > 0 and reduction > 0; the hidden width is
  /// max(1, channels / reduction).
  SqueezeExcitation(int64_t channels, Generator& gen, int64_t reduction = 16);
  Tensor forward(const Tensor& x) const { return attend(x).output; }
  AttentionMap attend(const Tensor& x) const;
  std::string repr() const override;

  const int64_t channels, reduction;
  std::shared_ptr<Linear> fc1, fc2;
};

class ChannelAttention : public Module {
 public:
  ChannelAttention(int64_t channels, Generator& gen, int64_t reduction = 16);
  Tensor forward(const Tensor& x) const { return attend(x).output; }
  AttentionMap attend(const Tensor& x) const;
  std::string repr() const override;

  const int64_t channels, reduction;
  std::shared_ptr<Linear> fc1, fc2;
};

class SpatialAttention : public Module {
 public:
  /// Throws heed::Error unless kernel_size is odd and positive (so the map keeps H x W).
  explicit SpatialAttention(Generator& gen, int64_t kernel_size = 7);
  Tensor forward(const Tensor& x) const { return attend(x).output; }
  AttentionMap attend(const Tensor& x) const;
  std::string repr() const override;

  const int64_t kernel_size;
  std::shared_ptr<Conv2d> conv;
};

/// Children "channel_attention" and "spatial_attention"; attend() returns the spatial map.
class CBAM : public Module {
 public:
  CBAM(int64_t channels, Generator& gen, int64_t reduction = 16, int64_t kernel_size = 7);
  Tensor forward(const Tensor& x) const { return attend(x).output; }
  AttentionMap attend(const Tensor& x) const;
  std::string repr() const override;

  std::shared_ptr<ChannelAttention> channel_attention;
  std::shared_ptr<SpatialAttention> spatial_attention;
};

}  // namespace heed::nn

#pragma once
// The attention in attention block (AAB) of A2N (Chen, Gu & Zhang 2021, "Attention in Attention
// Network for Image Super-Resolution", arXiv 2104.09497, section 3 and the authors' code,
// github.com/haoyuc/A2N): attention is itself weighed by attention. Per example, a small MLP on
// the globally pooled features decides how much of an attention branch and how much of a plain
// convolution the block passes on, so the attention can switch itself off where it does not help:
//   y     = lrelu(conv_first(x))                                    (1x1, no bias)
//   w     = softmax(fc2(relu(fc1(mean_hw y))) / t)   [batch, 2]     (the "attention dropout")
//   att   = k4(k3(y) * sigmoid(k2(lrelu(k1(y)))))                   (3x3, 1x1 with bias, 3x3, 3x3)
//   plain = non_attention(y)                                         (3x3, no bias)
//   out   = conv_last(lrelu(w_0 att + w_1 plain)) + x                (1x1, no bias; residual)
// lrelu has slope 0.2; t (temperature, 30 in A2N) keeps both branches alive early in training.
// Parameters: conv_first.weight, conv_last.weight [C, C, 1, 1]; attention_dropout.fc1.weight
// [C / reduction, C], attention_dropout.fc2.weight [2, C / reduction] (no bias);
// attention.k1.weight, k3.weight, k4.weight [C, C, 3, 3], attention.k2.weight [C, C, 1, 1] and
// attention.k2.bias [C]; non_attention.weight [C, C, 3, 3]. PyTorch's initialization.
//
//   x [batch, C, H, W] -> the same shape; attend() also returns w [batch, 2] (the branch weights,
//   which an Inspector records as "weights"). Throws heed::Error naming AttentionInAttention and
//   the shapes when x is not [batch, C, H, W].
//
//   AttentionInAttention aab(32, gen);  // reduction 4, temperature 30
//   Tensor y = aab.forward(x);

#include "layers/attention/channel.h"
#include "layers/conv.h"
#include "layers/linear.h"

namespace heed::nn {

class AttentionInAttention : public Module {
 public:
  AttentionInAttention(int64_t channels, Generator& gen, int64_t reduction = 4,
                       float temperature = 30.f);
  Tensor forward(const Tensor& x) const { return attend(x).output; }
  AttentionMap attend(const Tensor& x) const;
  std::string repr() const override;

  const int64_t channels, reduction;
  const float temperature;
  std::shared_ptr<Conv2d> conv_first, conv_last, non_attention;
  std::shared_ptr<Linear> fc1, fc2;        // under "attention_dropout"
  std::shared_ptr<Conv2d> k1, k2, k3, k4;  // under "attention"
};

}  // namespace heed::nn

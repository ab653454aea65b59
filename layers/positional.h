#pragma once
// Positional information for attention models:
//   SinusoidalPositionalEncoding (Vaswani et al. 2017, section 3.5), added to the input;
//   apply_rotary, rotary position embedding RoPE (Su et al. 2021, eq. 34), applied to q and k;
//   alibi_bias, ALiBi (Press et al. 2022, section 3), added to the attention scores.

#include "framework/module.h"

namespace heed::nn {

/// x [batch, seq, d_model] -> x + PE[:seq], with
///   PE[pos, 2i] = sin(pos / 10000^(2i/d_model)),  PE[pos, 2i+1] = cos(pos / 10000^(2i/d_model)).
/// No parameters and no state-dict entries: the table is computed in the constructor (PyTorch's
/// tutorial keeps it as a non-persistent buffer). Throws when seq > max_len or d_model differs.
///
///   SinusoidalPositionalEncoding pe(64);
///   Tensor h = pe.forward(x);  // x [batch, 28, 64]
class SinusoidalPositionalEncoding : public Module {
 public:
  explicit SinusoidalPositionalEncoding(int64_t d_model, int64_t max_len = 5000);
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;

  const int64_t d_model, max_len;
  Tensor pe;  // [max_len, d_model], not registered (not in the state dict)
};

/// RoPE: x [batch, heads, seq, head_dim] (head_dim even) with feature pairs (2i, 2i+1) of
/// position p rotated by the angle (p + offset) * base^(-2i/head_dim):
///   y_2i = x_2i cos - x_2i+1 sin,  y_2i+1 = x_2i sin + x_2i+1 cos.
/// Differentiable w.r.t. x (the backward is the inverse rotation). Any tensor whose last two
/// dimensions are [seq, head_dim] works. Throws on an odd head_dim or fewer than 2 dimensions.
Tensor apply_rotary(const Tensor& x, int64_t offset = 0, float base = 10000.f);

/// ALiBi: [heads, query, key] additive bias -m_h * |i - j| with geometric slopes
/// m_h = 2^(-8h/heads), h = 1..heads (the paper's sequence, used for any number of heads).
/// Constant, no gradient. Add it to the scores, e.g. as a float attention bias.
Tensor alibi_bias(int64_t heads, int64_t query, int64_t key);

/// The slopes m_1..m_heads above, [heads].
Tensor alibi_slopes(int64_t heads);

}  // namespace heed::nn

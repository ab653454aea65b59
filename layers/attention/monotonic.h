#pragma once
// Monotonic attention (Raffel, Luong, Liu, Weiss & Eck 2017, "Online and Linear-Time Attention by
// Enforcing Monotonic Alignments", ICML): at each output step the decoder reads the memory left to
// right from where the previous step stopped, stopping at entry j with probability
//   p_ij = sigmoid(e_ij),  e_ij = g v^T tanh(W q_i + U k_j + b) / |v| + r          (eq. 16)
// (the weight-normalized energy the paper recommends; g starts at 1/sqrt(hidden_size), r at -1).
//   training: the expected alignment alpha_i = ops::monotonic_alignment(p_i, alpha_i-1) (eq. 9,
//     framework/ops/monotonic.h), with Gaussian noise N(0, noise^2) added to e before the sigmoid
//     (section 2.5: it pushes p towards 0 or 1, so that training matches the hard decoding);
//     context c_i = sum_j alpha_ij v_j
//   evaluation: hard monotonic decoding (Algorithm 1): from the previous stop, the first entry
//     with e_ij >= 0 (p >= 0.5), one-hot; none left: all-zero weights and a zero context
// alpha_0 is one-hot at the first entry (the scan starts there). A decoder passes each step's
// weights back to the next (BoundAlignment's previous); Alignment::forward over query_len rows
// runs that many steps from the start. Padded entries are never chosen.
// Parameters: query_proj.weight [hidden, query_size] (W, no bias), key_proj.weight and
// key_proj.bias [hidden, key_size], [hidden] (U, b), v [hidden] ~ U(+-1/sqrt(hidden)), g and r
// (one element each).
//   query [batch, query_len, query_size], keys [batch, key_len, key_size], values [batch, key_len,
//   value_size], key_padding_mask [batch, key_len], previous [batch, 1, 1, key_len] or undefined
//   -> output [batch, query_len, value_size], weights [batch, 1, query_len, key_len]
// Throws heed::Error naming MonotonicAttention and the shapes when they disagree.
//
//   MonotonicAttention attn(256, 512, 256, 1.f, gen);
//   AttentionOutput a = attn.forward(s_prev, memory, memory, mask, Tensor());  // step 0

#include "framework/module.h"
#include "layers/attention/alignment.h"
#include "layers/linear.h"

namespace heed::nn {

class MonotonicAttention : public Module {
 public:
  MonotonicAttention(int64_t query_size, int64_t key_size, int64_t hidden_size, float noise,
                     Generator& gen);
  AttentionOutput forward(const Tensor& query, const Tensor& keys, const Tensor& values,
                          const Tensor& key_padding_mask, const Tensor& previous) const;
  /// e [batch, query_len, key_len], before noise and masks.
  Tensor energy(const Tensor& query, const Tensor& keys) const;
  std::string repr() const override;

  const int64_t query_size, key_size, hidden_size;
  const float noise;
  std::shared_ptr<Linear> query_proj, key_proj;
  Tensor v, g, r;

 private:
  // One step: e [batch, key_len], previous [batch, key_len] -> weights [batch, key_len].
  Tensor expected_step(const Tensor& e, const Tensor& previous, const Tensor& padding) const;
  Tensor hard_step(const Tensor& e, const Tensor& previous, const Tensor& padding) const;
  Generator* gen_;
};

/// The registered alignment "monotonic": options hidden_size (0: the query's width) and noise
/// (1.0, the energies' noise in training; 0 for none).
AlignmentFactory monotonic_alignment_from_config(const Config& c);

}  // namespace heed::nn

#pragma once
// alpha-entmax attention with a learned alpha per head: the "Adaptively Sparse Transformer"
// (Correia, Niculae & Martins 2019, EMNLP, sec. 3). The softmax of scaled dot-product attention
// is replaced by alpha-entmax (Peters, Niculae & Martins 2019; ops::entmax_bisect):
//   weights = alpha_h-entmax(Q K^T / sqrt(d_k))   for head h
// which gives low-scoring keys exactly zero weight; alpha -> 1 is softmax, alpha = 2 sparsemax.
// Each head learns its own alpha through the parameter pre_alpha [num_heads, 1, 1] (the entmax
// package's AlphaChooser, which Correia et al. released with the paper):
//   alpha_h = clamp(1 + sigmoid(pre_alpha_h), 1.01, 2)
// so alpha stays in (1, 2], where the gradient is bounded; below 1.01 the clamp holds it (no
// gradient there, as torch.clamp). pre_alpha starts at logit(alpha - 1) for the option "alpha".
//
// Registered as "entmax" with options alpha (the starting alpha of every head, in (1.01, 2),
// default 1.5: entmax15), learn_alpha (true: pre_alpha is a parameter that MultiheadAttention
// registers as "pre_alpha"; false: alpha stays fixed, no parameter) and n_iter (bisection steps).
// Shapes as layers/attention/mechanism.h. Throws heed::Error on an alpha outside (1.01, 2).

#include "layers/attention/mechanism.h"

namespace heed::nn {

class EntmaxAttention : public AttentionMechanism {
 public:
  struct Options {
    float alpha = 1.5f;       // alpha of every head at initialization, in (1.01, 2)
    bool learn_alpha = true;  // a pre_alpha parameter per head, or a constant alpha
    int64_t n_iter = 50;      // bisection halvings of ops::entmax_bisect
  };
  EntmaxAttention(const Options& options, const HeadShape& shape);
  static AttentionFactory from_config(const Config& options);
  Tensor normalize(const Tensor& scores, const AttentionCall& call) const override;
  std::string options_repr() const override;
  /// alpha of each head, [num_heads, 1, 1].
  Tensor alpha() const;

  const Options options;
  const Tensor pre_alpha;  // [num_heads, 1, 1]; a parameter when learn_alpha
};

}  // namespace heed::nn

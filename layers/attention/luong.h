#pragma once
// Luong attention (Luong, Pham & Manning 2015, "Effective Approaches to Attention-based Neural
// Machine Translation", section 3). Scores (eq. 8), for a query (decoder state) h_t and a key
// (source state) h_s:
//   dot:     h_t . h_s                         (query_size == key_size)
//   general: h_t^T W_a h_s                     weight [query_size, key_size]
//   concat:  v_a^T tanh(W_a [h_t; h_s])        weight [hidden_size, query_size + key_size], v
//   [hidden_size]
// Alignments (sections 3.1-3.2):
//   global:  a_t = softmax over every source position (eq. 7);
//   local_m: p_t = t (monotonic; the query's step, see query_offset), softmax over the window
//            [p_t - D, p_t + D] only;
//   local_p: p_t = S * sigmoid(v_p^T tanh(W_p h_t)) (eq. 9), with S the unpadded source length,
//            and a_t(s) = softmax over the window [p_t - D, p_t + D] times
//            exp(-(s - p_t)^2 / (2 sigma^2)), sigma = D / 2 (eq. 10); parameters
//            position_proj.weight [hidden_size, query_size] (W_p) and position_v [hidden_size].
// The context is c_t = sum_s a_t(s) values_s. Dropout applies to a_t in training.
//   query [batch, query_len, query_size], keys [batch, key_len, key_size],
//   values [batch, key_len, value_size], key_padding_mask [batch, key_len] (nonzero = padding)
//   -> output [batch, query_len, value_size], weights [batch, 1, query_len, key_len]
// query_offset int64 [batch] (undefined = 0): query row t of sequence b is its step
// query_offset[b] + t (local_m's p_t; a decoder calling with query_len = 1 passes its step,
// pooling from each sequence's last step passes lengths - 1).
// Throws heed::Error naming LuongAttention and the shapes when they disagree, and on an unknown
// score or alignment.
//
//   LuongAttention attn({.score = "general", .align = "local_p", .query_size = 128,
//                        .key_size = 128, .window = 4}, gen);
//   auto [context, weights] = attn.forward(h_t, outputs, outputs);

#include "framework/module.h"
#include "layers/attention/alignment.h"
#include "layers/attention/scaled_dot_product.h"
#include "layers/linear.h"

namespace heed::nn {

struct LuongOptions {
  std::string score = "general";  // "dot" | "general" | "concat"
  std::string align = "global";   // "global" | "local_m" | "local_p"
  int64_t query_size = 0;
  int64_t key_size = 0;
  int64_t hidden_size = 0;  // concat's and local_p's hidden size; 0 = query_size
  int64_t window = 8;       // D of the local alignments
  float dropout = 0.f;
};

class LuongAttention : public Module {
 public:
  LuongAttention(const LuongOptions& options, Generator& gen);
  AttentionOutput forward(const Tensor& query, const Tensor& keys, const Tensor& values,
                          const Tensor& key_padding_mask = Tensor(),
                          const Tensor& query_offset = Tensor()) const;
  /// Scores [batch, query_len, key_len] before alignment (eq. 8).
  Tensor score(const Tensor& query, const Tensor& keys) const;
  std::string repr() const override;

  const LuongOptions options;
  Tensor weight, v;                       // general: weight; concat: weight and v
  std::shared_ptr<Linear> position_proj;  // local_p
  Tensor position_v;                      // local_p

 private:
  // forward() after its checks: the global, local-m or local-p alignment.
  AttentionOutput align(const Tensor& query, const Tensor& keys, const Tensor& values,
                        const Tensor& key_padding_mask, const Tensor& query_offset) const;
  Generator* gen_;
};

/// The registered alignments (alignment.h), each reading only the options it uses: every one
/// dropout; luong_concat hidden_size (0: the query's width); local_m score and window, and
/// hidden_size with score "concat"; local_p score, window and hidden_size (its position network).
AlignmentFactory luong_dot_from_config(const Config& c);
AlignmentFactory luong_general_from_config(const Config& c);
AlignmentFactory luong_concat_from_config(const Config& c);
AlignmentFactory local_m_from_config(const Config& c);
AlignmentFactory local_p_from_config(const Config& c);

}  // namespace heed::nn

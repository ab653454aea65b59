#include "layers/attention/multihead.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "framework/inspect.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "layers/attention/cosine.h"
#include "layers/attention/linear.h"
#include "layers/attention/windowed.h"
#include "layers/dropout.h"
#include "layers/positional.h"

namespace heed::nn {

const std::vector<std::string>& attention_names() {
  static const std::vector<std::string> names = {
      "scaled_dot_product", "sparsemax", "topk", "hard", "gumbel", "linear", "cosine", "windowed"};
  return names;
}

const std::vector<std::string>& attention_positional_names() {
  static const std::vector<std::string> names = {"none", "rope", "alibi"};
  return names;
}

namespace {

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "\"" : ", \"") + n + "\"";
  return out;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

void check_variant(const AttentionVariant& a, int64_t head_dim) {
  HEED_CHECK(contains(attention_names(), a.attention), "MultiheadAttention: attention \"",
             a.attention, "\" is not one of ", quoted_list(attention_names()));
  HEED_CHECK(contains(attention_positional_names(), a.positional),
             "MultiheadAttention: positional \"", a.positional, "\" is not one of ",
             quoted_list(attention_positional_names()));
  HEED_CHECK(a.topk >= 1, "MultiheadAttention: topk must be at least 1, got ", a.topk);
  HEED_CHECK(a.temperature > 0.f, "MultiheadAttention: temperature must be positive, got ",
             a.temperature);
  HEED_CHECK(a.window >= 0, "MultiheadAttention: window must be non-negative, got ", a.window);
  HEED_CHECK(
      a.positional != "alibi" || (a.attention != "linear" && a.attention != "cosine"),
      "MultiheadAttention: positional \"alibi\" adds to dot-product scores, which attention \"",
      a.attention, "\" does not have");
  HEED_CHECK(a.positional != "rope" || head_dim % 2 == 0,
             "MultiheadAttention: positional \"rope\" needs an even head dimension, got ",
             head_dim);
}

// xavier_uniform_ of a [fan_out, fan_in] weight.
Tensor xavier_uniform(int64_t fan_out, int64_t fan_in, Generator& gen) {
  const float bound = std::sqrt(6.f / static_cast<float>(fan_in + fan_out));
  return Tensor::rand({fan_out, fan_in}, gen, -bound, bound);
}

// True when `mask` [query, key] masks exactly the keys after each query (causal_mask's pattern).
bool is_causal(const Tensor& mask) {
  if (mask.dim() != 2) return false;
  const int64_t lq = mask.size(0), lk = mask.size(1);
  const std::vector<float> m = mask.to(Dtype::Float32).contiguous().to_vector();
  for (int64_t i = 0; i < lq; ++i)
    for (int64_t j = 0; j < lk; ++j)
      if ((m[i * lk + j] != 0.f) != (j > i)) return false;
  return true;
}

ScoreNormalizer normalizer_of(const AttentionVariant& a) {
  ScoreNormalizer n;
  if (a.attention != "scaled_dot_product" && a.attention != "windowed") n.kind = a.attention;
  n.topk = a.topk, n.temperature = a.temperature, n.hard = a.hard;
  return n;
}

}  // namespace

MultiheadAttention::MultiheadAttention(const MultiheadAttentionOptions& o, Generator& gen)
    : options(o),
      embed_dim(o.embed_dim),
      num_heads(o.num_heads),
      kdim(o.kdim > 0 ? o.kdim : o.embed_dim),
      vdim(o.vdim > 0 ? o.vdim : o.embed_dim),
      dropout(o.dropout),
      gen_(&gen) {
  const int64_t e = embed_dim, h = num_heads;
  HEED_CHECK(e > 0 && h > 0 && e % h == 0, "MultiheadAttention: embed_dim ", e,
             " must be divisible by num_heads ", h);
  HEED_CHECK(o.kdim >= 0 && o.vdim >= 0, "MultiheadAttention: kdim ", o.kdim, " and vdim ", o.vdim,
             " must be positive (or 0 for embed_dim)");
  check_dropout(o.dropout, "MultiheadAttention");
  check_variant(o.variant, e / h);
  if (kdim == e && vdim == e) {
    in_proj_weight = register_parameter("in_proj_weight", xavier_uniform(3 * e, e, gen));
  } else {
    q_proj_weight = register_parameter("q_proj_weight", xavier_uniform(e, e, gen));
    k_proj_weight = register_parameter("k_proj_weight", xavier_uniform(e, kdim, gen));
    v_proj_weight = register_parameter("v_proj_weight", xavier_uniform(e, vdim, gen));
  }
  if (o.bias) in_proj_bias = register_parameter("in_proj_bias", Tensor::zeros({3 * e}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(e, e, gen, o.bias));
  if (o.bias) out_proj->bias.fill_(0.f);
  if (o.variant.attention == "cosine")
    logit_scale = register_parameter("logit_scale", Tensor::full({h, 1, 1}, std::log(10.f)));
}

MultiheadAttention::MultiheadAttention(int64_t e, int64_t h, float p, Generator& gen)
    : MultiheadAttention(MultiheadAttentionOptions{.embed_dim = e, .num_heads = h, .dropout = p},
                         gen) {}

// [batch, len, embed_dim] -> [batch, heads, len, head_dim]
Tensor MultiheadAttention::split_heads(const Tensor& x) const {
  return x.reshape({x.size(0), x.size(1), num_heads, embed_dim / num_heads}).permute({0, 2, 1, 3});
}

void MultiheadAttention::project(const Tensor& query, const Tensor& key, const Tensor& value,
                                 Tensor& q, Tensor& k, Tensor& v) const {
  const int64_t e = embed_dim;
  std::vector<Tensor> b(3);
  if (in_proj_bias.defined()) b = ops::split(in_proj_bias, {e, e, e}, 0);
  if (!in_proj_weight.defined()) {
    q = ops::linear(query, q_proj_weight, b[0]), k = ops::linear(key, k_proj_weight, b[1]),
    v = ops::linear(value, v_proj_weight, b[2]);
  } else if (query.same(key) && key.same(value)) {
    // Self-attention: one projection for all three.
    auto qkv = ops::split(ops::linear(query, in_proj_weight, in_proj_bias), {e, e, e}, -1);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    auto w = ops::split(in_proj_weight, {e, e, e}, 0);
    q = ops::linear(query, w[0], b[0]), k = ops::linear(key, w[1], b[1]),
    v = ops::linear(value, w[2], b[2]);
  }
}

// q, k, v [batch, heads, len, head_dim] -> the chosen mechanism's output and weights.
AttentionOutput MultiheadAttention::attend(const Tensor& q0, const Tensor& k0, const Tensor& v,
                                           const Tensor& padding, const Tensor& attn_mask,
                                           bool need_weights) const {
  const AttentionVariant& a = options.variant;
  const int64_t batch = q0.size(0), len_q = q0.size(2), len_k = k0.size(2);
  const bool rope = a.positional == "rope";
  const Tensor q = rope ? apply_rotary(q0) : q0, k = rope ? apply_rotary(k0) : k0;
  if (a.attention == "linear") {
    HEED_CHECK(!attn_mask.defined() || is_causal(attn_mask),
               "MultiheadAttention: attention \"linear\" takes only a causal attn_mask, got one of "
               "shape ",
               attn_mask.shape(), " that is not causal_mask(", len_q, ", ", len_k, ")");
    return linear_attention(q, k, v, padding, attn_mask.defined(), need_weights);
  }
  std::vector<Tensor> masks;
  if (padding.defined()) masks.push_back(padding.reshape({batch, 1, 1, len_k}));
  if (attn_mask.defined()) masks.push_back(attn_mask);
  if (a.attention == "windowed") masks.push_back(band_mask(len_q, len_k, a.window, false));
  if (a.attention == "cosine")
    return cosine_attention(q, k, v, masks, logit_scale, dropout, is_training(), *gen_);
  const Tensor bias = a.positional == "alibi" ? alibi_bias(num_heads, len_q, len_k) : Tensor();
  return scaled_dot_product_attention(q, k, v, masks, dropout, is_training(), *gen_, bias,
                                      normalizer_of(a));
}

AttentionOutput MultiheadAttention::forward(const Tensor& query, const Tensor& key,
                                            const Tensor& value, const Tensor& key_padding_mask,
                                            const Tensor& attn_mask, bool need_weights) const {
  HEED_CHECK(query.dim() == 3 && query.size(2) == embed_dim && key.dim() == 3 && value.dim() == 3 &&
                 key.size(2) == kdim && value.size(2) == vdim && key.size(0) == query.size(0) &&
                 value.size(0) == query.size(0) && key.size(1) == value.size(1),
             "MultiheadAttention: query ", query.shape(), ", key ", key.shape(), " and value ",
             value.shape(), " are not [batch, query_len, ", embed_dim, "], [batch, key_len, ", kdim,
             "], [batch, key_len, ", vdim, "]");
  const int64_t batch = query.size(0), len_q = query.size(1), len_k = key.size(1);
  if (key_padding_mask.defined())
    HEED_CHECK(key_padding_mask.shape() == Shape({batch, len_k}),
               "MultiheadAttention: key_padding_mask of shape ", key_padding_mask.shape(),
               ", expected ", Shape({batch, len_k}));
  if (attn_mask.defined())
    HEED_CHECK(attn_mask.shape() == Shape({len_q, len_k}),
               "MultiheadAttention: attn_mask of shape ", attn_mask.shape(), ", expected ",
               Shape({len_q, len_k}));
  Tensor q, k, v;
  project(query, key, value, q, k, v);
  // An Inspector wants the weights even where the caller does not (linear attention computes
  // them only on demand).
  const bool inspect = Inspector::active();
  AttentionOutput a = attend(split_heads(q), split_heads(k), split_heads(v), key_padding_mask,
                             attn_mask, need_weights || inspect);
  if (inspect) Inspector::record(*this, "weights", a.weights);
  const Tensor merged = a.output.permute({0, 2, 1, 3}).reshape({batch, len_q, embed_dim});
  return {out_proj->forward(merged), need_weights ? a.weights : Tensor()};
}

std::string MultiheadAttention::repr() const {
  std::ostringstream out;
  out << "MultiheadAttention(embed_dim=" << embed_dim << ", num_heads=" << num_heads
      << ", dropout=" << dropout;
  if (!options.bias) out << ", bias=false";
  if (kdim != embed_dim || vdim != embed_dim) out << ", kdim=" << kdim << ", vdim=" << vdim;
  const AttentionVariant& a = options.variant;
  if (a.attention != "scaled_dot_product") out << ", attention=" << a.attention;
  if (a.attention == "topk") out << ", topk=" << a.topk;
  if (a.attention == "gumbel")
    out << ", temperature=" << a.temperature << ", hard=" << (a.hard ? "true" : "false");
  if (a.attention == "windowed") out << ", window=" << a.window;
  if (a.positional != "none") out << ", positional=" << a.positional;
  out << ", batch_first=true)";
  return out.str();
}

}  // namespace heed::nn

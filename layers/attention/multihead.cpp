#include "layers/attention/multihead.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "framework/inspect.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "layers/dropout.h"
#include "layers/positional.h"

namespace heed::nn {

namespace {

void check_positional(const std::string& positional, int64_t head_dim) {
  const std::vector<std::string>& names = attention_positional_names();
  HEED_CHECK(std::find(names.begin(), names.end(), positional) != names.end(),
             "MultiheadAttention: positional \"", positional,
             "\" is not one of \"none\", \"rope\", \"alibi\"");
  HEED_CHECK(positional != "rope" || head_dim % 2 == 0,
             "MultiheadAttention: positional \"rope\" needs an even head dimension, got ",
             head_dim);
}

// xavier_uniform_ of a [fan_out, fan_in] weight.
Tensor xavier_uniform(int64_t fan_out, int64_t fan_in, Generator& gen) {
  const float bound = std::sqrt(6.f / static_cast<float>(fan_in + fan_out));
  return Tensor::rand({fan_out, fan_in}, gen, -bound, bound);
}

}  // namespace

MultiheadAttention::MultiheadAttention(const MultiheadAttentionOptions& o, Generator& gen)
    : options(o),
      embed_dim(o.embed_dim),
      num_heads(o.num_heads),
      kdim(o.kdim > 0 ? o.kdim : o.embed_dim),
      vdim(o.vdim > 0 ? o.vdim : o.embed_dim),
      dropout(o.dropout),
      mechanism(
          build_attention(o.variant, {.num_heads = o.num_heads,
                                      .head_dim = o.num_heads > 0 ? o.embed_dim / o.num_heads : 1,
                                      .positional = o.variant.positional,
                                      .cross = o.cross})),
      gen_(&gen) {
  const int64_t e = embed_dim, h = num_heads;
  HEED_CHECK(e > 0 && h > 0 && e % h == 0, "MultiheadAttention: embed_dim ", e,
             " must be divisible by num_heads ", h);
  HEED_CHECK(o.kdim >= 0 && o.vdim >= 0, "MultiheadAttention: kdim ", o.kdim, " and vdim ", o.vdim,
             " must be positive (or 0 for embed_dim)");
  check_dropout(o.dropout, "MultiheadAttention");
  check_positional(o.variant.positional, e / h);
  rope_ = o.variant.positional == "rope", alibi_ = o.variant.positional == "alibi";
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
  for (const auto& [name, p] : mechanism->parameters()) register_parameter(name, p);
  for (const auto& [name, b] : mechanism->buffers()) register_buffer(name, b);
  // Drawn after every other parameter, so that layers without a context keep their values.
  if (mechanism->uses_context()) {
    c_proj_weight = register_parameter("c_proj_weight", xavier_uniform(e, kdim, gen));
    if (o.bias) c_proj_bias = register_parameter("c_proj_bias", Tensor::zeros({e}));
  }
  mechanism->reset_parameters(gen);
}

MultiheadAttention::MultiheadAttention(int64_t e, int64_t h, float p, Generator& gen)
    : MultiheadAttention(MultiheadAttentionOptions{.embed_dim = e, .num_heads = h, .dropout = p},
                         gen) {}

// [batch, len, embed_dim] -> [batch, heads, len, head_dim]
Tensor MultiheadAttention::split_heads(const Tensor& x) const {
  return x.reshape({x.size(0), x.size(1), num_heads, embed_dim / num_heads}).permute({0, 2, 1, 3});
}

Tensor MultiheadAttention::projection(int which, const Tensor& x) const {
  const int64_t e = embed_dim;
  const Tensor b = in_proj_bias.defined() ? in_proj_bias.narrow(0, which * e, e) : Tensor();
  if (!in_proj_weight.defined())
    return ops::linear(x,
                       which == 0   ? q_proj_weight
                       : which == 1 ? k_proj_weight
                                    : v_proj_weight,
                       b);
  return ops::linear(x, in_proj_weight.narrow(0, which * e, e), b);
}

void MultiheadAttention::check_shapes(const Tensor& query, const Tensor& key, const Tensor& value,
                                      const Tensor& key_padding_mask,
                                      const Tensor& attn_mask) const {
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
}

AttentionOutput MultiheadAttention::forward(const Tensor& query, const Tensor& key,
                                            const Tensor& value, const Tensor& key_padding_mask,
                                            const Tensor& attn_mask, bool need_weights) const {
  check_shapes(query, key, value, key_padding_mask, attn_mask);
  if (in_proj_weight.defined() && query.same(key) && key.same(value)) {
    // Self-attention: one projection for all three.
    const int64_t e = embed_dim;
    auto qkv = ops::split(ops::linear(query, in_proj_weight, in_proj_bias), {e, e, e}, -1);
    const Tensor k = split_heads(qkv[1]);
    return attend_heads(qkv[0],
                        {rope_ ? apply_rotary(k) : k, split_heads(qkv[2]), context_heads(key)},
                        key_padding_mask, attn_mask, need_weights);
  }
  return attend(query, project_keys(key, value), key_padding_mask, attn_mask, need_weights);
}

MultiheadAttention::ProjectedKeys MultiheadAttention::project_keys(const Tensor& key,
                                                                   const Tensor& value) const {
  const Tensor k = split_heads(projection(1, key));
  return {rope_ ? apply_rotary(k) : k, split_heads(projection(2, value)), context_heads(key)};
}

Tensor MultiheadAttention::context_heads(const Tensor& key) const {
  return c_proj_weight.defined() ? split_heads(ops::linear(key, c_proj_weight, c_proj_bias))
                                 : Tensor();
}

AttentionOutput MultiheadAttention::attend(const Tensor& query, const ProjectedKeys& kv,
                                           const Tensor& key_padding_mask, const Tensor& attn_mask,
                                           bool need_weights) const {
  HEED_CHECK(query.dim() == 3 && query.size(2) == embed_dim && query.size(0) == kv.k.size(0),
             "MultiheadAttention: query ", query.shape(), " is not [", kv.k.size(0),
             ", query_len, ", embed_dim, "]");
  return attend_heads(projection(0, query), kv, key_padding_mask, attn_mask, need_weights);
}

// q [batch, len_q, embed_dim] projected, k and v split into heads (k rotated with RoPE).
AttentionOutput MultiheadAttention::attend_heads(const Tensor& q, const ProjectedKeys& kv,
                                                 const Tensor& key_padding_mask,
                                                 const Tensor& attn_mask, bool need_weights) const {
  const int64_t batch = q.size(0), len_q = q.size(1), len_k = kv.k.size(2);
  // An Inspector wants the weights even where the caller does not (linear attention computes
  // them only on demand).
  const bool inspect = Inspector::active();
  const AttentionCall call{.key_padding_mask = key_padding_mask,
                           .attn_mask = attn_mask,
                           .score_bias = alibi_ ? alibi_bias(num_heads, len_q, len_k) : Tensor(),
                           .context = kv.c,
                           .dropout = dropout,
                           .training = is_training(),
                           .need_weights = need_weights || inspect,
                           .gen = gen_};
  const Tensor q_heads = rope_ ? apply_rotary(split_heads(q)) : split_heads(q);
  AttentionOutput a = mechanism->attend(q_heads, kv.k, kv.v, call);
  if (inspect) Inspector::record_attention(*this, a.weights);
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
  if (a.type != "scaled_dot_product") out << ", attention=" << a.type << mechanism->options_repr();
  if (a.positional != "none") out << ", positional=" << a.positional;
  out << ", batch_first=true)";
  return out.str();
}

AlignmentFactory multihead_alignment_from_config(const Config& c) {
  MultiheadAttentionOptions o;
  o.num_heads = c.get<int64_t>("num_heads", 4, range::size);
  o.dropout = c.get<float>("dropout", 0.f, range::probability);
  o.variant = attention_from_config(c, "attention");
  o.cross = true;
  return [o](const AlignmentShape& s, Generator& gen) {
    HEED_CHECK(s.query_size == s.key_size, "alignment \"multihead\": the query is ", s.query_size,
               " wide and the keys ", s.key_size,
               ": they must be equal (its output is the query's width)");
    MultiheadAttentionOptions with = o;
    with.embed_dim = s.query_size;
    with.kdim = with.vdim = s.key_size;
    auto m = std::make_shared<MultiheadAttention>(with, gen);
    Alignment a;
    a.module = m;
    a.forward = [m](const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                    const Tensor&) {
      const AttentionOutput out = m->forward(q, k, v, mask);
      return AttentionOutput{out.output, ops::mean(out.weights, {1}, true)};
    };
    // A decoder projects its memory once a batch, not at every step.
    a.bind_keys = [m](const Tensor& k, const Tensor& v, const Tensor& mask) -> BoundAlignment {
      return [m, kv = m->project_keys(k, v), mask](const Tensor& q, int64_t, const Tensor&) {
        const AttentionOutput out = m->attend(q, kv, mask);
        return AttentionOutput{out.output, ops::mean(out.weights, {1}, true)};
      };
    };
    return a;
  };
}

}  // namespace heed::nn

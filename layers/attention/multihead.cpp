#include "layers/attention/multihead.h"

#include <cmath>
#include <sstream>

#include "framework/ops.h"
#include "framework/random.h"
#include "layers/dropout.h"

namespace heed::nn {

MultiheadAttention::MultiheadAttention(int64_t e, int64_t h, float p, Generator& gen)
    : embed_dim(e), num_heads(h), dropout(p), gen_(&gen) {
  HEED_CHECK(e > 0 && h > 0 && e % h == 0, "MultiheadAttention: embed_dim ", e,
             " must be divisible by num_heads ", h);
  check_dropout(p, "MultiheadAttention");
  const float bound = std::sqrt(6.f / static_cast<float>(e + 3 * e));  // xavier_uniform_ on [3E, E]
  in_proj_weight =
      register_parameter("in_proj_weight", Tensor::rand({3 * e, e}, gen, -bound, bound));
  in_proj_bias = register_parameter("in_proj_bias", Tensor::zeros({3 * e}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(e, e, gen));
  out_proj->bias.fill_(0.f);
}

// [batch, len, embed_dim] -> [batch, heads, len, head_dim]
Tensor MultiheadAttention::split_heads(const Tensor& x) const {
  return x.reshape({x.size(0), x.size(1), num_heads, embed_dim / num_heads}).permute({0, 2, 1, 3});
}

AttentionOutput MultiheadAttention::forward(const Tensor& query, const Tensor& key,
                                            const Tensor& value, const Tensor& key_padding_mask,
                                            const Tensor& attn_mask) const {
  HEED_CHECK(query.dim() == 3 && query.size(2) == embed_dim && key.dim() == 3 &&
                 key.shape() == value.shape() && key.size(2) == embed_dim &&
                 key.size(0) == query.size(0),
             "MultiheadAttention: query ", query.shape(), ", key ", key.shape(), " and value ",
             value.shape(), " are not [batch, len, ", embed_dim,
             "] with matching batch and key/value shapes");
  const int64_t batch = query.size(0), len_q = query.size(1), len_k = key.size(1);
  Tensor q, k, v;
  if (query.same(key) && key.same(value)) {
    // Self-attention: one projection for all three.
    auto qkv = ops::split(ops::linear(query, in_proj_weight, in_proj_bias),
                          {embed_dim, embed_dim, embed_dim}, -1);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    auto w = ops::split(in_proj_weight, {embed_dim, embed_dim, embed_dim}, 0);
    auto b = ops::split(in_proj_bias, {embed_dim, embed_dim, embed_dim}, 0);
    q = ops::linear(query, w[0], b[0]), k = ops::linear(key, w[1], b[1]),
    v = ops::linear(value, w[2], b[2]);
  }
  std::vector<Tensor> masks;
  if (key_padding_mask.defined()) {
    HEED_CHECK(key_padding_mask.shape() == Shape({batch, len_k}),
               "MultiheadAttention: key_padding_mask of shape ", key_padding_mask.shape(),
               ", expected ", Shape({batch, len_k}));
    masks.push_back(key_padding_mask.reshape({batch, 1, 1, len_k}));
  }
  if (attn_mask.defined()) {
    HEED_CHECK(attn_mask.shape() == Shape({len_q, len_k}),
               "MultiheadAttention: attn_mask of shape ", attn_mask.shape(), ", expected ",
               Shape({len_q, len_k}));
    masks.push_back(attn_mask);
  }
  AttentionOutput a = scaled_dot_product_attention(split_heads(q), split_heads(k), split_heads(v),
                                                   masks, dropout, is_training(), *gen_);
  const Tensor merged = a.output.permute({0, 2, 1, 3}).reshape({batch, len_q, embed_dim});
  return {out_proj->forward(merged), a.weights};
}

std::string MultiheadAttention::repr() const {
  std::ostringstream out;
  out << "MultiheadAttention(embed_dim=" << embed_dim << ", num_heads=" << num_heads
      << ", dropout=" << dropout << ", batch_first=true)";
  return out.str();
}

}  // namespace heed::nn

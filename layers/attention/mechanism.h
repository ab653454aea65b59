#pragma once
// AttentionMechanism: what happens inside one head of MultiheadAttention, once q, k and v are
// projected and split into heads. Each variant (scaled dot-product, sparsemax, top-k, cosine,
// linear, ...) is one subclass in its own file of layers/attention/, built once by name from the
// attention registry (layers/attention/registry.h), so a forward pass compares no strings.
//
// The default attend() is Vaswani et al. 2017's eq. 1 with its parts replaceable:
//   scores  = score(q, k) (+ score_bias)       default q k^T / sqrt(d_k)
//   scores  = -inf where a mask or extra_mask() says so
//   weights = normalize(scores)                 default softmax over keys
//   output  = dropout(weights) v
// so a variant overrides only the part it changes (a normalizer, a score, a mask) or attend()
// itself when it never forms the [query, key] matrix (linear attention).
//
//   q [batch, heads, query, d_k], k [batch, heads, key, d_k], v [batch, heads, key, d_v]
//   -> output [batch, heads, query, d_v], weights [batch, heads, query, key] (undefined when the
//   call does not need them and the variant computes them only on demand)
// Masks hold nonzero where attention is NOT allowed; masked keys never get weight, and a query
// whose every key is masked gets all-zero weights.

#include <functional>
#include <memory>
#include <string>

#include "framework/config.h"
#include "framework/module.h"

namespace heed {
class Generator;
}

namespace heed::nn {

struct AttentionOutput {
  Tensor output;
  Tensor weights;
};

/// What a mechanism is built for.
struct HeadShape {
  int64_t num_heads = 1;
  int64_t head_dim = 1;             // d_k of one head
  std::string positional = "none";  // "none", "rope" (applied to q, k before attend) or "alibi"
  bool cross = false;               // queries and keys from different sequences (no distances)
};

/// What one call passes besides q, k, v.
struct AttentionCall {
  Tensor key_padding_mask;  // [batch, key], nonzero = padding; undefined = none
  Tensor attn_mask;         // [query, key], nonzero = masked; undefined = none
  Tensor score_bias;        // added to the scores (ALiBi's [heads, query, key]); undefined = none
  /// The context of a mechanism that uses_context() (Tri-Attention), projected and split into
  /// heads like k: [batch, heads, key, d_k] (the key sequence's own projection); undefined = none.
  Tensor context;
  float dropout = 0.f;  // on the weights, in training
  bool training = false;
  bool need_weights = true;
  Generator* gen = nullptr;
};

class AttentionMechanism {
 public:
  explicit AttentionMechanism(const HeadShape& shape) : shape(shape) {}
  virtual ~AttentionMechanism() = default;

  virtual AttentionOutput attend(const Tensor& q, const Tensor& k, const Tensor& v,
                                 const AttentionCall& call) const;
  /// The default attend() over a list of masks, each broadcasting to [batch, heads, query, key]
  /// (the key-padding mask as [batch, 1, 1, key]); the call's own masks are not read.
  AttentionOutput attend_masked(const Tensor& q, const Tensor& k, const Tensor& v,
                                const std::vector<Tensor>& masks, const AttentionCall& call) const;
  /// False for variants whose scores are not dot products (ALiBi's bias would mean nothing).
  virtual bool takes_score_bias() const { return true; }
  /// True for variants that read AttentionCall::context (MultiheadAttention then projects it).
  virtual bool uses_context() const { return false; }
  /// Draws the learned parameters that need random values (called once by the owning layer with
  /// its generator); the default has none.
  virtual void reset_parameters(Generator& /*gen*/) {}
  /// The options after "attention=<name>" in MultiheadAttention::repr: ", topk=4", or "".
  virtual std::string options_repr() const { return ""; }
  /// Learned parameters, which the owning MultiheadAttention registers under these names.
  const StateDict& parameters() const { return parameters_; }
  /// State that is not learned by gradients but kept in checkpoints (REINFORCE's baseline),
  /// registered by the owning MultiheadAttention as buffers under these names.
  const StateDict& buffers() const { return buffers_; }

  const HeadShape shape;

  // The parts attend() composes, public so that tests can check a variant's normalizer alone.
  /// [batch, heads, query, key] scores before bias and masks.
  virtual Tensor score(const Tensor& q, const Tensor& k) const;
  /// A further [query, key] mask of this variant (a band), or undefined.
  virtual Tensor extra_mask(int64_t /*query*/, int64_t /*key*/) const { return Tensor(); }
  /// Masked scores (-inf) -> weights over the last dimension.
  virtual Tensor normalize(const Tensor& scores, const AttentionCall& call) const;

 protected:
  Tensor add_parameter(const std::string& name, Tensor value);
  Tensor add_buffer(const std::string& name, Tensor value);

 private:
  StateDict parameters_, buffers_;
};

/// Dropout on attention weights as `call` asks: in training with call.dropout > 0, drawn from
/// call.gen (heed::Error when the call has none); otherwise the weights themselves, and a call
/// that draws nothing needs no generator.
Tensor dropout_weights(const Tensor& weights, const AttentionCall& call);

/// Builds a mechanism for one head shape; made by a variant's from_config (registry.h).
using AttentionFactory = std::function<std::unique_ptr<AttentionMechanism>(const HeadShape&)>;

}  // namespace heed::nn

#pragma once
// Alignments: the attentions of one query over a sequence of keys and values, Bahdanau et al.
// 2015's "alignment model" and Luong et al. 2015's alignment functions, which attention pooling
// and the RNN decoders (layers/decoders/) use. One registry (alignment.cpp), one entry per variant
// beside its module:
//   additive                                   AdditiveAttention (additive.h)
//   luong_dot | luong_general | luong_concat   LuongAttention, global alignment (luong.h)
//   local_m | local_p                          LuongAttention, local alignments (luong.h)
//   multihead                                  MultiheadAttention (multihead.h)
//   monotonic                                  MonotonicAttention (monotonic.h), stateful
// A recipe names one as a string or an object with its options:
//   "attention": "luong_dot"
//   "attention": {"type": "local_p", "score": "general", "window": 8}
// An option the variant does not read is an error naming the variants that have it:
//   recipe: "model.pooling.attention.hidden_size" is not an option of alignment "luong_dot"
//   (its options: dropout); "hidden_size" is an option of alignment "additive", "luong_concat", ...
//
//   AlignmentFactory make = alignment_from_config(c);        // reads and checks the options
//   Alignment a = make({.query_size = 128, .key_size = 128}, gen);
//   register_module("pool", a.module);
//   auto [context, weights] = a.forward(query, keys, values, Tensor(), Tensor());
//   BoundAlignment step = a.bind(keys, values, mask);  // a decoder: once, then at step t
//   auto [context_t, weights_t] = step(query_t, t);

#include <functional>
#include <memory>

#include "framework/config.h"
#include "framework/module.h"
#include "framework/registry.h"
#include "layers/attention/mechanism.h"

namespace heed::nn {

/// What an alignment is built for.
struct AlignmentShape {
  int64_t query_size = 0;
  int64_t key_size = 0;
};

/// An alignment whose keys, values and padding mask are fixed (Alignment::bind), called once per
/// query step of a decoder: query [batch, query_len, query_size] whose row t is step t + step,
/// previous the weights it gave at the decoder's previous step ([batch, 1, 1, key_len], the
/// decoder's to keep and reorder; undefined at the first step) -> what Alignment::forward gives
/// for those keys. Only a stateful alignment (monotonic: it continues from where the previous step
/// stopped) reads previous; given none it starts afresh, as forward does.
using BoundAlignment =
    std::function<AttentionOutput(const Tensor& query, int64_t step, const Tensor& previous)>;

/// A built alignment: its module, which the owner registers (its parameters are the module's),
/// and its call. query [batch, query_len, query_size], keys [batch, key_len, key_size], values
/// [batch, key_len, value_size], key_padding_mask [batch, key_len] (nonzero = padding, undefined =
/// none), query_offset int64 [batch] (undefined = 0): query row t of sequence b is its step
/// query_offset[b] + t (local_m's window centre) -> output [batch, query_len, value_size],
/// weights [batch, 1, query_len, key_len].
struct Alignment {
  std::shared_ptr<Module> module;
  std::function<AttentionOutput(const Tensor& query, const Tensor& keys, const Tensor& values,
                                const Tensor& key_padding_mask, const Tensor& query_offset)>
      forward;
  /// Optional, for a variant with work that does not depend on the query: does it once for the
  /// keys and returns the per-step call (additive: U k_j, once per sequence; Bahdanau et al. 2015,
  /// appendix A.1.2). Unset: bind() calls forward with the keys at every step.
  std::function<BoundAlignment(const Tensor& keys, const Tensor& values,
                               const Tensor& key_padding_mask)>
      bind_keys = {};

  /// The keys, values and mask fixed for many queries (a decoder's steps), each call giving what
  /// forward would.
  BoundAlignment bind(const Tensor& keys, const Tensor& values,
                      const Tensor& key_padding_mask) const;
};

using AlignmentFactory = std::function<Alignment(const AlignmentShape&, Generator&)>;

/// Reads the alignment at `parent`.`key` (absent: "additive"), checking the name and every
/// option; throws heed::RecipeError naming the recipe path. `type` receives the name.
AlignmentFactory alignment_from_config(const Config& parent, const std::string& key = "attention",
                                       std::string* type = nullptr);
/// alignment_from_config that also takes "none" (no attention): then an empty factory.
AlignmentFactory alignment_or_none_from_config(const Config& parent,
                                               const std::string& key = "attention",
                                               std::string* type = nullptr);

std::vector<std::string> alignment_names();
std::vector<RegistryEntry> list_alignments();

}  // namespace heed::nn

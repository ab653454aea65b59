#pragma once
// What the attention of a model does over a split, per attention layer: the mean entropy of its
// distributions over the keys and their mean largest weight. A layer whose entropy falls towards
// 0 (and largest weight towards 1) has learned to pick single positions; one that stays near
// log(keys) spreads its weight evenly, and an entropy collapsing early in training is a known
// sign of unstable Transformer training (Zhai et al. 2023, "Stabilizing Transformer Training by
// Preventing Attention Entropy Collapse", ICML). The trainer adds them to each evaluation in
// metrics.jsonl ("attention"), and `heed compare` plots them per variant.
//
//   AttentionStatistics stats;
//   stats.add("attention", weights, batch.target_lengths);  // every batch of the split
//   stats.result();  // {"attention": {"entropy": 1.21, "max_weight": 0.62, "rows": 5040}}
//
// Sums over the split's distributions, never means of batch means (framework/model.h, Metric).

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "framework/tensor.h"

namespace heed {

/// True for an attention layer whose queries are a seq2seq decoder's output steps: one a
/// Seq2Seq names "attention" (the RNN decoder's, registered at the model's root) or one under
/// "decoder." (the Transformer decoder's self_attn and multihead_attn); any other attends from
/// the input's steps.
bool attends_from_target(const std::string& layer);

class AttentionStatistics {
 public:
  /// Adds the distributions of `weights` [batch, query, key] or [batch, heads, query, key] (any
  /// dimensions between batch and query are heads): every row whose query is real, t <
  /// query_lengths[b] (int64 [batch]; undefined: every query is). A row's entropy, in nats, is
  /// that of the row divided by its sum (local-p attention's Gaussian-scaled rows sum below 1);
  /// rows summing to 0 (every key masked) are left out. Throws heed::Error naming `name` when
  /// `weights` has fewer than 3 dimensions or query_lengths is not [batch].
  void add(const std::string& name, const Tensor& weights, const Tensor& query_lengths);

  /// {name: {"entropy": mean nats, "max_weight": mean largest weight, "rows": distributions}},
  /// names in order; an empty object when nothing was added.
  nlohmann::json result() const;

  /// The running sums, {name: [entropy, max_weight, rows]}, as ranks exchange them, and their
  /// addition into these: adding each batch's sums in batch order adds what add() adds.
  nlohmann::json sums() const;
  void add_sums(const nlohmann::json& sums);

 private:
  struct Sums {
    double entropy = 0, max_weight = 0;
    int64_t rows = 0;
  };
  std::map<std::string, Sums> sums_;
};

}  // namespace heed

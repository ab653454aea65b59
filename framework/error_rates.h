#pragma once
// Error rates of decoded output sequences against references, as grapheme-to-phoneme papers
// report them (e.g. Yao & Zweig 2015, section 4; Bisani & Ney 2008):
//   phoneme (token) error rate  PER = sum over outputs of the edit distance to the closest
//     reference / sum of that reference's length (Levenshtein: insertions, deletions and
//     substitutions each cost 1);
//   word (sequence) error rate  WER = the share of outputs equal to none of their references.
// With several references (a word's pronunciations), the closest is the one at the least edit
// distance, ties going to the longer reference (the lower rate). Both are over the whole split
// (Metric sums), never means of batch means.
//
//   ErrorRates e;
//   e.add({HH, AH, L, OW}, {{HH, AH, L, OW}, {HH, EH, L, OW}});  // 0 edits of 4, not wrong

#include <cstdint>
#include <vector>

#include "framework/data.h"
#include "framework/model.h"

namespace heed {

/// The Levenshtein distance between a and b: the fewest insertions, deletions and substitutions
/// turning one into the other.
int64_t edit_distance(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

struct ErrorRates {
  Metric per;  // edits / reference tokens
  Metric wer;  // wrong outputs / outputs
  /// Scores one output against its references (at least one). Throws heed::Error on none.
  void add(const std::vector<int64_t>& output, const std::vector<std::vector<int64_t>>& references);
};

/// Decodes every group of `data` once (its first example's input; every example its own group
/// unless `data` is ReferenceGroups) in batches of `batch_size`, and scores the outputs against
/// the groups' targets, each less its final </s>. Without gradients; the caller sets eval mode.
/// With `shards` > 1 only every shards-th batch from the shard-th (a rank's share: the ranks'
/// rates, whole counts, add up to the whole split's in any order).
ErrorRates decoded_error_rates(const SequenceTransducer& model, const Dataset& data,
                               const SearchOptions& options, int64_t batch_size, int64_t shard = 0,
                               int64_t shards = 1);

}  // namespace heed

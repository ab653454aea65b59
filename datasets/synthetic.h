#pragma once
// Synthetic long-range test beds: token tasks whose answer lies `length` steps away from what it
// depends on, generated deterministically, for a language_model (an RNN, or a Transformer under
// the causal mask) that reads the sequence left to right and is scored only at the answer steps
// (every other target is <pad>, which the loss and metrics skip: layers/models/token_loss.h).
//
//   copy               Arjovsky, Shah & Bengio 2016 ("Unitary Evolution RNNs", sec. 4.1, the
//                      copying memory problem): n symbols, `length` blanks, the delimiter, n - 1
//                      blanks; from the delimiter on, the model outputs the n symbols in order.
//   reverse            the same, the symbols output last first.
//   sort               the same, the symbols output in ascending order (of their ids).
//   selective_copy     Gu & Dao 2023 ("Mamba", sec. 4.1.1): the n symbols sit at random
//                      positions among `length` steps of blanks, then the delimiter and n - 1
//                      blanks; the symbols are output in their order of appearance.
//   associative_recall Ba et al. 2016 ("Using Fast Weights to Attend to the Recent Past",
//                      sec. 4.1): `length` / 2 key-value pairs (keys and values drawn from the
//                      symbols, a key may recur and then holds its latest value), the delimiter,
//                      a key of the sequence; the answer, at that last step, is its value.
//   context_recall     associative recall whose answer depends on a context (issue 13's test bed
//                      for Tri-Attention, Yu et al. 2022): `count` tables, each its marker ("A",
//                      "B", ...) and length / (2 count) key-value pairs over the SAME keys (each
//                      table in its own order, values drawn apart); then the delimiter, a table's
//                      marker (the context) and a key (the query); the answer, at that last step,
//                      is the key's value in the named table. The query's key occurs once in
//                      every table, so attention from the query to the keys alone finds `count`
//                      equally good matches and is right about 1 / count of the time (plus
//                      chance agreement of the values): it must use the context.
//   adding             the adding problem, a regression over features: datasets/adding.h.
//
// Tokens: <pad> <s> </s> <unk> (unused), "_" (blank), "|" (delimiter), the symbols "0", "1",
// ..., one per symbol id, then (context_recall only) the table markers "A", "B", ... Example i of a
// split is drawn by a Generator seeded from (seed, split, i) (framework/random.h, mix64), so the
// sets are fixed by `seed` alone, examples cost no memory until served, and any example can be
// regenerated alone.
//
//   SyntheticOptions o{.task = "copy", .length = 200};
//   SyntheticTask train(o, SyntheticSplit::Train, 100000);
//   Batch b = train.get({0, 1});  // input, target int64 [2, 220]

#include <cstdint>
#include <string>
#include <vector>

#include "framework/data.h"

namespace heed::data {

enum class SyntheticSplit { Train = 0, Dev = 1, Test = 2 };

struct SyntheticOptions {
  std::string task = "copy";  // copy, reverse, sort, selective_copy, associative_recall,
                              // context_recall, adding
  int64_t length = 50;        // blanks (copy, reverse, sort), span (selective_copy), or keys and
                              // values (associative_recall, even; context_recall, a multiple of
                              // 2 count)
  int64_t symbols = 8;        // the alphabet's size
  int64_t count = 10;         // n, the symbols to copy; context_recall: the tables (<= 26)
  uint64_t seed = 1;
};

/// The tasks, in the order above ("adding" last).
const std::vector<std::string>& synthetic_tasks();

/// The seed of example `index` of `split` under `seed`, for every generated test bed.
uint64_t synthetic_example_seed(uint64_t seed, SyntheticSplit split, int64_t index);

/// The vocabulary of `o`'s task: specials, "_", "|", then `symbols` symbols "0", "1", ..., and
/// for context_recall `count` table markers "A", "B", ...
Vocabulary synthetic_vocabulary(const SyntheticOptions& o);

/// The length of every example of `o`'s task (input and target alike). Throws heed::Error on an
/// unknown task or options the task cannot meet (selective_copy's count above its length, an odd
/// or too short associative_recall length, a context_recall length that is not a multiple of
/// 2 count or holds more keys per table than symbols, over 26 tables, an adding problem shorter
/// than 2).
int64_t synthetic_length(const SyntheticOptions& o);

/// One split of a token task: `size` examples, each int64 input and target
/// [synthetic_length(o)]. Throws heed::Error for "adding" (AddingProblem serves it).
class SyntheticTask : public Dataset {
 public:
  SyntheticTask(const SyntheticOptions& options, SyntheticSplit split, int64_t size);
  int64_t size() const override { return size_; }
  Batch get(const std::vector<int64_t>& indices) const override;
  /// Example `index`'s input and target token ids.
  std::pair<std::vector<int64_t>, std::vector<int64_t>> example(int64_t index) const;

 private:
  SyntheticOptions options_;
  SyntheticSplit split_;
  int64_t size_, length_;
};

}  // namespace heed::data

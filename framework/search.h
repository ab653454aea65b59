#pragma once
// Searching a sequence model's output: greedy decoding and beam search (Graves 2012; Sutskever
// et al. 2014, section 3.1), as fairseq's SequenceGenerator does it. A hypothesis grows one token
// at a time from <s>; it ends with </s>, which counts as one of its tokens. Its score is its
// log-probability sum_t log p(y_t | y_<t, x), and a finished hypothesis is ranked by
//   score / length^length_penalty
// (fairseq's lenpen: 0 ranks by log-probability alone, which favours short outputs; 1 by the mean
// log-probability per token). <pad>, <s> and <unk> are never produced: the search picks among </s>
// and the vocabulary's ordinary tokens. At the max_length-th token only </s> is allowed, so every
// hypothesis ends.
//
// Beam search keeps beam_size live hypotheses per source sequence: at each step it ranks the
// beam_size x vocab continuations, a </s> among the best beam_size finishes that hypothesis, and
// the best beam_size continuations that are not </s> go on; a source is done when beam_size
// hypotheses have finished (or at max_length), and its output is the best finished one. With
// beam_size 1 this is greedy decoding (tests/framework/test_search.cpp checks both that and that
// a large enough beam finds the exhaustive search's best).
//
//   auto best = beam_search(scorer, batch, {.beam_size = 5, .max_length = 40});

#include <cstdint>
#include <vector>

#include "framework/tensor.h"

namespace heed {

struct SearchOptions {
  int64_t beam_size = 1;       // >= 1; 1 is greedy decoding
  float length_penalty = 1.f;  // >= 0: finished hypotheses ranked by score / length^length_penalty
  int64_t max_length = 0;      // >= 1: the most tokens of a hypothesis, its </s> included
};

/// What the search drives: a model's next-token logits for each of its rows (the live
/// hypotheses), one step at a time.
class StepScorer {
 public:
  virtual ~StepScorer() = default;
  /// logits [rows, vocab] of the next token after each row's latest token `previous` (size rows;
  /// Vocabulary::kBos at the first step); advances every row by one token.
  virtual Tensor next(const std::vector<int64_t>& previous) = 0;
  /// Row r takes the state of row rows[r] (size rows); rows of one source stay in that source's
  /// group of rows.
  virtual void reorder(const std::vector<int64_t>& rows) = 0;
};

struct Hypothesis {
  std::vector<int64_t> tokens;  // without the final </s>
  double log_prob = 0;          // of the tokens and the </s>
  double score = 0;             // log_prob / (tokens + 1)^length_penalty
};

/// Greedy decoding of `batch` sources, the scorer holding one row per source: at each step each
/// row's most likely allowed token (ties: the lowest id), until every row has produced </s> or
/// max_length tokens. Throws heed::Error on bad options or logits of the wrong shape.
std::vector<Hypothesis> greedy_search(StepScorer& scorer, int64_t batch, int64_t max_length,
                                      float length_penalty = 1.f);

/// Beam search of `batch` sources, the scorer holding beam_size rows per source (rows
/// [b * beam_size, (b + 1) * beam_size) for source b, all in the source's initial state). Returns
/// each source's best finished hypothesis. Throws heed::Error on bad options or logits of the
/// wrong shape.
std::vector<Hypothesis> beam_search(StepScorer& scorer, int64_t batch,
                                    const SearchOptions& options);

}  // namespace heed

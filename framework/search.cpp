#include "framework/search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "framework/data.h"
#include "framework/error.h"

namespace heed {

namespace {

constexpr double kDead = -std::numeric_limits<double>::infinity();

// </s> and the vocabulary's own tokens; never <pad>, <s> or <unk>.
bool allowed(int64_t token) {
  return token == Vocabulary::kEos || token >= Vocabulary::kNumSpecial;
}

double normalized(double log_prob, size_t tokens, float length_penalty) {
  return log_prob / std::pow(static_cast<double>(tokens + 1), length_penalty);
}

// log_softmax of each row of logits [rows, vocab], in double: rows x vocab values.
std::vector<double> log_probs(const Tensor& logits, int64_t rows, int64_t& vocab) {
  HEED_CHECK(
      logits.dim() == 2 && logits.size(0) == rows && logits.size(1) > Vocabulary::kNumSpecial,
      "search: the scorer's logits ", logits.shape(), " are not [", rows, ", vocab] with vocab > ",
      Vocabulary::kNumSpecial);
  vocab = logits.size(1);
  const std::vector<float> l = logits.contiguous().to_vector();
  std::vector<double> out(l.size());
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = l.data() + r * vocab;
    const double m = *std::max_element(row, row + vocab);
    double sum = 0;
    for (int64_t v = 0; v < vocab; ++v) sum += std::exp(row[v] - m);
    const double shift = m + std::log(sum);
    for (int64_t v = 0; v < vocab; ++v) out[r * vocab + v] = row[v] - shift;
  }
  return out;
}

void check_options(const SearchOptions& o) {
  HEED_CHECK(o.beam_size >= 1 && o.max_length >= 1 && o.length_penalty >= 0.f, "search: beam_size ",
             o.beam_size, " and max_length ", o.max_length, " must be >= 1 and length_penalty ",
             o.length_penalty, " >= 0");
}

// One continuation of a live hypothesis: its row, its next token and the new log-probability.
struct Candidate {
  double log_prob;
  int64_t row, token;
};

// Best first; ties: lower row, then lower token, so the search is deterministic.
bool better(const Candidate& a, const Candidate& b) {
  if (a.log_prob != b.log_prob) return a.log_prob > b.log_prob;
  return a.row != b.row ? a.row < b.row : a.token < b.token;
}

}  // namespace

std::vector<Hypothesis> greedy_search(StepScorer& scorer, int64_t batch, int64_t max_length,
                                      float length_penalty) {
  check_options({.length_penalty = length_penalty, .max_length = max_length});
  std::vector<Hypothesis> out(batch);
  std::vector<bool> done(batch, false);
  std::vector<int64_t> previous(batch, Vocabulary::kBos);
  int64_t vocab = 0, remaining = batch;
  for (int64_t t = 0; t < max_length && remaining > 0; ++t) {
    const std::vector<double> lp = log_probs(scorer.next(previous), batch, vocab);
    for (int64_t b = 0; b < batch; ++b) {
      if (done[b]) continue;
      const double* row = lp.data() + b * vocab;
      int64_t token = Vocabulary::kEos;
      if (t + 1 < max_length)
        for (int64_t v = Vocabulary::kNumSpecial; v < vocab; ++v)
          if (row[v] > row[token]) token = v;
      out[b].log_prob += row[token];
      previous[b] = token;
      if (token != Vocabulary::kEos) {
        out[b].tokens.push_back(token);
        continue;
      }
      out[b].score = normalized(out[b].log_prob, out[b].tokens.size(), length_penalty);
      done[b] = true;
      --remaining;
    }
  }
  return out;
}

std::vector<Hypothesis> beam_search(StepScorer& scorer, int64_t batch, const SearchOptions& o) {
  check_options(o);
  const int64_t K = o.beam_size, rows = batch * K;
  // Every row of a source starts in the same state: only the first is live, so the first step
  // does not fill the beam with K copies of one hypothesis.
  std::vector<Hypothesis> live(rows);
  for (int64_t r = 0; r < rows; ++r)
    if (r % K) live[r].log_prob = kDead;
  std::vector<std::vector<Hypothesis>> finished(batch);
  std::vector<bool> done(batch, false);
  std::vector<int64_t> previous(rows, Vocabulary::kBos);
  int64_t vocab = 0, remaining = batch;
  for (int64_t t = 0; t < o.max_length && remaining > 0; ++t) {
    const bool last = t + 1 == o.max_length;
    const std::vector<double> lp = log_probs(scorer.next(previous), rows, vocab);
    std::vector<Hypothesis> next(rows);
    std::vector<int64_t> from(rows);
    for (int64_t r = 0; r < rows; ++r) from[r] = r;  // done sources keep their rows as they are
    for (int64_t b = 0; b < batch; ++b) {
      if (done[b]) continue;
      std::vector<Candidate> candidates;
      for (int64_t r = b * K; r < (b + 1) * K; ++r) {
        if (live[r].log_prob == kDead) continue;
        for (int64_t v = 0; v < vocab; ++v)
          if (allowed(v) && (!last || v == Vocabulary::kEos))
            candidates.push_back({live[r].log_prob + lp[r * vocab + v], r, v});
      }
      std::sort(candidates.begin(), candidates.end(), better);
      // A </s> among the best K finishes its hypothesis; the best K others go on.
      int64_t filled = 0;
      for (size_t i = 0; i < candidates.size() && (filled < K || i < size_t(K)); ++i) {
        const Candidate& c = candidates[i];
        const std::vector<int64_t>& tokens = live[c.row].tokens;
        if (c.token == Vocabulary::kEos) {
          if (i < size_t(K))
            finished[b].push_back(
                {tokens, c.log_prob, normalized(c.log_prob, tokens.size(), o.length_penalty)});
          continue;
        }
        if (filled == K) continue;
        const int64_t r = b * K + filled++;
        next[r] = {tokens, c.log_prob, 0};
        next[r].tokens.push_back(c.token);
        from[r] = c.row;
        previous[r] = c.token;
      }
      // Rows left over (fewer continuations than K) stay dead.
      for (int64_t r = b * K + filled; r < (b + 1) * K; ++r) {
        next[r].log_prob = kDead;
        from[r] = b * K;
        previous[r] = Vocabulary::kEos;
      }
      if (static_cast<int64_t>(finished[b].size()) >= K || filled == 0) {
        done[b] = true;
        --remaining;
      }
    }
    live = std::move(next);
    if (remaining > 0) scorer.reorder(from);
  }
  std::vector<Hypothesis> best(batch);
  for (int64_t b = 0; b < batch; ++b) {
    HEED_CHECK(!finished[b].empty(), "beam search: source ", b, " finished no hypothesis");
    best[b] = *std::max_element(
        finished[b].begin(), finished[b].end(),
        [](const Hypothesis& x, const Hypothesis& y) { return x.score < y.score; });
  }
  return best;
}

}  // namespace heed

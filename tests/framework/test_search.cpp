// Greedy decoding and beam search (framework/search.h) on a scorer whose logits are a fixed
// pseudo-random function of each row's prefix, so every hypothesis has a known probability:
// beam search with beam 1 is greedy decoding, token for token and score for score; a beam wide
// enough to hold every hypothesis finds the exhaustive search's best under any length penalty;
// forbidden tokens are never produced; max_length ends every hypothesis. Then PER and WER
// (framework/error_rates.h) on hand-checked examples, and through a real seq2seq model.

#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "framework/data.h"
#include "framework/error_rates.h"
#include "framework/random.h"
#include "framework/search.h"
#include "testing.h"

using namespace heed;

namespace {

constexpr int64_t kEos = Vocabulary::kEos, kFirst = Vocabulary::kNumSpecial;

// Logits of every token after a row's prefix (its source and tokens so far), drawn from a
// generator seeded by a hash of the prefix: the same prefix always gets the same logits.
class PrefixScorer : public StepScorer {
 public:
  PrefixScorer(int64_t sources, int64_t copies, int64_t vocab) : vocab_(vocab) {
    for (int64_t r = 0; r < sources * copies; ++r) prefixes_.push_back({r / copies});
  }
  Tensor next(const std::vector<int64_t>& previous) override {
    REQUIRE(previous.size() == prefixes_.size());
    std::vector<float> out;
    for (size_t r = 0; r < previous.size(); ++r) {
      if (previous[r] != Vocabulary::kBos) prefixes_[r].push_back(previous[r]);
      for (const float v : logits(prefixes_[r])) out.push_back(v);
    }
    return Tensor::from_vector(out, {static_cast<int64_t>(previous.size()), vocab_});
  }
  void reorder(const std::vector<int64_t>& rows) override {
    std::vector<std::vector<int64_t>> moved;
    for (const int64_t r : rows) moved.push_back(prefixes_.at(r));
    prefixes_ = moved;
  }
  // The logits after `prefix` (source first): special tokens get the largest, so a search that
  // produced them would show.
  std::vector<float> logits(const std::vector<int64_t>& prefix) const {
    uint64_t h = 1469598103934665603ull;
    for (const int64_t t : prefix) h = (h ^ static_cast<uint64_t>(t + 1)) * 1099511628211ull;
    Generator gen(h);
    std::vector<float> l(vocab_);
    for (auto& v : l) v = 3.f * gen.uniform();
    l[Vocabulary::kPad] = l[Vocabulary::kBos] = l[Vocabulary::kUnk] = 10.f;
    return l;
  }
  double log_prob(const std::vector<int64_t>& prefix, int64_t token) const {
    const std::vector<float> l = logits(prefix);
    double sum = 0;
    for (const float v : l) sum += std::exp(static_cast<double>(v));
    return l[token] - std::log(sum);
  }

 private:
  int64_t vocab_;
  std::vector<std::vector<int64_t>> prefixes_;
};

// The best of every hypothesis of at most max_length tokens (</s> included) by exhaustive
// enumeration: tokens, and score = log-probability / length^penalty.
std::pair<std::vector<int64_t>, double> exhaustive(const PrefixScorer& s, int64_t source,
                                                   int64_t vocab, int64_t max_length,
                                                   float penalty) {
  std::pair<std::vector<int64_t>, double> best{{}, -INFINITY};
  std::function<void(std::vector<int64_t>&, double)> grow = [&](std::vector<int64_t>& tokens,
                                                                double lp) {
    std::vector<int64_t> prefix{source};
    prefix.insert(prefix.end(), tokens.begin(), tokens.end());
    const double done = lp + s.log_prob(prefix, kEos);
    const double score = done / std::pow(static_cast<double>(tokens.size() + 1), penalty);
    if (score > best.second) best = {tokens, score};
    if (static_cast<int64_t>(tokens.size()) + 1 == max_length) return;
    for (int64_t v = kFirst; v < vocab; ++v) {
      tokens.push_back(v);
      grow(tokens, lp + s.log_prob(prefix, v));
      tokens.pop_back();
    }
  };
  std::vector<int64_t> tokens;
  grow(tokens, 0);
  return best;
}

}  // namespace

TEST_CASE("search: beam search with beam 1 is greedy decoding") {
  constexpr int64_t kSources = 20, kVocab = 9;
  for (const float penalty : {0.f, 1.f}) {
    PrefixScorer a(kSources, 1, kVocab), b(kSources, 1, kVocab);
    const std::vector<Hypothesis> greedy = greedy_search(a, kSources, 12, penalty);
    const std::vector<Hypothesis> beam =
        beam_search(b, kSources, {.beam_size = 1, .length_penalty = penalty, .max_length = 12});
    for (int64_t i = 0; i < kSources; ++i) {
      INFO("source ", i);
      CHECK(greedy[i].tokens == beam[i].tokens);
      CHECK(greedy[i].log_prob == beam[i].log_prob);
      CHECK(greedy[i].score == beam[i].score);
      for (const int64_t t : greedy[i].tokens) CHECK(t >= kFirst);
    }
  }
}

TEST_CASE("search: a beam holding every hypothesis finds the exhaustive best") {
  // 2 ordinary tokens, at most 4 tokens: 1 + 2 + 4 + 8 = 15 hypotheses; at most 8 live x 3
  // continuations = 24 candidates a step, so a beam of 32 never drops one.
  constexpr int64_t kSources = 12, kVocab = kFirst + 2, kMax = 4, kBeam = 32;
  for (const float penalty : {0.f, 0.6f, 1.f, 2.f}) {
    INFO("length_penalty ", penalty);
    PrefixScorer s(kSources, kBeam, kVocab);
    const std::vector<Hypothesis> beam = beam_search(
        s, kSources, {.beam_size = kBeam, .length_penalty = penalty, .max_length = kMax});
    const PrefixScorer reference(kSources, 1, kVocab);
    for (int64_t i = 0; i < kSources; ++i) {
      INFO("source ", i);
      const auto [tokens, score] = exhaustive(reference, i, kVocab, kMax, penalty);
      CHECK(beam[i].tokens == tokens);
      CHECK(beam[i].score == doctest::Approx(score).epsilon(1e-12));
    }
  }
}

TEST_CASE("search: max_length ends every hypothesis; bad options and logits are errors") {
  PrefixScorer s(3, 2, 7);
  for (const Hypothesis& h : beam_search(s, 3, {.beam_size = 2, .max_length = 1})) {
    CHECK(h.tokens.empty());
  }
  PrefixScorer g(3, 1, 7);
  for (const Hypothesis& h : greedy_search(g, 3, 3)) CHECK(h.tokens.size() <= 2);
  CHECK(testing::error_of([&] { greedy_search(g, 3, 0); }).find("max_length 0 must be >= 1") !=
        std::string::npos);
  CHECK(testing::error_of([&] {
          beam_search(g, 3, {.beam_size = 0, .max_length = 3});
        }).find("beam_size 0") != std::string::npos);
  struct TwoRows : StepScorer {  // 2 rows where the search expects 3
    Tensor next(const std::vector<int64_t>&) override { return Tensor::zeros({2, 7}); }
    void reorder(const std::vector<int64_t>&) override {}
  } wrong;
  CHECK(testing::error_of([&] {
          greedy_search(wrong, 3, 3);
        }).find("logits [2, 7] are not [3, vocab]") != std::string::npos);
}

TEST_CASE("error rates: edit distance, closest reference, PER and WER by hand") {
  CHECK(edit_distance({}, {}) == 0);
  CHECK(edit_distance({1, 2, 3}, {}) == 3);
  CHECK(edit_distance({}, {4, 5}) == 2);
  CHECK(edit_distance({1, 2, 3}, {1, 3}) == 1);           // a deletion
  CHECK(edit_distance({1, 2, 3}, {1, 4, 3}) == 1);        // a substitution
  CHECK(edit_distance({1, 2, 3, 4}, {2, 3, 4, 5}) == 2);  // kitten/sitting style shift
  CHECK(edit_distance({5, 6, 7, 8, 9}, {9, 8, 7, 6, 5}) == 4);
  ErrorRates e;
  e.add({1, 2, 3, 4}, {{1, 2, 3, 4}, {1, 5, 3, 4}});  // equals a reference: 0 of 4
  e.add({1, 2}, {{1, 2, 3}, {7, 7, 7, 7}});           // 1 edit of the closest (3 long)
  e.add({9}, {{1, 2}, {3, 4}});                       // 2 edits; a tie goes to either (2 long)
  e.add({1, 2}, {{1}, {1, 2, 3}});                    // tie at 1: the longer reference (3)
  CHECK(e.per.value() == doctest::Approx(4.0 / 12.0));
  CHECK(e.wer.value() == doctest::Approx(3.0 / 4.0));
  CHECK(testing::error_of([&] { e.add({1}, {}); }).find("at least one reference") !=
        std::string::npos);
}

namespace {

// A toy transducer: outputs its input reversed (tokens kept), for decoded_error_rates.
class Reverser : public SequenceTransducer {
 public:
  std::vector<Hypothesis> decode(const Batch& batch, const SearchOptions&) const override {
    std::vector<Hypothesis> out(batch.size());
    const std::vector<int64_t> ids = batch.input.to_vector_i64();
    const std::vector<int64_t> lengths = batch.input_lengths.to_vector_i64();
    for (int64_t b = 0; b < batch.size(); ++b)
      for (int64_t t = lengths[b] - 1; t >= 0; --t)
        out[b].tokens.push_back(ids[b * batch.input.size(1) + t]);
    return out;
  }
};

// Two groups: word 0 with references {6 5 4, 6 5 9}, word 1 with one reference {7 8}; and the
// same examples without groups.
class Groups : public ExampleDataset, public ReferenceGroups {
 public:
  Groups() : ExampleDataset(TargetKind::Tokens) {}
  int64_t size() const override { return 3; }
  Example example(int64_t i) const override {
    const std::vector<Example> e = {
        {{4, 5, 6}, {6, 5, 4, kEos}}, {{4, 5, 6}, {6, 9, 9, kEos}}, {{8, 7}, {7, 7, kEos}}};
    return e.at(i);
  }
  int64_t num_groups() const override { return 2; }
  std::pair<int64_t, int64_t> group(int64_t g) const override {
    return g == 0 ? std::pair<int64_t, int64_t>{0, 2} : std::pair<int64_t, int64_t>{2, 1};
  }
};

}  // namespace

TEST_CASE("error rates: decoded over a split, once per group, against every reference") {
  const Groups data;
  // Word 0: reversed = 6 5 4, equal to its first reference; word 1: 7 8 vs 7 7, 1 edit of 2.
  for (const int64_t batch : {1, 2, 5}) {
    const ErrorRates e = decoded_error_rates(Reverser(), data, {.max_length = 10}, batch);
    CHECK(e.per.sum == 1);
    CHECK(e.per.count == 5);
    CHECK(e.wer.value() == 0.5);
  }
}

// The synthetic long-range test beds (datasets/synthetic.h): each task's layout and answer read
// back from generated examples, determinism by (seed, split, index), the options' errors, and the
// registry's recipe section.

#include <doctest/doctest.h>

#include <algorithm>

#include "datasets/synthetic.h"
#include "framework/error.h"
#include "framework/registry.h"

using namespace heed;
using data::SyntheticOptions, data::SyntheticSplit, data::SyntheticTask;

namespace {

constexpr int64_t kPad = Vocabulary::kPad, kBlank = 4, kDelimiter = 5, kFirstSymbol = 6;

std::vector<int64_t> slice(const std::vector<int64_t>& v, int64_t begin, int64_t end) {
  return {v.begin() + begin, v.begin() + end};
}

// The answers: the targets that are not <pad>, and where they start.
std::pair<int64_t, std::vector<int64_t>> answers(const std::vector<int64_t>& target) {
  int64_t first = -1;
  std::vector<int64_t> y;
  for (size_t t = 0; t < target.size(); ++t)
    if (target[t] != kPad) {
      if (first < 0) first = static_cast<int64_t>(t);
      y.push_back(target[t]);
    }
  return {first, y};
}

}  // namespace

TEST_CASE("synthetic copy, reverse, sort: n symbols, length blanks, the delimiter, n answers") {
  for (const std::string task : {"copy", "reverse", "sort"}) {
    CAPTURE(task);
    const SyntheticOptions o{.task = task, .length = 7, .symbols = 3, .count = 4, .seed = 5};
    CHECK(data::synthetic_length(o) == 7 + 2 * 4);
    const SyntheticTask split(o, SyntheticSplit::Train, 20);
    for (int64_t i = 0; i < 20; ++i) {
      const auto [input, target] = split.example(i);
      REQUIRE(input.size() == 15);
      REQUIRE(target.size() == 15);
      const std::vector<int64_t> x = slice(input, 0, 4);
      for (int64_t s : x) CHECK((s >= kFirstSymbol && s < kFirstSymbol + 3));
      CHECK(slice(input, 4, 11) == std::vector<int64_t>(7, kBlank));
      CHECK(input[11] == kDelimiter);
      CHECK(slice(input, 12, 15) == std::vector<int64_t>(3, kBlank));
      std::vector<int64_t> y = x;
      if (task == "reverse") std::reverse(y.begin(), y.end());
      if (task == "sort") std::sort(y.begin(), y.end());
      CHECK(answers(target) == std::pair<int64_t, std::vector<int64_t>>{11, y});
    }
  }
}

TEST_CASE("synthetic selective_copy: the symbols hidden in the span, copied in their order") {
  const SyntheticOptions o{.task = "selective_copy", .length = 12, .symbols = 5, .count = 3};
  CHECK(data::synthetic_length(o) == 15);
  const SyntheticTask split(o, SyntheticSplit::Dev, 50);
  std::vector<int64_t> first_positions;
  for (int64_t i = 0; i < 50; ++i) {
    const auto [input, target] = split.example(i);
    std::vector<int64_t> shown;
    for (int64_t t = 0; t < 12; ++t)
      if (input[t] != kBlank) {
        shown.push_back(input[t]);
        if (shown.size() == 1) first_positions.push_back(t);
      }
    CHECK(shown.size() == 3);
    CHECK(input[12] == kDelimiter);
    CHECK(answers(target) == std::pair<int64_t, std::vector<int64_t>>{12, shown});
  }
  // The positions are drawn: not always the span's start.
  CHECK(*std::max_element(first_positions.begin(), first_positions.end()) > 0);
}

TEST_CASE("synthetic associative_recall: the queried key's latest value, at the last step") {
  const SyntheticOptions o{.task = "associative_recall", .length = 10, .symbols = 3};
  CHECK(data::synthetic_length(o) == 12);
  const SyntheticTask split(o, SyntheticSplit::Test, 100);
  for (int64_t i = 0; i < 100; ++i) {
    const auto [input, target] = split.example(i);
    REQUIRE(input.size() == 12);
    CHECK(input[10] == kDelimiter);
    const int64_t query = input[11];
    int64_t value = -1;  // 3 keys among 5 pairs: keys recur, the latest value counts
    for (int64_t p = 0; p < 5; ++p)
      if (input[2 * p] == query) value = input[2 * p + 1];
    REQUIRE(value >= 0);  // the query is a key of the sequence
    CHECK(answers(target) == std::pair<int64_t, std::vector<int64_t>>{11, {value}});
  }
}

TEST_CASE("synthetic context_recall: the tables share their keys, the context names the answer's") {
  // 3 tables of 4 pairs over 5 symbols: markers A, B, C are ids 11, 12, 13.
  const SyntheticOptions o{.task = "context_recall", .length = 24, .symbols = 5, .count = 3};
  CHECK(data::synthetic_length(o) == 30);
  CHECK(data::synthetic_vocabulary(o).tokens().back() == "C");
  const SyntheticTask split(o, SyntheticSplit::Train, 200);
  int64_t tables_agree = 0;
  std::vector<int64_t> context_seen(3, 0);
  for (int64_t i = 0; i < 200; ++i) {
    const auto [input, target] = split.example(i);
    REQUIRE(input.size() == 30);
    CHECK(input[27] == kDelimiter);
    const int64_t context = input[28] - (kFirstSymbol + 5), query = input[29];
    REQUIRE((context >= 0 && context < 3));
    ++context_seen[context];
    // Table t: its marker at 9 t, then 4 pairs. Every table holds the query's key once.
    std::vector<int64_t> value_in(3, -1), keys_of_first;
    for (int64_t t = 0; t < 3; ++t) {
      CHECK(input[9 * t] == kFirstSymbol + 5 + t);
      std::vector<int64_t> keys;
      for (int64_t p = 0; p < 4; ++p) {
        const int64_t key = input[9 * t + 1 + 2 * p];
        keys.push_back(key);
        if (key == query) {
          CHECK(value_in[t] == -1);
          value_in[t] = input[9 * t + 2 + 2 * p];
        }
      }
      std::sort(keys.begin(), keys.end());
      CHECK(std::adjacent_find(keys.begin(), keys.end()) == keys.end());  // distinct keys
      if (t == 0) keys_of_first = keys;
      CHECK(keys == keys_of_first);  // the same key set in every table
      REQUIRE(value_in[t] >= kFirstSymbol);
    }
    CHECK(answers(target) == std::pair<int64_t, std::vector<int64_t>>{29, {value_in[context]}});
    tables_agree += value_in[0] == value_in[1] && value_in[1] == value_in[2];
  }
  // The context matters: the tables rarely agree on the answer (1 / 25 by chance), and every
  // table is named as the context.
  CHECK(tables_agree < 20);
  for (const int64_t n : context_seen) CHECK(n > 40);
  CHECK_THROWS_WITH_AS(
      data::synthetic_length({.task = "context_recall", .length = 20, .symbols = 5, .count = 3}),
      "synthetic: context_recall's length = 20 must be 2 x count (3) x the keys per table, and "
      "the keys (distinct symbols) at most symbols = 5",
      Error);
  CHECK_THROWS_WITH_AS(data::synthetic_length({.task = "context_recall", .length = 24, .count = 1}),
                       "synthetic: context_recall's count = 1 tables; it needs 2 to 26 (one "
                       "marker letter each)",
                       Error);
}

TEST_CASE("synthetic: examples fixed by seed, split and index; batches stack them") {
  const SyntheticOptions o{.task = "copy", .length = 5, .symbols = 8, .count = 6, .seed = 3};
  const SyntheticTask train(o, SyntheticSplit::Train, 10), again(o, SyntheticSplit::Train, 10);
  const SyntheticTask dev(o, SyntheticSplit::Dev, 10);
  SyntheticOptions other = o;
  other.seed = 4;
  const SyntheticTask reseeded(other, SyntheticSplit::Train, 10);
  int differ_split = 0, differ_seed = 0;
  for (int64_t i = 0; i < 10; ++i) {
    CHECK(train.example(i) == again.example(i));
    differ_split += train.example(i) != dev.example(i);
    differ_seed += train.example(i) != reseeded.example(i);
  }
  CHECK(differ_split == 10);  // 8^6 inputs: a collision would be a bug
  CHECK(differ_seed == 10);
  const Batch b = train.get({7, 2});
  CHECK(b.input.shape() == Shape{2, 17});
  CHECK(b.target.shape() == Shape{2, 17});
  const std::vector<int64_t> in = b.input.to_vector_i64();
  CHECK(slice(in, 0, 17) == train.example(7).first);
  CHECK(slice(in, 17, 34) == train.example(2).first);
  CHECK_THROWS_WITH_AS(train.example(10), "synthetic: index 10 out of range [0, 10)", Error);
}

TEST_CASE("synthetic: options a task cannot meet are named") {
  CHECK_THROWS_WITH_AS(data::synthetic_length({.task = "copy_twice"}),
                       "synthetic: task \"copy_twice\" is not one of copy, reverse, sort, "
                       "selective_copy, associative_recall, context_recall, adding",
                       Error);
  CHECK_THROWS_WITH_AS(
      data::synthetic_length({.task = "selective_copy", .length = 5, .count = 6}),
      "synthetic: selective_copy places count = 6 symbols among length = 5 steps; count must "
      "not exceed length",
      Error);
  CHECK_THROWS_WITH_AS(data::synthetic_length({.task = "associative_recall", .length = 7}),
                       "synthetic: associative_recall's length = 7 holds the key-value pairs, 2 "
                       "steps each: an even number >= 2",
                       Error);
}

TEST_CASE("synthetic: the recipe section, its vocabulary and its errors") {
  nlohmann::json section = {{"name", "synthetic"}, {"task", "sort"},    {"length", 20},
                            {"symbols", 4},        {"count", 5},        {"train_samples", 300},
                            {"dev_samples", 30},   {"test_samples", 40}};
  const DataSplits s = build_dataset(Config(section, "data"));
  CHECK(s.train->size() == 300);
  CHECK(s.dev->size() == 30);
  CHECK(s.test->size() == 40);
  CHECK(s.info.input_shape == Shape{30});
  CHECK(s.info.input_vocab->tokens() ==
        std::vector<std::string>{"<pad>", "<s>", "</s>", "<unk>", "_", "|", "0", "1", "2", "3"});
  CHECK(s.info.num_classes == 10);
  // The caps every dataset has: the splits' first N, the same examples.
  section["max_train_samples"] = 7;
  section["max_test_samples"] = 50;
  const DataSplits capped = build_dataset(Config(section, "data"));
  CHECK(capped.train->size() == 7);
  CHECK(capped.dev->size() == 30);
  CHECK(capped.test->size() == 40);
  CHECK(capped.train->get({6}).input.to_vector_i64() == s.train->get({6}).input.to_vector_i64());
  CHECK_THROWS_WITH_AS(
      build_dataset(Config(
          nlohmann::json{{"name", "synthetic"}, {"task", "associative_recall"}, {"length", 9}},
          "data")),
      doctest::Contains("recipe: \"data\": synthetic: associative_recall's length = 9"), Error);
}

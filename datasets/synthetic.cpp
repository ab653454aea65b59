#include "datasets/synthetic.h"

#include <algorithm>

#include "framework/error.h"
#include "framework/random.h"

namespace heed::data {

namespace {

constexpr int64_t kBlank = Vocabulary::kNumSpecial, kDelimiter = kBlank + 1,
                  kFirstSymbol = kBlank + 2;

bool is_copy_like(const std::string& task) {
  return task == "copy" || task == "reverse" || task == "sort";
}

// An example that answers after its delimiter: `input` (what comes before it), the delimiter and
// n - 1 blanks; the target <pad> before the delimiter and the n answers `y` from it on.
std::pair<std::vector<int64_t>, std::vector<int64_t>> answer_after_delimiter(
    std::vector<int64_t> input, const std::vector<int64_t>& y) {
  input.push_back(kDelimiter);
  std::vector<int64_t> target(input.size() - 1, Vocabulary::kPad);
  target.insert(target.end(), y.begin(), y.end());
  input.insert(input.end(), y.size() - 1, kBlank);
  return {input, target};
}

// context_recall's example (synthetic.h): the tables, then "|", a table's marker and a key.
std::pair<std::vector<int64_t>, std::vector<int64_t>> context_recall(const SyntheticOptions& o,
                                                                     Generator& gen) {
  const int64_t keys = o.length / (2 * o.count), first_marker = kFirstSymbol + o.symbols;
  auto below = [&](int64_t n) { return static_cast<int64_t>(gen.below(static_cast<uint64_t>(n))); };
  // The key set: `keys` distinct symbols (a partial Fisher-Yates over the alphabet).
  std::vector<int64_t> symbols(o.symbols);
  for (int64_t s = 0; s < o.symbols; ++s) symbols[s] = kFirstSymbol + s;
  for (int64_t j = 0; j < keys; ++j) std::swap(symbols[j], symbols[j + below(o.symbols - j)]);
  const std::vector<int64_t> key_set(symbols.begin(), symbols.begin() + keys);
  const int64_t table = below(o.count), query = key_set[below(keys)];
  std::vector<int64_t> input;
  int64_t answer = -1;
  for (int64_t t = 0; t < o.count; ++t) {
    input.push_back(first_marker + t);
    std::vector<int64_t> order = key_set;
    for (int64_t j = keys - 1; j > 0; --j) std::swap(order[j], order[below(j + 1)]);
    for (const int64_t key : order) {
      const int64_t value = kFirstSymbol + below(o.symbols);
      input.push_back(key);
      input.push_back(value);
      if (t == table && key == query) answer = value;
    }
  }
  input.insert(input.end(), {kDelimiter, first_marker + table, query});
  std::vector<int64_t> target(input.size() - 1, Vocabulary::kPad);
  target.push_back(answer);
  return {input, target};
}

}  // namespace

const std::vector<std::string>& synthetic_tasks() {
  static const std::vector<std::string> tasks = {
      "copy",           "reverse", "sort", "selective_copy", "associative_recall",
      "context_recall", "adding"};
  return tasks;
}

uint64_t synthetic_example_seed(uint64_t seed, SyntheticSplit split, int64_t index) {
  return mix64(mix64(seed * 3 + static_cast<uint64_t>(split)) + static_cast<uint64_t>(index));
}

Vocabulary synthetic_vocabulary(const SyntheticOptions& o) {
  std::vector<std::string> tokens = {"_", "|"};
  for (int64_t s = 0; s < o.symbols; ++s) tokens.push_back(std::to_string(s));
  if (o.task == "context_recall")
    for (int64_t t = 0; t < o.count; ++t) tokens.emplace_back(1, static_cast<char>('A' + t));
  return Vocabulary(tokens, /*open=*/false);
}

int64_t synthetic_length(const SyntheticOptions& o) {
  const auto& tasks = synthetic_tasks();
  HEED_CHECK(std::find(tasks.begin(), tasks.end(), o.task) != tasks.end(), "synthetic: task \"",
             o.task,
             "\" is not one of copy, reverse, sort, selective_copy, associative_recall, "
             "context_recall, adding");
  HEED_CHECK(o.length >= 1 && o.symbols >= 1 && o.count >= 1,
             "synthetic: length, symbols and count must be positive, got ", o.length, ", ",
             o.symbols, ", ", o.count);
  if (is_copy_like(o.task)) return o.length + 2 * o.count;
  if (o.task == "adding") {
    HEED_CHECK(o.length >= 2, "synthetic: adding's length = ", o.length,
               " leaves no step in one of its halves; it must be at least 2");
    return o.length;
  }
  if (o.task == "selective_copy") {
    HEED_CHECK(o.count <= o.length, "synthetic: selective_copy places count = ", o.count,
               " symbols among length = ", o.length, " steps; count must not exceed length");
    return o.length + o.count;
  }
  if (o.task == "context_recall") {
    HEED_CHECK(o.count >= 2 && o.count <= 26, "synthetic: context_recall's count = ", o.count,
               " tables; it needs 2 to 26 (one marker letter each)");
    HEED_CHECK(
        o.length % (2 * o.count) == 0 && o.length / (2 * o.count) <= o.symbols,
        "synthetic: context_recall's length = ", o.length, " must be 2 x count (", o.count,
        ") x the keys per table, and the keys (distinct symbols) at most symbols = ", o.symbols);
    return o.length + o.count + 3;
  }
  HEED_CHECK(o.length >= 2 && o.length % 2 == 0,
             "synthetic: associative_recall's length = ", o.length,
             " holds the key-value pairs, 2 steps each: an even number >= 2");
  return o.length + 2;
}

SyntheticTask::SyntheticTask(const SyntheticOptions& options, SyntheticSplit split, int64_t size)
    : options_(options), split_(split), size_(size), length_(synthetic_length(options)) {
  HEED_CHECK(options.task != "adding",
             "synthetic: the adding problem's inputs are features: AddingProblem serves them");
  HEED_CHECK(size >= 0, "synthetic: a split of ", size, " examples");
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> SyntheticTask::example(int64_t index) const {
  HEED_CHECK(index >= 0 && index < size_, "synthetic: index ", index, " out of range [0, ", size_,
             ")");
  const SyntheticOptions& o = options_;
  Generator gen(synthetic_example_seed(o.seed, split_, index));
  auto symbol = [&] {
    return kFirstSymbol + static_cast<int64_t>(gen.below(static_cast<uint64_t>(o.symbols)));
  };
  if (o.task == "context_recall") return context_recall(o, gen);
  if (o.task == "associative_recall") {
    std::vector<int64_t> input;
    for (int64_t p = 0; p < o.length / 2; ++p) {
      input.push_back(symbol());
      input.push_back(symbol());
    }
    const auto pair = static_cast<int64_t>(gen.below(static_cast<uint64_t>(o.length / 2)));
    const int64_t query = input[2 * pair];
    int64_t value = input[2 * pair + 1];  // the key's latest value
    for (int64_t p = pair + 1; p < o.length / 2; ++p)
      if (input[2 * p] == query) value = input[2 * p + 1];
    input.push_back(kDelimiter);
    input.push_back(query);
    std::vector<int64_t> target(input.size() - 1, Vocabulary::kPad);
    target.push_back(value);
    return {input, target};
  }
  std::vector<int64_t> x(o.count);
  for (int64_t& s : x) s = symbol();
  if (o.task == "selective_copy") {
    // count distinct positions of the span, in order: a partial Fisher-Yates over its indices.
    std::vector<int64_t> slots(o.length);
    for (int64_t p = 0; p < o.length; ++p) slots[p] = p;
    for (int64_t j = 0; j < o.count; ++j)
      std::swap(slots[j],
                slots[j + static_cast<int64_t>(gen.below(static_cast<uint64_t>(o.length - j)))]);
    std::sort(slots.begin(), slots.begin() + o.count);
    std::vector<int64_t> span(o.length, kBlank);
    for (int64_t j = 0; j < o.count; ++j) span[slots[j]] = x[j];
    return answer_after_delimiter(span, x);
  }
  std::vector<int64_t> input = x, y = x;
  input.insert(input.end(), o.length, kBlank);
  if (o.task == "reverse") std::reverse(y.begin(), y.end());
  if (o.task == "sort") std::sort(y.begin(), y.end());
  return answer_after_delimiter(input, y);
}

Batch SyntheticTask::get(const std::vector<int64_t>& indices) const {
  const auto n = static_cast<int64_t>(indices.size());
  std::vector<int64_t> input, target;
  input.reserve(n * length_);
  target.reserve(n * length_);
  for (int64_t i : indices) {
    auto [x, y] = example(i);
    input.insert(input.end(), x.begin(), x.end());
    target.insert(target.end(), y.begin(), y.end());
  }
  return {Tensor::from_vector_i64(input, {n, length_}),
          Tensor::from_vector_i64(target, {n, length_})};
}

}  // namespace heed::data

// The data contract (framework/data.h) and the loader's length bucketing (framework/loader.h):
// vocabularies, collation of variable-length examples, padding masks, and a bucketed epoch that
// wastes less padding, serves every example once and resumes mid-epoch. The expected values are
// worked out by hand in each test.

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "framework/config.h"
#include "framework/data.h"
#include "framework/loader.h"
#include "framework/random.h"
#include "framework/registry.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;

namespace {

// Synthetic variable-length sequences: example i's input has 1 + mix64(seed + i) % max_len tokens,
// the first one i + 4 (so a batch tells which examples it holds), the rest ids 4, 5, ...; its
// target is the input reversed, then </s> (the "reverse" task of the sequence benchmarks).
class SyntheticSequences : public ExampleDataset {
 public:
  SyntheticSequences(int64_t size, int64_t max_len, uint64_t seed)
      : ExampleDataset(TargetKind::Tokens), size_(size), max_len_(max_len), seed_(seed) {}
  int64_t size() const override { return size_; }
  Example example(int64_t i) const override {
    const int64_t len = 1 + static_cast<int64_t>(mix64(seed_ + i) % max_len_);
    Example e;
    e.input.push_back(i + Vocabulary::kNumSpecial);
    for (int64_t t = 1; t < len; ++t) e.input.push_back(Vocabulary::kNumSpecial + t);
    e.target.assign(e.input.rbegin(), e.input.rend());
    e.target.push_back(Vocabulary::kEos);
    return e;
  }

 private:
  int64_t size_, max_len_;
  uint64_t seed_;
};

// The examples a batch of SyntheticSequences holds, from each input's first token.
std::vector<int64_t> indices_of(const Batch& b) {
  std::vector<int64_t> out;
  const std::vector<int64_t> ids = b.input.to_vector_i64();
  for (int64_t i = 0; i < b.size(); ++i)
    out.push_back(ids[i * b.input.size(1)] - Vocabulary::kNumSpecial);
  return out;
}

struct Epoch {
  std::vector<Batch> batches;
  int64_t padded = 0, slots = 0;  // input positions that are padding, and all of them
  double padding_fraction() const { return static_cast<double>(padded) / slots; }
};

// The rest of the loader's epoch, with its input padding counted.
Epoch rest_of_epoch(Loader& loader) {
  Epoch e;
  while (!loader.epoch_done()) {
    Batch b = loader.next();
    for (int64_t m : b.input_padding_mask().to_vector_i64()) e.padded += m;
    e.slots += b.input.numel();
    e.batches.push_back(std::move(b));
  }
  return e;
}

Epoch one_epoch(std::shared_ptr<Dataset> data, int64_t batch, bool bucket, uint64_t seed) {
  Loader loader(std::move(data), batch, /*shuffle=*/true, /*drop_last=*/false,
                Bucketing{bucket, /*pool_batches=*/10});
  Generator gen(seed);
  loader.start_epoch(gen);
  return rest_of_epoch(loader);
}

void check_same(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].input.to_vector_i64() == b[i].input.to_vector_i64());
    CHECK(a[i].target.to_vector_i64() == b[i].target.to_vector_i64());
    CHECK(a[i].input_lengths.to_vector_i64() == b[i].input_lengths.to_vector_i64());
    CHECK(a[i].target_lengths.to_vector_i64() == b[i].target_lengths.to_vector_i64());
  }
}

}  // namespace

TEST_CASE("Vocabulary: the four special tokens have fixed ids, then the tokens in order") {
  const Vocabulary v({"AA", "B", "CH"});
  CHECK(v.size() == 7);
  CHECK(v.tokens() == std::vector<std::string>{"<pad>", "<s>", "</s>", "<unk>", "AA", "B", "CH"});
  CHECK(v.id("<pad>") == Vocabulary::kPad);
  CHECK(Vocabulary::kPad == 0);
  CHECK(v.id("<s>") == 1);
  CHECK(v.id("</s>") == 2);
  CHECK(v.id("<unk>") == 3);
  CHECK(v.id("B") == 5);
  CHECK(v.token(6) == "CH");
  CHECK(Vocabulary().size() == 4);
}

TEST_CASE("Vocabulary: encode and decode round-trip, with <s> and </s> on request") {
  const Vocabulary v({"h", "e", "l", "o"});
  const std::vector<std::string> word = {"h", "e", "l", "l", "o"};
  const std::vector<int64_t> ids = v.encode(word, /*bos=*/true, /*eos=*/true);
  CHECK(ids == std::vector<int64_t>{1, 4, 5, 6, 6, 7, 2});
  CHECK(v.decode(ids) == std::vector<std::string>{"<s>", "h", "e", "l", "l", "o", "</s>"});
  CHECK(v.decode(v.encode(word)) == word);
}

TEST_CASE("Vocabulary: an unknown token is <unk> when open, an error naming it when closed") {
  const Vocabulary open({"a", "b"});
  CHECK(open.open());
  CHECK(open.encode({"a", "z", "b"}) == std::vector<int64_t>{4, 3, 5});
  const Vocabulary closed({"AA", "AE"}, /*open=*/false);
  CHECK_FALSE(closed.open());
  CHECK(closed.id("AE") == 5);
  CHECK(error_of([&] {
          closed.encode({"AA", "ZZ"});
        }) ==
        "Vocabulary: unknown token \"ZZ\", and this vocabulary of 6 tokens is closed (no <unk> "
        "for unknown tokens)");
}

TEST_CASE("Vocabulary: bad tokens and ids are errors naming them") {
  CHECK(error_of([] {
          Vocabulary({"a", "b", "a"});
        }) == "Vocabulary: token \"a\" (2 of 3) is given twice");
  CHECK(error_of([] {
          Vocabulary({"a", "</s>"});
        }) == "Vocabulary: token \"</s>\" (1 of 2) is a special token");
  CHECK(error_of([] { Vocabulary({"a", ""}); }) == "Vocabulary: token 1 of 2 is empty");
  const Vocabulary v({"a"});
  CHECK(error_of([&] { v.token(5); }) == "Vocabulary: id 5 is outside [0, 5)");
  CHECK(error_of([&] { v.decode({-1}); }) == "Vocabulary: id -1 is outside [0, 5)");
}

TEST_CASE("collate pads token sequences to the batch's longest and fills their lengths") {
  const std::vector<Example> examples = {
      {{5, 6}, {7, 2}}, {{5, 6, 7, 8}, {9, 2}}, {{9}, {4, 5, 2}}};
  const Batch b = collate(examples, TargetKind::Tokens);
  CHECK(b.size() == 3);
  CHECK(b.input.shape() == Shape{3, 4});
  CHECK(b.input.to_vector_i64() == std::vector<int64_t>{5, 6, 0, 0, 5, 6, 7, 8, 9, 0, 0, 0});
  CHECK(b.input_lengths.shape() == Shape{3});
  CHECK(b.input_lengths.to_vector_i64() == std::vector<int64_t>{2, 4, 1});
  CHECK(b.target.shape() == Shape{3, 3});
  CHECK(b.target.to_vector_i64() == std::vector<int64_t>{7, 2, 0, 9, 2, 0, 4, 5, 2});
  CHECK(b.target_lengths.to_vector_i64() == std::vector<int64_t>{2, 2, 3});
  // Another padding id (e.g. -100, PyTorch's ignore_index) fills both.
  CHECK(collate(examples, TargetKind::Tokens, -100).input.to_vector_i64()[2] == -100);
}

TEST_CASE("collate stacks class targets into [batch] and leaves their lengths undefined") {
  const Batch b = collate({{{5, 6, 7}, {1}}, {{8}, {0}}}, TargetKind::Class);
  CHECK(b.input.to_vector_i64() == std::vector<int64_t>{5, 6, 7, 8, 0, 0});
  CHECK(b.input_lengths.to_vector_i64() == std::vector<int64_t>{3, 1});
  CHECK(b.target.shape() == Shape{2});
  CHECK(b.target.to_vector_i64() == std::vector<int64_t>{1, 0});
  CHECK_FALSE(b.target_lengths.defined());
  CHECK_FALSE(b.target_padding_mask().defined());
}

TEST_CASE("collate: no examples, an empty sequence or a bad class target is an error") {
  CHECK(error_of([] { collate({}, TargetKind::Tokens); }) == "collate: no examples");
  CHECK(error_of([] {
          collate({{{4}, {2}}, {{}, {2}}}, TargetKind::Tokens);
        }) == "collate: example 1 of the batch has an empty input");
  CHECK(error_of([] {
          collate({{{4}, {}}}, TargetKind::Tokens);
        }) == "collate: example 0 of the batch has an empty target");
  CHECK(error_of([] {
          collate({{{4}, {1, 2}}}, TargetKind::Class);
        }) == "collate: example 0 of the batch has a class target of 2 ids, expected one");
}

TEST_CASE("padding masks from lengths: [batch, max_len], 1 at the padded steps") {
  const Tensor lengths = Tensor::from_vector_i64({2, 4, 1, 0}, {4});
  const Tensor mask = padding_mask(lengths, 4);
  CHECK(mask.dtype() == Dtype::Int64);
  CHECK(mask.shape() == Shape{4, 4});
  CHECK(mask.to_vector_i64() ==
        std::vector<int64_t>{0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1});
  CHECK_FALSE(padding_mask(Tensor(), 4).defined());
  CHECK(error_of([&] { padding_mask(lengths, 3); }) ==
        "padding_mask: lengths[1] = 4 is outside [0, 3]");
  CHECK(error_of([] {
          padding_mask(Tensor::zeros({2, 1}, Dtype::Int64), 3);
        }) == "padding_mask: lengths must be int64 [batch], got int64 [2, 1]");

  const Batch b = collate({{{5, 6}, {7, 8, 2}}, {{5, 6, 7}, {2}}}, TargetKind::Tokens);
  CHECK(b.input_padding_mask().to_vector_i64() == std::vector<int64_t>{0, 0, 1, 0, 0, 0});
  CHECK(b.target_padding_mask().to_vector_i64() == std::vector<int64_t>{0, 0, 0, 0, 1, 1});
}

TEST_CASE("a fixed-size batch has no lengths and no masks: every example is full") {
  const Batch b{Tensor::zeros({2, 28, 28}), Tensor::from_vector_i64({3, 1}, {2})};
  CHECK(b.size() == 2);
  CHECK_FALSE(b.input_lengths.defined());
  CHECK_FALSE(b.input_padding_mask().defined());
  CHECK_FALSE(b.target_padding_mask().defined());
}

TEST_CASE("ExampleDataset: get() collates its examples, length() is the longer sequence") {
  const SyntheticSequences data(50, 9, 1);
  CHECK(data.variable_length());
  const Batch b = data.get({7, 3});
  CHECK(indices_of(b) == std::vector<int64_t>{7, 3});
  const Example e7 = data.example(7), e3 = data.example(3);
  CHECK(b.input_lengths.to_vector_i64() ==
        std::vector<int64_t>{static_cast<int64_t>(e7.input.size()),
                             static_cast<int64_t>(e3.input.size())});
  CHECK(data.length(7) == static_cast<int64_t>(e7.target.size()));  // input + </s>
  CHECK(error_of([&] { data.get({50}); }) == "dataset: index 50 is outside [0, 50)");
}

TEST_CASE(
    "length bucketing wastes less padding than random batches, and serves every example "
    "once") {
  // Lengths uniform in [1, 40], batches of 16: a random batch is padded to nearly 40 (about half
  // of it padding), a bucketed one to its pool's nearby lengths.
  auto data = std::make_shared<SyntheticSequences>(2000, 40, 7);
  const Epoch random = one_epoch(data, 16, false, 3);
  const Epoch bucketed = one_epoch(data, 16, true, 3);
  MESSAGE("padding: random batches ", random.padding_fraction(), ", bucketed ",
          bucketed.padding_fraction());
  CHECK(random.padding_fraction() > 0.35);
  CHECK(bucketed.padding_fraction() < 0.15);
  CHECK(bucketed.padding_fraction() < random.padding_fraction() / 4);

  // 2000 = 125 batches of 16; every example exactly once.
  REQUIRE(bucketed.batches.size() == 125);
  std::vector<int64_t> served;
  for (const Batch& b : bucketed.batches) {
    CHECK(b.size() == 16);
    for (int64_t i : indices_of(b)) served.push_back(i);
  }
  std::sort(served.begin(), served.end());
  std::vector<int64_t> all(2000);
  for (int64_t i = 0; i < 2000; ++i) all[i] = i;
  CHECK(served == all);
}

TEST_CASE("length bucketing: the short batch stays last, and drop_last drops it") {
  auto data = std::make_shared<SyntheticSequences>(103, 30, 11);
  for (bool drop_last : {false, true}) {
    Loader loader(data, 10, true, drop_last, Bucketing{true, 3});
    Generator gen(5);
    loader.start_epoch(gen);
    const Epoch e = rest_of_epoch(loader);
    CHECK(static_cast<int64_t>(e.batches.size()) == loader.batches_per_epoch());
    CHECK(e.batches.size() == (drop_last ? 10u : 11u));
    std::set<int64_t> served;
    for (size_t i = 0; i < e.batches.size(); ++i) {
      CHECK(e.batches[i].size() == (i == 10 ? 3 : 10));
      for (int64_t j : indices_of(e.batches[i])) served.insert(j);
    }
    CHECK(served.size() == (drop_last ? 100u : 103u));
  }
}

TEST_CASE("length bucketing: the order follows the epoch key, and batches are shuffled") {
  auto data = std::make_shared<SyntheticSequences>(640, 40, 2);
  const Epoch a = one_epoch(data, 8, true, 21), b = one_epoch(data, 8, true, 21);
  const Epoch c = one_epoch(data, 8, true, 22);
  check_same(a.batches, b.batches);
  CHECK(indices_of(a.batches[0]) != indices_of(c.batches[0]));
  // Batches are not served shortest first: the longest of the first pool is not first.
  std::vector<int64_t> longest;
  for (const Batch& batch : a.batches) longest.push_back(batch.input.size(1));
  CHECK_FALSE(std::is_sorted(longest.begin(), longest.end()));
}

TEST_CASE("a bucketed loader restored mid-epoch serves the same remaining batches") {
  auto data = std::make_shared<SyntheticSequences>(500, 25, 4);
  Loader uninterrupted(data, 12, true, false, Bucketing{true, 5});
  Generator gen(9);
  uninterrupted.start_epoch(gen);
  for (int i = 0; i < 17; ++i) uninterrupted.next();
  const LoaderState saved = uninterrupted.state();
  CHECK(saved.position == 17 * 12);
  const Epoch rest = rest_of_epoch(uninterrupted);

  Loader resumed(data, 12, true, false, Bucketing{true, 5});
  resumed.restore(saved);
  const Epoch resumed_rest = rest_of_epoch(resumed);
  CHECK(rest.batches.size() == 42u - 17u);
  check_same(rest.batches, resumed_rest.batches);
}

TEST_CASE("length bucketing needs a variable-length dataset: loader and recipe errors") {
  class Fixed : public Dataset {
   public:
    int64_t size() const override { return 4; }
    Batch get(const std::vector<int64_t>&) const override { return {}; }
  };
  CHECK(error_of([] { Loader(std::make_shared<Fixed>(), 2, true, false, Bucketing{true}); }) ==
        "loader: bucketing by length needs a variable-length dataset, and this one's examples "
        "all have the same size");
  CHECK(error_of([] { Fixed().length(0); }) ==
        "dataset: examples of a fixed-size dataset have no length");

  const nlohmann::json data = {{"name", "fashion_mnist"}, {"bucket_by_length", true}};
  CHECK(error_of([&] { dataset_info(Config(data, "data")); }) ==
        "recipe: \"data.bucket_by_length\" is true, but dataset \"fashion_mnist\" has fixed-size "
        "examples: there is no length to bucket by");
  // build_dataset says so before reading any file (this path has none).
  nlohmann::json nowhere = data;
  nowhere["path"] = "/nonexistent";
  CHECK(error_of([&] { build_dataset(Config(nowhere, "data")); }) ==
        "recipe: \"data.bucket_by_length\" is true, but dataset \"fashion_mnist\" has fixed-size "
        "examples: there is no length to bucket by");
  const nlohmann::json off = {{"name", "fashion_mnist"}, {"bucket_by_length", false}};
  CHECK(dataset_info(Config(off, "data")).input_shape == Shape{28, 28});
  CHECK(dataset_info(Config(off, "data")).class_names.at(9) == "Ankle boot");
}

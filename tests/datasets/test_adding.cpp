// The adding problem (datasets/adding.h): two markers, one per half, the target their values'
// sum; fixed by seed, split and index; and its recipe section (features in, a value out).

#include <doctest/doctest.h>

#include "datasets/adding.h"
#include "framework/error.h"
#include "framework/registry.h"

using namespace heed;
using data::AddingProblem, data::SyntheticSplit;

TEST_CASE("adding: one marker in each half, the target the sum of their values") {
  const AddingProblem split(9, 2, SyntheticSplit::Train, 200);
  int64_t second_half_starts = 0;
  for (int64_t i = 0; i < 200; ++i) {
    const auto [x, y] = split.example(i);
    REQUIRE(x.size() == 18);
    std::vector<int64_t> marked;
    for (int64_t t = 0; t < 9; ++t) {
      CHECK((x[2 * t] >= 0.f && x[2 * t] < 1.f));
      CHECK((x[2 * t + 1] == 0.f || x[2 * t + 1] == 1.f));
      if (x[2 * t + 1] == 1.f) marked.push_back(t);
    }
    REQUIRE(marked.size() == 2);
    CHECK(marked[0] < 4);  // the first half is steps 0..3 of 9, the second 4..8
    CHECK(marked[1] >= 4);
    second_half_starts += marked[1] == 4;
    CHECK(y == x[2 * marked[0]] + x[2 * marked[1]]);
  }
  CHECK(second_half_starts > 0);  // drawn over the whole half
  CHECK(second_half_starts < 200);
}

TEST_CASE("adding: fixed by seed, split and index; a batch stacks the examples") {
  const AddingProblem a(6, 1, SyntheticSplit::Dev, 5), b(6, 1, SyntheticSplit::Dev, 5);
  const AddingProblem other(6, 1, SyntheticSplit::Test, 5);
  for (int64_t i = 0; i < 5; ++i) {
    CHECK(a.example(i) == b.example(i));
    CHECK(a.example(i) != other.example(i));
  }
  const Batch batch = a.get({3, 0});
  CHECK(batch.input.shape() == Shape{2, 6, 2});
  CHECK(batch.target.dtype() == Dtype::Float32);
  CHECK(batch.target.to_vector() == std::vector<float>{a.example(3).second, a.example(0).second});
  CHECK_THROWS_WITH_AS(AddingProblem(1, 1, SyntheticSplit::Train, 5),
                       "synthetic: adding's length = 1 leaves no step in one of its halves; it "
                       "must be at least 2",
                       Error);
}

TEST_CASE("adding: the recipe section serves features and real-valued targets") {
  const DataSplits s = build_dataset(
      Config(nlohmann::json{{"name", "synthetic"}, {"task", "adding"}, {"length", 30}, {"seed", 4}},
             "data"));
  CHECK(s.train->size() == 100000);
  CHECK(s.info.input_shape == Shape{30, 2});
  CHECK(s.info.input_kind == InputKind::Features);
  CHECK(s.info.target_kind == TargetKind::Value);
  CHECK(s.info.num_classes == 1);
  CHECK(s.dev->get({0}).input.to_vector() ==
        AddingProblem(30, 4, SyntheticSplit::Dev, 1).get({0}).input.to_vector());
}

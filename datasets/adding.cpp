#include "datasets/adding.h"

#include "framework/error.h"
#include "framework/random.h"

namespace heed::data {

AddingProblem::AddingProblem(int64_t length, uint64_t seed, SyntheticSplit split, int64_t size)
    : length_(length), seed_(seed), split_(split), size_(size) {
  synthetic_length({.task = "adding", .length = length});
  HEED_CHECK(size >= 0, "adding: a split of ", size, " examples");
}

std::pair<std::vector<float>, float> AddingProblem::example(int64_t index) const {
  HEED_CHECK(index >= 0 && index < size_, "adding: index ", index, " out of range [0, ", size_,
             ")");
  Generator gen(synthetic_example_seed(seed_, split_, index));
  std::vector<float> input(2 * length_, 0.f);
  for (int64_t t = 0; t < length_; ++t) input[2 * t] = gen.uniform();
  const int64_t half = length_ / 2;
  const auto first = static_cast<int64_t>(gen.below(static_cast<uint64_t>(half)));
  const auto second = half + static_cast<int64_t>(gen.below(static_cast<uint64_t>(length_ - half)));
  input[2 * first + 1] = input[2 * second + 1] = 1.f;
  return {input, input[2 * first] + input[2 * second]};
}

Batch AddingProblem::get(const std::vector<int64_t>& indices) const {
  const auto n = static_cast<int64_t>(indices.size());
  std::vector<float> input, target;
  input.reserve(n * 2 * length_);
  for (int64_t i : indices) {
    auto [x, y] = example(i);
    input.insert(input.end(), x.begin(), x.end());
    target.push_back(y);
  }
  return {Tensor::from_vector(input, {n, length_, 2}), Tensor::from_vector(target, {n})};
}

}  // namespace heed::data

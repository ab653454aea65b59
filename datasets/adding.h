#pragma once
// The adding problem (Hochreiter & Schmidhuber 1997, "Long Short-Term Memory", sec. 5.4; in the
// form of Le, Jaitly & Hinton 2015, sec. 4.1, and Arjovsky, Shah & Bengio 2016, sec. 4.2): a
// regression over `length` steps of two features, a value drawn uniformly from [0, 1) and a
// marker, 1 at exactly two steps (one in the first half, one in the second) and 0 elsewhere; the
// target is the sum of the two marked values. Predicting 1 whatever the input scores a mean
// squared error of 1/6 (the variance of a sum of two uniforms), the baseline a model must beat.
//
//   AddingProblem train(200, 1, SyntheticSplit::Train, 100000);
//   Batch b = train.get({0});  // input float32 [1, 200, 2], target float32 [1]
//
// Example i of a split is drawn by a Generator seeded from (seed, split, i), as the token test
// beds are (datasets/synthetic.h).

#include <cstdint>
#include <vector>

#include "datasets/synthetic.h"
#include "framework/data.h"

namespace heed::data {

class AddingProblem : public Dataset {
 public:
  /// Throws heed::Error unless length >= 2 (synthetic_length) and size >= 0.
  AddingProblem(int64_t length, uint64_t seed, SyntheticSplit split, int64_t size);
  int64_t size() const override { return size_; }
  Batch get(const std::vector<int64_t>& indices) const override;
  /// Example `index`: the input [length, 2] row-major, and the target.
  std::pair<std::vector<float>, float> example(int64_t index) const;

 private:
  int64_t length_;
  uint64_t seed_;
  SyntheticSplit split_;
  int64_t size_;
};

}  // namespace heed::data

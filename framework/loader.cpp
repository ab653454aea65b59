#include "framework/loader.h"

#include <algorithm>
#include <numeric>

#include "framework/random.h"

namespace heed {

Loader::Loader(std::shared_ptr<Dataset> dataset, int64_t batch_size, bool shuffle, bool drop_last,
               Bucketing bucketing)
    : dataset_(std::move(dataset)),
      batch_size_(batch_size),
      shuffle_(shuffle),
      drop_last_(drop_last),
      bucketing_(bucketing) {
  HEED_CHECK(batch_size > 0, "loader: batch_size must be positive, got ", batch_size);
  HEED_CHECK(dataset_->size() > 0, "loader: the dataset is empty");
  if (bucketing_.by_length) {
    HEED_CHECK(dataset_->variable_length(),
               "loader: bucketing by length needs a variable-length dataset, and this one's "
               "examples all have the same size");
    HEED_CHECK(bucketing_.pool_batches > 0,
               "loader: bucketing's pool_batches must be positive, got ", bucketing_.pool_batches);
    lengths_.resize(dataset_->size());
    for (int64_t i = 0; i < dataset_->size(); ++i) lengths_[i] = dataset_->length(i);
  }
  build_order();
}

void Loader::build_order() {
  order_.resize(dataset_->size());
  std::iota(order_.begin(), order_.end(), 0);
  if (!shuffle_ && !bucketing_.by_length) return;
  Generator gen(state_.epoch_key);
  if (shuffle_)
    for (int64_t i = static_cast<int64_t>(order_.size()) - 1; i > 0; --i)
      std::swap(order_[i], order_[gen.below(static_cast<uint64_t>(i) + 1)]);
  if (bucketing_.by_length) bucket_order(gen);
}

// Sorts each pool of the order by length, then shuffles the full batches (with `gen`, which
// continues the key's draws, so the order is still derived from the key alone).
void Loader::bucket_order(Generator& gen) {
  const int64_t n = static_cast<int64_t>(order_.size());
  const int64_t batches_in_epoch = (n + batch_size_ - 1) / batch_size_;
  const int64_t pool =
      bucketing_.pool_batches >= batches_in_epoch ? n : batch_size_ * bucketing_.pool_batches;
  for (int64_t begin = 0; begin < n; begin += pool)
    std::stable_sort(order_.begin() + begin, order_.begin() + std::min(begin + pool, n),
                     [&](int64_t a, int64_t b) { return lengths_[a] < lengths_[b]; });
  if (!shuffle_) return;
  const int64_t full = n / batch_size_;  // the short last batch, if any, stays last
  std::vector<int64_t> batches(full);
  std::iota(batches.begin(), batches.end(), 0);
  for (int64_t i = full - 1; i > 0; --i)
    std::swap(batches[i], batches[gen.below(static_cast<uint64_t>(i) + 1)]);
  std::vector<int64_t> order;
  order.reserve(n);
  for (int64_t b : batches)
    order.insert(order.end(), order_.begin() + b * batch_size_,
                 order_.begin() + (b + 1) * batch_size_);
  order.insert(order.end(), order_.begin() + full * batch_size_, order_.end());
  order_ = std::move(order);
}

void Loader::start_epoch(Generator& gen) {
  state_ = {shuffle_ ? gen.next_u64() : 0, 0};
  build_order();
}

bool Loader::epoch_done() const {
  const int64_t left = dataset_->size() - state_.position;
  return left <= 0 || (drop_last_ && left < batch_size_);
}

std::vector<int64_t> Loader::next_indices() {
  HEED_CHECK(!epoch_done(), "loader: next() called after the end of the epoch");
  const int64_t end = std::min<int64_t>(state_.position + batch_size_, dataset_->size());
  std::vector<int64_t> indices(order_.begin() + state_.position, order_.begin() + end);
  state_.position = end;
  return indices;
}

Batch Loader::next() {
  return dataset_->get(next_indices());
}

int64_t Loader::batches_per_epoch() const {
  const int64_t n = dataset_->size();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

void Loader::restore(const LoaderState& state) {
  HEED_CHECK(state.position >= 0 && state.position <= dataset_->size(), "loader: saved position ",
             state.position, " is outside a dataset of ", dataset_->size(), " examples");
  state_ = state;
  build_order();
}

}  // namespace heed

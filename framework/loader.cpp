#include "framework/loader.h"

#include <numeric>

#include "framework/random.h"

namespace heed {

Loader::Loader(std::shared_ptr<Dataset> dataset, int64_t batch_size, bool shuffle, bool drop_last)
    : dataset_(std::move(dataset)),
      batch_size_(batch_size),
      shuffle_(shuffle),
      drop_last_(drop_last) {
  HEED_CHECK(batch_size > 0, "loader: batch_size must be positive, got ", batch_size);
  HEED_CHECK(dataset_->size() > 0, "loader: the dataset is empty");
  build_order();
}

void Loader::build_order() {
  order_.resize(dataset_->size());
  std::iota(order_.begin(), order_.end(), 0);
  if (!shuffle_) return;
  Generator gen(state_.epoch_key);
  for (int64_t i = static_cast<int64_t>(order_.size()) - 1; i > 0; --i)
    std::swap(order_[i], order_[gen.below(static_cast<uint64_t>(i) + 1)]);
}

void Loader::start_epoch(Generator& gen) {
  state_ = {shuffle_ ? gen.next_u64() : 0, 0};
  build_order();
}

bool Loader::epoch_done() const {
  const int64_t left = dataset_->size() - state_.position;
  return left <= 0 || (drop_last_ && left < batch_size_);
}

Batch Loader::next() {
  HEED_CHECK(!epoch_done(), "loader: next() called after the end of the epoch");
  const int64_t end = std::min<int64_t>(state_.position + batch_size_, dataset_->size());
  std::vector<int64_t> indices(order_.begin() + state_.position, order_.begin() + end);
  state_.position = end;
  return dataset_->get(indices);
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

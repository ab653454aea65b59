#include "framework/data_parallel.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "framework/autograd.h"
#include "framework/error.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "framework/score_function.h"

namespace heed {

namespace {

// The tensors whose values every rank must share: parameters, and the float buffers (running
// statistics, baselines) that each rank's parts moved on their own.
void broadcast_floats(const Communicator& comm, const StateDict& tensors) {
  for (const auto& [name, t] : tensors) {
    if (t.dtype() != Dtype::Float32) continue;
    HEED_CHECK(t.is_contiguous(), "data parallel: ", name, " is not contiguous");
    comm.broadcast(t.data(), t.numel());
  }
}

}  // namespace

DataParallel::DataParallel(const Communicator& comm, int64_t micro_batches, bool deterministic,
                           Model& model, Generator& gen, const StateDict& params)
    : comm_(comm),
      k_parts_(micro_batches),
      deterministic_(deterministic),
      model_(model),
      gen_(gen),
      params_(params) {
  HEED_CHECK(micro_batches >= 1 && micro_batches % comm.size() == 0, "train.micro_batches is ",
             micro_batches, ", which ", comm.size(),
             " ranks cannot share equally: give a multiple of ", comm.size());
  plan();
}

std::pair<int64_t, int64_t> DataParallel::part(int64_t n, int64_t k_parts, int64_t k) {
  const int64_t base = n / k_parts, extra = n % k_parts;
  const int64_t first = k * base + std::min(k, extra);
  return {first, first + base + (k < extra ? 1 : 0)};
}

void DataParallel::broadcast_state() const {
  if (comm_.size() == 1) return;
  broadcast_floats(comm_, model_.named_parameters());
  broadcast_floats(comm_, model_.named_buffers());
}

// The offsets of the parameters in the flat gradient, and the buckets of the overlapped reduction:
// consecutive parameters from the last to the first (the backward pass finishes the last layers'
// gradients first), each bucket about kBucketFloats long.
void DataParallel::plan() {
  const StateDict& params = params_;
  int64_t at = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    offsets_.push_back(at);
    index_[params[i].second.impl_ptr().get()] = i;
    at += params[i].second.numel();
  }
  offsets_.push_back(at);
  bucket_of_.assign(params.size(), 0);
  for (size_t end = params.size(); end > 0;) {
    Bucket b{end, end, 0};
    while (b.first > 0 &&
           (b.first == end || offsets_[end] - offsets_[b.first - 1] <= kBucketFloats))
      --b.first;
    for (size_t i = b.first; i < b.last; ++i) bucket_of_[i] = buckets_.size();
    buckets_.push_back(b);
    end = b.first;
  }
}

void DataParallel::fold(size_t i, std::vector<float>& into, bool add) {
  const Tensor& p = params_[i].second;
  const int64_t n = p.numel();
  float* out = into.data() + offsets_[i];
  if (const Tensor g = p.grad(); g.defined()) {
    const Tensor c = g.contiguous();
    const float* in = c.data();
    if (add)
      for (int64_t j = 0; j < n; ++j) out[j] += in[j];
    else
      std::memcpy(out, in, static_cast<size_t>(n) * sizeof(float));
  } else if (!add) {
    std::fill(out, out + n, 0.f);
  }
  p.set_grad(Tensor());
}

// Parameter i's gradient is final: into the sum, and every bucket now complete, in bucket order
// (all ranks must start the same reductions in the same order), starts its reduction.
void DataParallel::ready(size_t i) {
  if (folded_[i]) return;
  folded_[i] = true;
  fold(i, sum_, true);
  --buckets_[bucket_of_[i]].waiting;
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].waiting == 0) {
    const Bucket& b = buckets_[next_bucket_++];
    queue_->sum(sum_.data() + offsets_[b.first], offsets_[b.last] - offsets_[b.first]);
  }
  queue_->progress();
}

// Every parameter not yet folded (no gradient reached it, or no backward ran) is, now.
void DataParallel::finish_buckets() {
  for (size_t i = params_.size(); i > 0; --i) ready(i - 1);
  queue_->wait();
}

void DataParallel::chain_reduce(size_t local_parts) {
  const int n_ranks = comm_.size(), rank = comm_.rank();
  const int64_t n = static_cast<int64_t>(sum_.size());
  if (rank == 0)
    sum_ = parts_[0];
  else
    comm_.receive(sum_.data(), n, rank - 1);
  for (size_t s = rank == 0 ? 1 : 0; s < local_parts; ++s)
    for (int64_t i = 0; i < n; ++i)
      sum_[static_cast<size_t>(i)] += parts_[s][static_cast<size_t>(i)];
  if (rank + 1 < n_ranks) comm_.send(sum_.data(), n, rank + 1);
  comm_.broadcast(sum_.data(), n, n_ranks - 1);
}

DataParallel::Local DataParallel::compute_parts(const Dataset& data,
                                                const std::vector<int64_t>& indices,
                                                int64_t step_number) {
  const int64_t per_rank = k_parts_ / comm_.size(), first_part = comm_.rank() * per_rank;
  const bool overlap = comm_.size() > 1 && !deterministic_;
  Local local;
  // The parts' streams hang off the run's generator and the step; it is put back as it was.
  const auto before = gen_.state();
  uint64_t key = mix64(static_cast<uint64_t>(step_number));
  for (const uint64_t word : before) key = mix64(key ^ word);
  for (int64_t s = 0; s < per_rank && local.finite; ++s) {
    const auto [first, last] = part(static_cast<int64_t>(indices.size()), k_parts_, first_part + s);
    if (first == last) continue;  // a last batch smaller than K leaves parts empty
    gen_.manual_seed(mix64(key + static_cast<uint64_t>(first_part + s)));
    ScoreFunction sampled;
    ModelOutput out = model_.forward(
        data.get(std::vector<int64_t>(indices.begin() + first, indices.begin() + last)));
    const double loss = out.loss.item();
    local.count += out.loss_count;
    local.loss_sum += loss * out.loss_count;  // a non-finite loss makes the total say which
    local.finite = std::isfinite(loss);
    if (!local.finite) break;
    add_metrics(local.metrics, out.metrics);
    if (!sampled.empty()) out.loss = out.loss + sampled.surrogate(out.example_log_likelihood);
    // The part's sum, not its mean: parts of unequal counts then weigh as in one batch.
    const Tensor seed = Tensor::full(out.loss.shape(), static_cast<float>(out.loss_count));
    if (overlap && s + 1 == per_rank) {
      // The last part: each bucket's reduction starts as soon as its gradients are final.
      GradReadyHook hook([&](const Tensor& leaf) {
        if (const auto found = index_.find(leaf.impl_ptr().get()); found != index_.end())
          ready(found->second);
      });
      out.loss.backward(seed);
    } else {
      out.loss.backward(seed);
      for (size_t i = 0; i < params_.size(); ++i)
        fold(i, deterministic_ && comm_.size() > 1 ? parts_[static_cast<size_t>(s)] : sum_,
             !(deterministic_ && comm_.size() > 1) && s > 0);
    }
  }
  gen_.set_state(before);
  return local;
}

// The ranks' totals, stop requests and clocks, in one all-gather.
ParallelStep DataParallel::agree(const Local& local, bool stop, int64_t elapsed_ms) const {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, m] : local.metrics) metrics[name] = {m.sum, m.count};
  const nlohmann::json mine = {{"count", local.count}, {"loss", local.loss_sum},
                               {"metrics", metrics},   {"finite", local.finite},
                               {"stop", stop},         {"elapsed_ms", elapsed_ms}};
  ParallelStep result;
  for (const std::string& text : comm_.allgather(mine.dump())) {
    const nlohmann::json r = nlohmann::json::parse(text);
    result.count += r.at("count").get<double>();
    result.loss += r.at("loss").get<double>();
    result.finite = result.finite && r.at("finite").get<bool>();
    result.stop = result.stop || r.at("stop").get<bool>();
    result.elapsed_ms = std::max(result.elapsed_ms, r.at("elapsed_ms").get<int64_t>());
    std::map<std::string, Metric> theirs;  // with this rank's finish, which JSON cannot carry
    for (const auto& [name, v] : r.at("metrics").items()) {
      const auto own = local.metrics.find(name);
      theirs[name] = {v.at(0).get<double>(), v.at(1).get<double>(),
                      own == local.metrics.end() ? nullptr : own->second.finish};
    }
    add_metrics(result.metrics, theirs);
  }
  result.loss = result.count > 0 ? result.loss / result.count : 0;
  return result;
}

ParallelStep DataParallel::step(const Dataset& data, const std::vector<int64_t>& indices,
                                int64_t step_number, bool stop, int64_t elapsed_ms) {
  const StateDict& params = params_;
  const int64_t per_rank = k_parts_ / comm_.size();
  sum_.assign(static_cast<size_t>(offsets_.back()), 0.f);
  const bool overlap = comm_.size() > 1 && !deterministic_;
  if (deterministic_ && comm_.size() > 1)
    parts_.assign(static_cast<size_t>(per_rank), std::vector<float>(sum_.size(), 0.f));
  if (overlap) {
    folded_.assign(params.size(), false);
    for (Bucket& b : buckets_) b.waiting = b.last - b.first;
    next_bucket_ = 0;
    queue_ = std::make_unique<ReductionQueue>(comm_);
  }
  const Local local = compute_parts(data, indices, step_number);
  const auto waiting = std::chrono::steady_clock::now();
  // Every rank starts every bucket's reduction, whatever its parts held, before they agree.
  if (overlap) finish_buckets();
  ParallelStep result = agree(local, stop, elapsed_ms);
  if (!result.finite) {
    for (const auto& [name, p] : params) p.set_grad(Tensor());
    return result;
  }
  if (deterministic_ && comm_.size() > 1) chain_reduce(static_cast<size_t>(per_rank));
  result.communication_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - waiting).count();
  const float scale = static_cast<float>(result.count > 0 ? result.count : 1);
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i].second;
    std::vector<float> g(sum_.begin() + offsets_[i], sum_.begin() + offsets_[i + 1]);
    for (float& x : g) x /= scale;
    p.set_grad(Tensor::from_vector(g, p.shape()));
  }
  const auto buffers = std::chrono::steady_clock::now();
  broadcast_floats(comm_, model_.named_buffers());
  result.communication_s +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - buffers).count();
  return result;
}

}  // namespace heed

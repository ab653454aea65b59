#include "framework/data_parallel.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "framework/autograd.h"
#include "framework/error.h"
#include "framework/ops.h"
#include "framework/ops/sync_batch_norm.h"
#include "framework/random.h"
#include "framework/score_function.h"
#include "framework/watchdog.h"

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

// Rows [first, last) (dimension 1) of every tensor of a carried state; empty stays empty (the
// parts start from zeros).
StateDict rows_of(const StateDict& state, int64_t first, int64_t last) {
  StateDict rows;
  for (const auto& [name, t] : state)
    rows.emplace_back(name, ops::narrow(t, 1, first, last - first).contiguous());
  return rows;
}

}  // namespace

DataParallel::DataParallel(const Communicator& comm, int64_t micro_batches, bool deterministic,
                           bool sync_batch_norm, Model& model, Generator& gen,
                           const StateDict& params)
    : comm_(comm),
      k_parts_(micro_batches),
      deterministic_(deterministic),
      sync_batch_norm_(sync_batch_norm),
      model_(model),
      gen_(gen),
      params_(params) {
  // HEED_TEST_STALL=RANK:STEP, a test hook: that rank gets stuck before that step's parts, so
  // that the watchdog's stall check can be tested (tests/framework/test_distributed.cpp).
  if (const char* v = std::getenv("HEED_TEST_STALL"))
    std::sscanf(v, "%d:%" SCNd64, &stall_.first, &stall_.second);
  HEED_CHECK(micro_batches >= 1 && micro_batches % comm.size() == 0, "train.micro_batches is ",
             micro_batches, ", which ", comm.size(),
             " ranks cannot share equally: give a multiple of ", comm.size());
  HEED_CHECK(!sync_batch_norm || micro_batches == comm.size(),
             "synchronized batch norm needs one micro-batch per rank (", comm.size(), "), got ",
             micro_batches,
             ": parts computed one after the other cannot share their "
             "statistics");
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
  if (comm_.rank() == stall_.first && step_number == stall_.second)
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));  // a test's stuck rank
  // Synchronized batch norm calls every rank's collectives in each part's forward and backward:
  // every rank computes one part, and a last batch smaller than the ranks (which every rank sees
  // alike) leaves some empty, so that one falls back to each part's own statistics.
  const bool sync =
      sync_batch_norm_ && comm_.size() > 1 && static_cast<int64_t>(indices.size()) >= k_parts_;
  std::optional<ops::SyncBatchNorm> scope;
  if (sync) scope.emplace(comm_);
  const StateDict carried = carrier_ ? carrier_->carried_state() : StateDict();  // every row's
  for (int64_t s = 0; s < per_rank && local.finite; ++s) {
    const auto [first, last] = part(static_cast<int64_t>(indices.size()), k_parts_, first_part + s);
    if (first == last) continue;  // a last batch smaller than K leaves parts empty
    gen_.manual_seed(mix64(key + static_cast<uint64_t>(first_part + s)));
    if (carrier_) carrier_->set_carried_state(rows_of(carried, first, last), last - first);
    ScoreFunction sampled;
    ModelOutput out = model_.forward(
        data.get(std::vector<int64_t>(indices.begin() + first, indices.begin() + last)));
    if (carrier_) local.carried.push_back(carrier_->carried_state());
    const double loss = out.loss.item();
    local.count += out.loss_count;
    local.loss_sum += loss * out.loss_count;  // a non-finite loss makes the total say which
    local.finite = std::isfinite(loss);
    // The others' backward passes wait for this one's batch norms: it runs all the same, and
    // the step, not finite, sets no gradient.
    if (!local.finite && !sync) break;
    if (local.finite) add_metrics(local.metrics, out.metrics);
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

// The state every rank carries into the next batch: this rank's parts' rows (in part order,
// consecutive rows) joined with the other ranks', in rank order.
StateDict DataParallel::gather_carried(const std::vector<StateDict>& parts, int64_t rows) const {
  StateDict mine;
  for (size_t t = 0; t < parts.front().size(); ++t) {
    std::vector<Tensor> slabs;
    for (const StateDict& p : parts) slabs.push_back(p[t].second);
    mine.emplace_back(parts.front()[t].first, ops::concat(slabs, 1));
  }
  if (comm_.size() == 1) return mine;
  std::string bytes;
  for (const auto& [name, t] : mine) {
    const Tensor c = t.contiguous();
    bytes.append(reinterpret_cast<const char*>(c.data()),
                 static_cast<size_t>(c.numel()) * sizeof(float));
  }
  const std::vector<std::string> all = comm_.allgather(bytes);
  const int64_t per_rank = k_parts_ / comm_.size();
  std::vector<std::vector<Tensor>> slabs(mine.size());  // [tensor][rank]
  for (int r = 0; r < comm_.size(); ++r) {
    const int64_t first = part(rows, k_parts_, r * per_rank).first,
                  last = part(rows, k_parts_, (r + 1) * per_rank - 1).second;
    size_t at = 0;
    for (size_t t = 0; t < mine.size(); ++t) {
      Shape shape = mine[t].second.shape();
      shape[1] = last - first;
      std::vector<float> values(static_cast<size_t>(numel_of(shape)));
      HEED_CHECK(at + values.size() * sizeof(float) <= all[static_cast<size_t>(r)].size(),
                 "carried state: rank ", r, " sent fewer rows than its parts hold");
      std::memcpy(values.data(), all[static_cast<size_t>(r)].data() + at,
                  values.size() * sizeof(float));
      at += values.size() * sizeof(float);
      slabs[t].push_back(Tensor::from_vector(values, shape));
    }
  }
  StateDict whole;
  for (size_t t = 0; t < mine.size(); ++t)
    whole.emplace_back(mine[t].first, ops::concat(slabs[t], 1));
  return whole;
}

// The ranks' totals, stop requests and clocks, in one all-gather.
ParallelStep DataParallel::agree(const Local& local, bool stop, int64_t elapsed_ms) const {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, m] : local.metrics) metrics[name] = {m.sum, m.count};
  const nlohmann::json mine = {{"count", local.count}, {"loss", local.loss_sum},
                               {"metrics", metrics},   {"finite", local.finite},
                               {"stop", stop},         {"elapsed_ms", elapsed_ms},
                               {"waited_s", waited_s_}};
  ParallelStep result;
  for (const std::string& text : comm_.allgather(mine.dump())) {
    const nlohmann::json r = nlohmann::json::parse(text);
    result.count += r.at("count").get<double>();
    result.loss += r.at("loss").get<double>();
    result.finite = result.finite && r.at("finite").get<bool>();
    result.stop = result.stop || r.at("stop").get<bool>();
    result.elapsed_ms = std::max(result.elapsed_ms, r.at("elapsed_ms").get<int64_t>());
    result.waited_s_by_rank.push_back(r.at("waited_s").get<double>());
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
  const StepWait on_the_others;  // the watchdog's stall clock runs from here
  const auto waiting = std::chrono::steady_clock::now();
  // Every rank starts every bucket's reduction, whatever its parts held, before they agree.
  if (overlap) finish_buckets();
  ParallelStep result = agree(local, stop, elapsed_ms);
  if (!result.finite) {
    for (const auto& [name, p] : params) p.set_grad(Tensor());
    return result;
  }
  if (deterministic_ && comm_.size() > 1) chain_reduce(static_cast<size_t>(per_rank));
  if (carrier_)
    carrier_->set_carried_state(gather_carried(local.carried, static_cast<int64_t>(indices.size())),
                                static_cast<int64_t>(indices.size()));
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
  waited_s_ += result.communication_s;
  return result;
}

}  // namespace heed

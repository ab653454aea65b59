#include "framework/attention_statistics.h"

#include <algorithm>
#include <cmath>

#include "framework/error.h"

namespace heed {

namespace {

// Entropy (nats) of `row` / its sum, its largest weight; sum 0 when every key was masked.
struct RowSummary {
  double sum = 0, entropy = 0, max_weight = 0;
};

RowSummary summarize_row(const float* row, int64_t keys) {
  RowSummary s;
  for (int64_t k = 0; k < keys; ++k) {
    s.sum += row[k];
    s.max_weight = std::max(s.max_weight, static_cast<double>(row[k]));
  }
  if (s.sum <= 0) return s;
  for (int64_t k = 0; k < keys; ++k) {
    const double p = row[k] / s.sum;
    if (p > 0) s.entropy -= p * std::log(p);
  }
  return s;
}

}  // namespace

bool attends_from_target(const std::string& layer) {
  return layer == "attention" || layer.starts_with("decoder.");
}

void AttentionStatistics::add(const std::string& name, const Tensor& weights,
                              const Tensor& query_lengths) {
  HEED_CHECK(weights.dim() >= 3, "attention statistics: ", name, "'s weights ", weights.shape(),
             " are not [batch, (heads,) query, key]");
  const int64_t batch = weights.size(0), keys = weights.size(-1), queries = weights.size(-2);
  const int64_t heads = weights.numel() / std::max<int64_t>(1, batch * queries * keys);
  HEED_CHECK(
      !query_lengths.defined() || (query_lengths.dim() == 1 && query_lengths.size(0) == batch),
      "attention statistics: ", name, "'s query lengths ", query_lengths.shape(), " are not [",
      batch, "]");
  const Tensor w = weights.contiguous();
  const float* data = w.data();
  const int64_t* lengths = query_lengths.defined() ? query_lengths.data_i64() : nullptr;
  double entropy = 0, max_weight = 0;
  int64_t rows = 0;
  // A causal language model's evaluation passes [batch, heads, 128, 128] per layer: a log per
  // weight, worth both cores.
#pragma omp parallel for collapse(2) reduction(+ : entropy, max_weight, rows) schedule(static)
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t real = lengths ? std::min(lengths[b], queries) : queries;
      for (int64_t q = 0; q < real; ++q) {
        const RowSummary s = summarize_row(data + ((b * heads + h) * queries + q) * keys, keys);
        if (s.sum <= 0) continue;
        entropy += s.entropy;
        max_weight += s.max_weight;
        ++rows;
      }
    }
  Sums& total = sums_[name];
  total.entropy += entropy;
  total.max_weight += max_weight;
  total.rows += rows;
}

nlohmann::json AttentionStatistics::sums() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, s] : sums_) out[name] = {s.entropy, s.max_weight, s.rows};
  return out;
}

void AttentionStatistics::add_sums(const nlohmann::json& sums) {
  for (const auto& [name, v] : sums.items()) {
    Sums& total = sums_[name];
    total.entropy += v.at(0).get<double>();
    total.max_weight += v.at(1).get<double>();
    total.rows += v.at(2).get<int64_t>();
  }
}

nlohmann::json AttentionStatistics::result() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, s] : sums_) {
    if (s.rows == 0) continue;
    out[name] = {
        {"entropy", s.entropy / s.rows}, {"max_weight", s.max_weight / s.rows}, {"rows", s.rows}};
  }
  return out;
}

}  // namespace heed

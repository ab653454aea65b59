#include "framework/error_rates.h"

#include <algorithm>
#include <numeric>

#include "framework/error.h"

namespace heed {

int64_t edit_distance(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  // One row of the dynamic programme at a time: row[j] = distance(a[0, i), b[0, j)).
  std::vector<int64_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    int64_t diagonal = row[0];
    row[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int64_t substitute = diagonal + (a[i - 1] != b[j - 1]);
      diagonal = row[j];
      row[j] = std::min({substitute, row[j] + 1, row[j - 1] + 1});
    }
  }
  return row.back();
}

void ErrorRates::add(const std::vector<int64_t>& output,
                     const std::vector<std::vector<int64_t>>& references) {
  HEED_CHECK(!references.empty(), "error rates: an output needs at least one reference");
  int64_t best = -1;
  size_t length = 0;
  for (const std::vector<int64_t>& r : references) {
    const int64_t d = edit_distance(output, r);
    if (best < 0 || d < best || (d == best && r.size() > length)) {
      best = d;
      length = r.size();
    }
  }
  per.sum += static_cast<double>(best);
  per.count += static_cast<double>(length);
  wer.sum += best > 0;
  wer.count += 1;
}

namespace {

// The rows of a collated batch's token targets, each up to its length, less a final </s>.
std::vector<std::vector<int64_t>> target_rows(const Batch& batch) {
  HEED_CHECK(batch.target.dim() == 2, "error rates: needs token targets [batch, target_len], got ",
             batch.target.shape());
  const int64_t rows = batch.target.size(0), width = batch.target.size(1);
  const std::vector<int64_t> ids = batch.target.to_vector_i64();
  const std::vector<int64_t> lengths = batch.target_lengths.defined()
                                           ? batch.target_lengths.to_vector_i64()
                                           : std::vector<int64_t>(rows, width);
  std::vector<std::vector<int64_t>> out(rows);
  for (int64_t b = 0; b < rows; ++b) {
    out[b].assign(ids.begin() + b * width, ids.begin() + b * width + lengths[b]);
    if (!out[b].empty() && out[b].back() == Vocabulary::kEos) out[b].pop_back();
  }
  return out;
}

}  // namespace

ErrorRates decoded_error_rates(const SequenceTransducer& model, const Dataset& data,
                               const SearchOptions& options, int64_t batch_size, int64_t shard,
                               int64_t shards) {
  const auto* groups = dynamic_cast<const ReferenceGroups*>(&data);
  const int64_t n = groups ? groups->num_groups() : data.size();
  auto group = [&](int64_t g) {
    return groups ? groups->group(g) : std::pair<int64_t, int64_t>{g, 1};
  };
  ErrorRates rates;
  for (int64_t begin = shard * batch_size; begin < n; begin += shards * batch_size) {
    const int64_t end = std::min(n, begin + batch_size);
    std::vector<int64_t> firsts, all;
    for (int64_t g = begin; g < end; ++g) {
      const auto [first, count] = group(g);
      firsts.push_back(first);
      for (int64_t i = first; i < first + count; ++i) all.push_back(i);
    }
    const std::vector<Hypothesis> outputs = model.decode(data.get(firsts), options);
    const std::vector<std::vector<int64_t>> targets = target_rows(data.get(all));
    auto next = targets.begin();
    for (int64_t g = begin; g < end; ++g) {
      const auto count = static_cast<ptrdiff_t>(group(g).second);
      rates.add(outputs[g - begin].tokens, {next, next + count});
      next += count;
    }
  }
  return rates;
}

}  // namespace heed

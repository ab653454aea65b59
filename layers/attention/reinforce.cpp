#include "layers/attention/reinforce.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include "framework/autograd.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "framework/score_function.h"

namespace heed::nn {

namespace {

// One key per row of p [rows, keys]: drawn from the row (gen) or its argmax (no gen); -1 for a
// row without weight (every key masked).
std::vector<int64_t> choose(const std::vector<float>& p, int64_t keys, Generator* gen) {
  const auto rows = static_cast<int64_t>(p.size()) / keys;
  std::vector<int64_t> chosen(rows, -1);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = p.data() + r * keys;
    double total = 0;
    for (int64_t j = 0; j < keys; ++j) total += row[j];
    if (total <= 0) continue;
    if (gen == nullptr) {
      chosen[r] = std::max_element(row, row + keys) - row;
      continue;
    }
    const double u = gen->uniform() * total;
    double cumulative = 0;
    chosen[r] = keys - 1;  // u may reach the total by rounding
    for (int64_t j = 0; j < keys; ++j) {
      cumulative += row[j];
      if (u < cumulative && row[j] > 0) {
        chosen[r] = j;
        break;
      }
    }
    while (row[chosen[r]] <= 0) --chosen[r];  // never a masked key
  }
  return chosen;
}

}  // namespace

ReinforceAttention::ReinforceAttention(const Options& options, const HeadShape& shape)
    : AttentionMechanism(shape),
      options(options),
      baseline(add_buffer("reinforce_baseline", Tensor::zeros({1}))) {
  HEED_CHECK(options.decay >= 0.f && options.decay < 1.f,
             "attention \"reinforce\": decay must be in [0, 1), got ", options.decay);
}

AttentionFactory ReinforceAttention::from_config(const Config& c) {
  Options o;
  o.baseline = c.get<bool>("baseline", o.baseline);
  o.decay = c.get<float>("decay", o.decay, Range::below(0, 1));
  return [o](const HeadShape& s) { return std::make_unique<ReinforceAttention>(o, s); };
}

Tensor ReinforceAttention::normalize(const Tensor& scores, const AttentionCall& call) const {
  const bool sample = call.training && ScoreFunction::collecting();
  const int64_t keys = scores.size(-1);
  std::vector<int64_t> chosen;
  {
    NoGradGuard no_grad;
    chosen = choose(ops::softmax(scores, -1).to_vector(), keys, sample ? call.gen : nullptr);
  }
  Tensor one_hot = Tensor::zeros(scores.shape());
  for (size_t r = 0; r < chosen.size(); ++r)
    if (chosen[r] >= 0) one_hot.data()[static_cast<int64_t>(r) * keys + chosen[r]] = 1.f;
  if (sample) {
    // log p(s) with its gradient: every other key's log-probability masked out, then summed over
    // the heads, queries and keys of each example.
    const Tensor log_p = ops::masked_fill(ops::log_softmax(scores, -1), 1.f - one_hot, 0.f);
    ScoreFunction::add(ops::sum(log_p.reshape({scores.size(0), -1}), {1}),
                       options.baseline ? baseline : Tensor(), options.decay);
  }
  return one_hot;
}

std::string ReinforceAttention::options_repr() const {
  std::ostringstream out;
  out << ", baseline=" << (options.baseline ? "true" : "false") << ", decay=" << options.decay;
  return out.str();
}

}  // namespace heed::nn

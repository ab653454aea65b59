#include "framework/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "framework/autograd.h"
#include "framework/random.h"

namespace heed {

int64_t sample_token(const Tensor& logits, const SamplingOptions& o, Generator& gen) {
  HEED_CHECK(o.temperature >= 0.f && o.top_k >= 0, "sampling: temperature ", o.temperature,
             " and top_k ", o.top_k, " must be >= 0");
  HEED_CHECK(logits.dim() == 1 && logits.size(0) > Vocabulary::kNumSpecial,
             "sampling: logits must be [vocab] with vocab > ", Vocabulary::kNumSpecial,
             " (the special tokens), got ", logits.shape());
  const std::vector<float> l = logits.contiguous().to_vector();
  // The ordinary tokens, most likely first (ties: lowest id first).
  std::vector<int64_t> ids(l.size() - Vocabulary::kNumSpecial);
  std::iota(ids.begin(), ids.end(), Vocabulary::kNumSpecial);
  std::stable_sort(ids.begin(), ids.end(), [&](int64_t a, int64_t b) { return l[a] > l[b]; });
  if (o.temperature == 0.f) return ids.front();
  if (o.top_k > 0 && o.top_k < static_cast<int64_t>(ids.size())) ids.resize(o.top_k);
  // softmax(l / T) over `ids`, shifted by the largest logit, then inverse-CDF sampling.
  std::vector<double> p(ids.size());
  double total = 0;
  for (size_t i = 0; i < ids.size(); ++i)
    total += p[i] = std::exp((static_cast<double>(l[ids[i]]) - l[ids[0]]) / o.temperature);
  double u = static_cast<double>(gen.uniform()) * total;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (u < p[i]) return ids[i];
    u -= p[i];
  }
  return ids.back();  // u within rounding of the total
}

std::vector<int64_t> generate_tokens(NextTokenModel& model, const std::vector<int64_t>& prompt,
                                     int64_t length, const SamplingOptions& options,
                                     Generator& gen) {
  HEED_CHECK(!prompt.empty(), "generate: the prompt must hold at least one token");
  HEED_CHECK(length >= 0, "generate: length ", length, " must be >= 0");
  NoGradGuard no_grad;
  std::vector<int64_t> text = prompt, out;
  for (int64_t i = 0; i < length; ++i) {
    const auto context = std::min<int64_t>(model.max_context(), static_cast<int64_t>(text.size()));
    const Tensor tokens = Tensor::from_vector_i64(
        std::vector<int64_t>(text.end() - context, text.end()), {1, context});
    const int64_t next = sample_token(model.next_token_logits(tokens).reshape({-1}), options, gen);
    text.push_back(next);
    out.push_back(next);
  }
  return out;
}

}  // namespace heed

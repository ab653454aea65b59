#include "framework/erasure.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "framework/attention_statistics.h"
#include "framework/autograd.h"
#include "framework/error.h"
#include "framework/inspect.h"
#include "framework/random.h"

namespace heed {

namespace {

// Sums over the rows' real target tokens of log p and of (most likely token == target), from one
// teacher-forced forward; zeros for no rows.
std::pair<double, double> token_sums(Model& model, const std::vector<Example>& rows) {
  if (rows.empty()) return {0, 0};
  const ModelOutput out = model.forward(collate(rows, TargetKind::Tokens));
  return {-out.metrics.at("cross_entropy").sum, out.metrics.at("token_accuracy").sum};
}

// For each step t of `target`, with `input` erased at erased[t] (read as <unk>): the sums over
// the steps of log p(target_t | target_<t, erased input) and of its most likely token being
// target_t. Two batched forwards whose rows t hold target_<=t and target_<t: a decoder is causal,
// so their difference leaves step t alone.
std::pair<double, double> erased_steps(Model& model, const std::vector<int64_t>& input,
                                       const std::vector<int64_t>& target,
                                       const std::vector<int64_t>& erased) {
  std::vector<Example> through, before;
  for (size_t t = 0; t < target.size(); ++t) {
    std::vector<int64_t> x = input;
    x[erased[t]] = Vocabulary::kUnk;
    const auto end = target.begin() + static_cast<std::ptrdiff_t>(t);
    through.push_back({x, {target.begin(), end + 1}});
    if (t > 0) before.push_back({std::move(x), {target.begin(), end}});
  }
  const auto [log_prob, kept] = token_sums(model, through);
  const auto [log_prob_before, kept_before] = token_sums(model, before);
  return {log_prob - log_prob_before, kept - kept_before};
}

// attention[t][s]: the weight the decoder's attention over the input gives position s at output
// step t, summed over heads and layers, from the records of one teacher-forced forward.
std::vector<std::vector<double>> attention_by_step(const Inspector& inspector, const Model& model,
                                                   int64_t steps, int64_t input_len) {
  std::vector<std::vector<double>> by_step(steps, std::vector<double>(input_len, 0.0));
  bool found = false;
  for (const auto& [name, weights] : inspector.attention(model)) {
    if (!attends_from_target(name) || name.ends_with("self_attn") ||
        weights.size(-1) != input_len || weights.size(-2) != steps)
      continue;
    found = true;
    const std::vector<float> w = weights.contiguous().to_vector();
    for (size_t i = 0; i < w.size(); ++i) by_step[(i / input_len) % steps][i % input_len] += w[i];
  }
  HEED_CHECK(found, "erasure test: the model records no decoder attention over its input (",
             model.repr(), ")");
  return by_step;
}

// Per step, the most attended position (ties: the earlier) and a random other one.
std::pair<std::vector<int64_t>, std::vector<int64_t>> erasures(
    const std::vector<std::vector<double>>& attention, Generator& gen) {
  std::vector<int64_t> top, random;
  for (const std::vector<double>& row : attention) {
    int64_t best = 0;
    for (size_t s = 1; s < row.size(); ++s)
      if (row[s] > row[best]) best = static_cast<int64_t>(s);
    const auto other = static_cast<int64_t>(gen.below(row.size() - 1));
    top.push_back(best);
    random.push_back(other < best ? other : other + 1);
  }
  return {top, random};
}

}  // namespace

nlohmann::json erasure_test(Model& model, const Dataset& data, const ErasureOptions& options) {
  const auto* transducer = dynamic_cast<const SequenceTransducer*>(&model);
  HEED_CHECK(transducer != nullptr, "erasure test: needs a sequence-to-sequence model, not ",
             model.repr());
  NoGradGuard no_grad;
  const std::unique_ptr<Model, void (*)(Model*)> eval_mode(&model, [](Model* m) { m->train(); });
  model.eval();
  Generator gen(options.seed);
  const int64_t n = std::min(options.examples, data.size());
  int64_t tested = 0, skipped = 0, steps = 0, top_hurts_more = 0;
  double delta_top = 0, delta_random = 0, changed_top = 0, changed_random = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Batch example = data.get({i});
    HEED_CHECK(example.input.dtype() == Dtype::Int64 && example.input.dim() == 2,
               "erasure test: needs token inputs, got ", example.input.shape());
    std::vector<int64_t> input = example.input.to_vector_i64();
    if (example.input_lengths.defined()) input.resize(example.input_lengths.to_vector_i64()[0]);
    const auto len = static_cast<int64_t>(input.size());
    if (len < 2) {
      ++skipped;
      continue;
    }
    const Batch source = collate({{input, {Vocabulary::kEos}}}, TargetKind::Tokens);
    std::vector<int64_t> target = transducer->decode(source, SearchOptions{})[0].tokens;
    target.push_back(Vocabulary::kEos);
    const auto len_out = static_cast<int64_t>(target.size());
    std::pair<double, double> original;  // log p(y* | x), steps whose most likely token is y*_t
    std::vector<std::vector<double>> attention;
    {
      Inspector inspector;
      original = token_sums(model, {{input, target}});
      attention = attention_by_step(inspector, model, len_out, len);
    }
    const auto [top, random] = erasures(attention, gen);
    const auto [log_prob_top, kept_top] = erased_steps(model, input, target, top);
    const auto [log_prob_random, kept_random] = erased_steps(model, input, target, random);
    ++tested;
    steps += len_out;
    delta_top += log_prob_top - original.first;
    delta_random += log_prob_random - original.first;
    changed_top += original.second - kept_top;
    changed_random += original.second - kept_random;
    top_hurts_more += log_prob_top < log_prob_random;
  }
  HEED_CHECK(tested > 0, "erasure test: none of the split's first ", n,
             " examples has two input positions");
  const auto per_step = [&](double x) { return x / static_cast<double>(steps); };
  return {
      {"examples", tested},
      {"skipped", skipped},
      {"steps", steps},
      {"top",
       {{"delta_log_prob", per_step(delta_top)}, {"prediction_changed", per_step(changed_top)}}},
      {"random",
       {{"delta_log_prob", per_step(delta_random)},
        {"prediction_changed", per_step(changed_random)}}},
      {"top_hurts_more", static_cast<double>(top_hurts_more) / static_cast<double>(tested)}};
}

}  // namespace heed

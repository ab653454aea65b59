#include "framework/erasure.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "framework/attention_statistics.h"
#include "framework/autograd.h"
#include "framework/error.h"
#include "framework/inspect.h"
#include "framework/ops/shape.h"
#include "framework/random.h"

namespace heed {

namespace {

// ---- sequence-to-sequence: one position per output step ----

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

// The step-by-step test of a seq2seq model (erasure.h), in eval mode without gradients.
nlohmann::json seq2seq_erasure(Model& model, const SequenceTransducer& transducer,
                               const Dataset& data, const ErasureOptions& options) {
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
    std::vector<int64_t> target = transducer.decode(source, SearchOptions{})[0].tokens;
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
      {"erased", "1 input position per output step"},
      {"steps", steps},
      {"top",
       {{"delta_log_prob", per_step(delta_top)}, {"prediction_changed", per_step(changed_top)}}},
      {"random",
       {{"delta_log_prob", per_step(delta_random)},
        {"prediction_changed", per_step(changed_random)}}},
      {"top_hurts_more", static_cast<double>(top_hurts_more) / static_cast<double>(tested)}};
}

// ---- classifiers and language models: one prediction, the positions that receive the most
// attention erased at once ----

// The attention each of the input's `positions` receives, summed over every attention layer
// whose keys are those positions (an encoder's self-attention, an attention pooling) and over
// their heads, from every query, or from the last one alone (`last_query`: a language model's
// prediction after its window). A deeper layer's key s is the representation at position s.
std::vector<double> attention_received(const Inspector& inspector, const Model& model,
                                       int64_t positions, bool last_query) {
  std::vector<double> received(positions, 0.0);
  bool found = false;
  for (const auto& [name, weights] : inspector.attention(model)) {
    if (weights.size(-1) != positions) continue;
    found = true;
    const int64_t queries = weights.size(-2);
    const std::vector<float> w = weights.contiguous().to_vector();
    for (size_t i = 0; i < w.size(); ++i)
      if (!last_query || static_cast<int64_t>(i) / positions % queries == queries - 1)
        received[i % positions] += w[i];
  }
  HEED_CHECK(found, "erasure test: the model records no attention over its input's ", positions,
             " positions (", model.repr(), ")");
  return received;
}

// log-softmax of each row of logits [rows, classes], in double.
std::vector<std::vector<double>> log_softmax_rows(const Tensor& logits) {
  const int64_t rows = logits.size(0), classes = logits.size(1);
  const std::vector<float> v = logits.contiguous().to_vector();
  std::vector<std::vector<double>> out(rows, std::vector<double>(classes));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = v.data() + r * classes;
    const double top = *std::max_element(row, row + classes);
    double total = 0;
    for (int64_t c = 0; c < classes; ++c) total += std::exp(row[c] - top);
    for (int64_t c = 0; c < classes; ++c) out[r][c] = row[c] - top - std::log(total);
  }
  return out;
}

// log p [rows][choices] of the one prediction each row of `batch` makes: a language model's
// token after the row's window, or a classifier's class from the logits its forward records
// (layers/models/classification.h), which `inspector` (alive) keeps. Throws heed::Error for a
// model that is neither.
std::vector<std::vector<double>> prediction_log_probs(Model& model, const Batch& batch,
                                                      const Inspector& inspector) {
  if (const auto* lm = dynamic_cast<const NextTokenModel*>(&model))
    return log_softmax_rows(lm->next_token_logits(batch.input));
  model.forward(batch);
  for (const auto& [name, t] : inspector.named(model))
    if (name == "logits") return log_softmax_rows(t);
  throw Error(
      "erasure test: needs a sequence-to-sequence model, a classifier or a language "
      "model, not " +
      model.repr());
}

int64_t argmax(const std::vector<double>& row) {
  return std::max_element(row.begin(), row.end()) - row.begin();
}

// `input` [1, seq, ...] with positions `erased` (along dim 1) read as <unk> (tokens) or zeros.
Tensor erase(const Tensor& input, const std::vector<int64_t>& erased) {
  Tensor out = input.contiguous().clone();
  const int64_t width = out.numel() / out.size(1);
  for (int64_t s : erased) {
    if (out.dtype() == Dtype::Int64)
      std::fill_n(out.data_i64() + s * width, width, Vocabulary::kUnk);
    else
      std::fill_n(out.data() + s * width, width, 0.f);
  }
  return out;
}

// The test of a classifier or a language model (erasure.h), in eval mode without gradients.
nlohmann::json one_prediction_erasure(Model& model, const Dataset& data,
                                      const ErasureOptions& options) {
  const bool next_token = dynamic_cast<const NextTokenModel*>(&model) != nullptr;
  Generator gen(options.seed);
  const int64_t n = std::min(options.examples, data.size());
  int64_t tested = 0, skipped = 0, top_hurts_more = 0, k_seen = 0;
  double delta_top = 0, delta_random = 0, changed_top = 0, changed_random = 0;
  for (int64_t i = 0; i < n; ++i) {
    Batch example = data.get({i});
    HEED_CHECK(example.input.dim() >= 2, "erasure test: needs inputs [batch, seq, ...], got ",
               example.input.shape());
    // An image's attention (CBAM, SE) weighs channels and pixels, not positions of a sequence.
    HEED_CHECK(example.input.dim() != 4,
               "erasure test: the model records no attention over input positions: its inputs ",
               example.input.shape(),
               " are images [batch, channels, height, width], whose channel and spatial attention "
               "is not over a sequence");
    const int64_t len = example.input_lengths.defined() ? example.input_lengths.to_vector_i64()[0]
                                                        : example.input.size(1);
    const int64_t k = next_token ? 1 : std::max<int64_t>(1, len / 10);
    if (len < 2 * k) {
      ++skipped;
      continue;
    }
    std::vector<double> log_p, received;
    {
      Inspector inspector;
      log_p = prediction_log_probs(model, example, inspector)[0];
      received = attention_received(inspector, model, example.input.size(1), next_token);
    }
    std::vector<int64_t> order(len);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return received[a] > received[b]; });
    const std::vector<int64_t> top(order.begin(), order.begin() + k);
    std::vector<int64_t> rest(order.begin() + k, order.end()), random;
    for (int64_t j = 0; j < k; ++j) {  // k distinct draws from the rest (partial Fisher-Yates)
      const auto pick = j + static_cast<int64_t>(gen.below(rest.size() - j));
      std::swap(rest[j], rest[pick]);
      random.push_back(rest[j]);
    }
    const int64_t predicted = argmax(log_p);
    Batch erased = example;
    erased.input = ops::concat({erase(example.input, top), erase(example.input, random)}, 0);
    for (Tensor* t : {&erased.target, &erased.input_lengths})
      if (t->defined()) *t = ops::concat({*t, *t}, 0);
    std::vector<std::vector<double>> after;
    {
      Inspector inspector;
      after = prediction_log_probs(model, erased, inspector);
    }
    ++tested;
    k_seen = k;
    delta_top += after[0][predicted] - log_p[predicted];
    delta_random += after[1][predicted] - log_p[predicted];
    changed_top += argmax(after[0]) != predicted;
    changed_random += argmax(after[1]) != predicted;
    top_hurts_more += after[0][predicted] < after[1][predicted];
  }
  HEED_CHECK(tested > 0, "erasure test: none of the split's first ", n,
             " examples has two input positions");
  const auto per_example = [&](double x) { return x / static_cast<double>(tested); };
  return {{"examples", tested},
          {"skipped", skipped},
          {"erased", std::to_string(k_seen) + " of " + std::to_string(data.get({0}).input.size(1)) +
                         (next_token ? " context positions per prediction (the token after "
                                       "the window)"
                                     : " input positions per example")},
          {"top",
           {{"delta_log_prob", per_example(delta_top)},
            {"prediction_changed", per_example(changed_top)}}},
          {"random",
           {{"delta_log_prob", per_example(delta_random)},
            {"prediction_changed", per_example(changed_random)}}},
          {"top_hurts_more", per_example(top_hurts_more)}};
}

}  // namespace

nlohmann::json erasure_test(Model& model, const Dataset& data, const ErasureOptions& options) {
  NoGradGuard no_grad;
  const std::unique_ptr<Model, void (*)(Model*)> eval_mode(&model, [](Model* m) { m->train(); });
  model.eval();
  if (const auto* transducer = dynamic_cast<const SequenceTransducer*>(&model))
    return seq2seq_erasure(model, *transducer, data, options);
  return one_prediction_erasure(model, data, options);
}

}  // namespace heed

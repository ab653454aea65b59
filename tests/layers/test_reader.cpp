// The two-sequence reader (layers/models/reader.h), built through the registry as a recipe builds
// it, under each attention between passage and question (BiDAF, coattention, none). Checked: the
// split at the delimiter and its errors; the answer's probability as the pointer's weight summed
// over the positions that hold it (the attention-sum); that padding changes nothing; finite
// differences; parameter names; and the errors of data it cannot read. The attention layers
// themselves are checked against float64 references in test_bidaf_coattention.cpp.

#include <doctest/doctest.h>

#include <cmath>
#include <list>

#include "framework/config.h"
#include "framework/inspect.h"
#include "framework/ops.h"
#include "framework/registry.h"
#include "gradcheck.h"
#include "layers/models/reader.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using json = nlohmann::json;

namespace {

// Ids: the 4 specials, "_" 4, "|" 5, "0".."3" 6..9.
DataInfo reader_info() {
  const Vocabulary v({"_", "|", "0", "1", "2", "3"});
  DataInfo info{{8}, v.size(), InputKind::Tokens, TargetKind::Tokens, true};
  info.input_vocab = info.target_vocab = v;
  return info;
}

json tiny_reader(const std::string& attention) {
  return {{"type", "reader"},
          {"attention", attention},
          {"embedding_size", 3},
          {"hidden_size", 2},
          {"modeling_layers", 1}};
}

std::shared_ptr<Model> build(const json& model, const DataInfo& info) {
  static std::list<Generator> generators;  // Dropout keeps a pointer to its generator
  return build_model(Config(model, "model"), info, generators.emplace_back(5));
}

// Sequences of the recall tasks' form (passage, "|", question), the answer the last target.
Batch recall_batch(const std::vector<std::vector<int64_t>>& inputs,
                   const std::vector<int64_t>& answers) {
  std::vector<Example> examples;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<int64_t> target(inputs[i].size(), Vocabulary::kPad);
    target.back() = answers[i];
    examples.push_back({inputs[i], target});
  }
  return collate(examples, TargetKind::Tokens);
}

const std::vector<std::string> kAttentions = {"bidaf", "coattention", "none"};

}  // namespace

TEST_CASE("reader: each row splits at its first delimiter, its answer the last step's target") {
  const Batch b = recall_batch({{6, 7, 8, 9, 5, 6}, {7, 5, 5, 8}}, {7, 9});
  const nn::ReaderInput r = nn::split_at_delimiter(b, 5);
  CHECK(r.passage.to_vector_i64() == std::vector<int64_t>{6, 7, 8, 9, 7, 0, 0, 0});
  CHECK(r.passage_lengths.to_vector_i64() == std::vector<int64_t>{4, 1});
  CHECK(r.question.to_vector_i64() == std::vector<int64_t>{6, 0, 5, 8});
  CHECK(r.question_lengths.to_vector_i64() == std::vector<int64_t>{1, 2});
  CHECK(r.answer.to_vector_i64() == std::vector<int64_t>{7, 9});

  auto error = [](const std::vector<int64_t>& input, int64_t answer) {
    return error_of([&] {
      nn::split_at_delimiter(recall_batch({{6, 5, 7}, input}, {8, answer}), 5);
    });
  };
  CHECK(error({6, 7, 8}, 8)
            .find("reader: row 1 of the batch needs a passage, the delimiter \"|\" "
                  "and a question; it has no delimiter") != std::string::npos);
  CHECK(error({5, 7, 8}, 8).find("it has no passage") != std::string::npos);
  CHECK(error({6, 7, 5}, 8).find("it has no question") != std::string::npos);
  CHECK(error({6, 5, 8}, Vocabulary::kPad).find("reader: row 1 has no answer") !=
        std::string::npos);
}

TEST_CASE("reader: the answer's probability is the pointer's weight summed over its positions") {
  const Batch b = recall_batch({{6, 7, 6, 8, 5, 6}, {9, 9, 7, 5, 9, 4}}, {7, 7});
  for (const std::string& attention : kAttentions) {
    INFO(attention);
    const auto model = build(tiny_reader(attention), reader_info());
    model->eval();
    const auto& reader = dynamic_cast<const nn::Reader&>(*model);
    Inspector inspector;
    const Tensor logits = reader.answer_logits(nn::split_at_delimiter(b, 5));
    Tensor p;
    for (const auto& [name, t] : inspector.attention(*model))
      if (name == "pointer") p = t;
    REQUIRE(p.shape() == Shape({2, 1, 1, 4}));
    const std::vector<float> weights = p.to_vector(), got = logits.to_vector();
    const std::vector<std::vector<int64_t>> passages = {{6, 7, 6, 8}, {9, 9, 7}};
    CHECK(weights[7] == 0.f);  // row 1's padded position
    for (size_t row = 0; row < 2; ++row) {
      for (int64_t v = 0; v < 10; ++v) {
        double sum = 0;
        for (size_t t = 0; t < passages[row].size(); ++t)
          if (passages[row][t] == v) sum += weights[row * 4 + t];
        CHECK(std::exp(got[row * 10 + v]) == doctest::Approx(sum + 1e-8).epsilon(1e-4));
      }
    }
    const ModelOutput out = model->forward(b);
    const double expected = -(got[7] + got[17]) / 2;
    CHECK(out.loss.item() == doctest::Approx(expected + std::log1p(10 * 1e-8)).epsilon(1e-5));
    CHECK(out.metrics.at("token_accuracy").count == 2);
  }
}

TEST_CASE("reader: padding changes nothing, under each attention") {
  const std::vector<std::vector<int64_t>> rows = {{6, 7, 8, 9, 5, 6, 7}, {8, 6, 5, 8}};
  for (const std::string& attention : kAttentions) {
    INFO(attention);
    const auto model = build(tiny_reader(attention), reader_info());
    model->eval();
    const auto& reader = dynamic_cast<const nn::Reader&>(*model);
    const std::vector<float> both =
        reader.answer_logits(nn::split_at_delimiter(recall_batch(rows, {7, 8}), 5)).to_vector();
    for (size_t row = 0; row < 2; ++row) {
      const Batch alone = recall_batch({rows[row]}, {7});
      const std::vector<float> one =
          reader.answer_logits(nn::split_at_delimiter(alone, 5)).to_vector();
      check_close(one, std::vector<float>(both.begin() + row * 10, both.begin() + row * 10 + 10),
                  1e-5f, 1e-4f, "row " + std::to_string(row));
    }
  }
}

TEST_CASE("reader: finite differences under each attention") {
  const Batch b = recall_batch({{6, 7, 8, 9, 5, 6, 7}, {8, 6, 5, 8}}, {7, 6});
  for (const std::string& attention : kAttentions) {
    const auto model = build(tiny_reader(attention), reader_info());
    model->eval();
    check_module_gradients(
        {"reader, " + attention,
         model,
         [&, &m = *model](const std::vector<Tensor>&) { return m.forward(b).loss * 10.f; },
         {},
         3e-3f,
         3e-2f,
         1e-2f});
  }
}

TEST_CASE("reader: parameters are named after BiDAF's layers") {
  const auto names = [](const Model& m) {
    std::vector<std::string> out;
    for (const auto& [name, p] : m.named_parameters()) out.push_back(name);
    return out;
  };
  const std::vector<std::string> bidaf = names(*build(tiny_reader("bidaf"), reader_info()));
  CHECK(bidaf.front() == "embedding.weight");
  CHECK(std::count(bidaf.begin(), bidaf.end(), "encoder.weight_ih_l0_reverse") == 1);
  CHECK(std::count(bidaf.begin(), bidaf.end(), "attention.weight") == 1);
  CHECK(std::count(bidaf.begin(), bidaf.end(), "modeling.weight_hh_l0_reverse") == 1);
  CHECK(bidaf.back() == "pointer.bias");
  const std::vector<std::string> co = names(*build(tiny_reader("coattention"), reader_info()));
  CHECK(std::count(co.begin(), co.end(), "attention.query_proj.weight") == 1);
  CHECK(std::count(co.begin(), co.end(), "attention.document_sentinel") == 1);
  const std::vector<std::string> none = names(*build(tiny_reader("none"), reader_info()));
  CHECK(none.size() == bidaf.size() - 1);  // no attention.weight
}

TEST_CASE("reader: data without the delimiter and bad options are errors naming them") {
  DataInfo info = reader_info();
  info.input_vocab = info.target_vocab = Vocabulary({"a", "b"});
  info.num_classes = info.input_vocab->size();
  CHECK(error_of([&] {
          build(tiny_reader("bidaf"), info);
        }).find("reader: needs token inputs and targets whose vocabulary holds the delimiter") !=
        std::string::npos);
  CHECK(error_of([&] { build(tiny_reader("bidaff"), reader_info()); }).find("model.attention") !=
        std::string::npos);
  json c = tiny_reader("bidaf");
  c["hidden"] = 3;
  CHECK(error_of([&] { build(c, reader_info()); }).find("hidden_size") != std::string::npos);
}

// Encoders, poolings and alignments as parts (layers/part.h): every part refuses an option it
// does not read, naming the key, the part and the parts of its kind that have the option; the
// model's state dict keeps the names and order it had before the parts (checkpoints load); a
// forward pass runs for every registered combination; `heed list` prints every part.

#include <doctest/doctest.h>

#include <algorithm>

#include "framework/config.h"
#include "framework/random.h"
#include "framework/registry.h"
#include "layers/attention/alignment.h"
#include "layers/encoders/encoder.h"
#include "layers/models/sequence_classifier.h"
#include "layers/poolings/pooling.h"
#include "testing.h"

using namespace heed;

namespace {

const DataInfo kInfo{.input_shape = {6, 5}, .num_classes = 3};

std::string build_error(const nlohmann::json& model) {
  Generator gen(0);
  try {
    nn::SequenceClassifier m(Config(model, "model"), kInfo, gen);
  } catch (const RecipeError& e) {
    return e.what();
  }
  return "(built)";
}

// The module prefixes of the state dict in order, each once: {"lstm", "pool", "fc"}.
std::vector<std::string> prefixes(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, t] : m.state_dict()) {
    const std::string head = name.substr(0, name.find('.'));
    if (out.empty() || out.back() != head) out.push_back(head);
  }
  return out;
}

std::vector<std::string> keys(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, t] : m.state_dict()) out.push_back(name);
  return out;
}

}  // namespace

TEST_CASE("parts: an option the chosen part does not read names the parts that have it") {
  const nlohmann::json lstm = {{"type", "lstm"}, {"hidden_size", 4}};
  const nlohmann::json transformer = {
      {"type", "transformer"}, {"d_model", 4}, {"nhead", 1}, {"num_layers", 1}};
  auto pool = [&](const nlohmann::json& alignment) {
    return nlohmann::json{{"encoder", lstm},
                          {"pooling", {{"type", "attention"}, {"attention", alignment}}}};
  };
  const std::string p = "recipe: \"model.pooling.attention.";
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      // alignments
      {pool({{"type", "luong_dot"}, {"hidden_size", 8}}),
       p + "hidden_size\" is not an option of alignment \"luong_dot\" (its options: dropout); "
           "\"hidden_size\" is an option of alignment \"additive\", \"luong_concat\", "
           "\"local_m\", \"local_p\""},
      {pool({{"type", "luong_general"}, {"hidden_size", 8}}),
       p + "hidden_size\" is not an option of alignment \"luong_general\" (its options: "
           "dropout); \"hidden_size\" is an option of alignment \"additive\", \"luong_concat\", "
           "\"local_m\", \"local_p\""},
      {pool({{"type", "additive"}, {"window", 2}}),
       p + "window\" is not an option of alignment \"additive\" (its options: dropout, "
           "hidden_size); \"window\" is an option of alignment \"local_m\", \"local_p\""},
      {pool({{"type", "luong_concat"}, {"score", "dot"}}),
       p + "score\" is not an option of alignment \"luong_concat\" (its options: dropout, "
           "hidden_size); \"score\" is an option of alignment \"local_m\", \"local_p\""},
      {pool({{"type", "luong_dot"}, {"window", 2}}),
       p + "window\" is not an option of alignment \"luong_dot\" (its options: dropout); "
           "\"window\" is an option of alignment \"local_m\", \"local_p\""},
      {pool({{"type", "local_m"}, {"hidden_size", 8}}),
       p + "hidden_size\" is not an option of alignment \"local_m\" (its options: dropout, "
           "score, window); \"hidden_size\" is an option of alignment \"additive\", "
           "\"luong_concat\", \"local_p\""},
      {pool({{"type", "local_p"}, {"concat_query", false}}),
       p + "concat_query\" is not an option of alignment \"local_p\" (its options: dropout, "
           "hidden_size, score, window)"},
      // poolings
      {{{"encoder", lstm}, {"pooling", {{"type", "mean"}, {"concat_query", false}}}},
       "recipe: \"model.pooling.concat_query\" is not an option of pooling \"mean\" (it has "
       "none); \"concat_query\" is an option of pooling \"attention\""},
      {{{"encoder", lstm}, {"pooling", {{"type", "last"}, {"attention", "additive"}}}},
       "recipe: \"model.pooling.attention\" is not an option of pooling \"last\" (it has "
       "none); \"attention\" is an option of pooling \"attention\""},
      {{{"encoder", transformer}, {"pooling", {{"type", "query"}, {"window", 2}}}},
       "recipe: \"model.pooling.window\" is not an option of pooling \"query\" (it has none)"},
      // encoders
      {{{"encoder", {{"type", "lstm"}, {"nonlinearity", "relu"}}}},
       "recipe: \"model.encoder.nonlinearity\" is not an option of encoder \"lstm\" (its "
       "options: bidirectional, dropout, hidden_size, input_dropout, locked_dropout, "
       "num_layers, output_dropout, weight_drop); \"nonlinearity\" is an option of encoder "
       "\"rnn\""},
      {{{"encoder", {{"type", "gru"}, {"d_model", 8}}}},
       "recipe: \"model.encoder.d_model\" is not an option of encoder \"gru\" (its options: "
       "bidirectional, dropout, hidden_size, input_dropout, locked_dropout, num_layers, "
       "output_dropout, weight_drop); \"d_model\" is an option of encoder \"transformer\""},
      {{{"encoder", {{"type", "transformer"}, {"hidden_size", 8}}}},
       "recipe: \"model.encoder.hidden_size\" is not an option of encoder \"transformer\" (its "
       "options: activation, attention, d_model, dim_feedforward, dropout, nhead, norm_first, "
       "num_layers, positional); \"hidden_size\" is an option of encoder \"rnn\", \"lstm\", "
       "\"gru\""},
      // the model: the old sibling of pooling "attention" is gone
      {{{"encoder", lstm}, {"pooling", "attention"}, {"attention", {{"type", "additive"}}}},
       "recipe: unknown key \"model.attention\""},
      {{{"encoder", lstm}, {"pooling", "query"}},
       "recipe: \"model.pooling\": pooling \"query\" needs encoder.type \"transformer\" (its "
       "decoder layer reuses the encoder's options)"},
  };
  for (const auto& [model, message] : cases) {
    INFO(model.dump());
    const std::string got = build_error(model);
    CHECK(got.substr(0, message.size()) == message);
  }
}

TEST_CASE("parts: an option read only with another option's value (local_m's hidden_size)") {
  Generator gen(0);
  const nlohmann::json model = {
      {"encoder", {{"type", "gru"}, {"hidden_size", 4}}},
      {"pooling",
       {{"type", "attention"},
        {"attention", {{"type", "local_m"}, {"score", "concat"}, {"hidden_size", 6}}}}}};
  nn::SequenceClassifier m(Config(model, "model"), kInfo, gen);
  CHECK(m.to_string().find("LuongAttention(score=concat, align=local_m") != std::string::npos);
  for (const auto& [name, t] : m.state_dict())
    if (name == "pool.weight") CHECK(t.shape() == Shape({6, 8}));
}

TEST_CASE("parts: the state dict keeps its names and order (parts register as the model's own)") {
  Generator gen(0);
  auto build = [&](const nlohmann::json& model) {
    return std::make_unique<nn::SequenceClassifier>(Config(model, "model"), kInfo, gen);
  };
  const nlohmann::json transformer = {
      {"type", "transformer"}, {"d_model", 4}, {"nhead", 1}, {"num_layers", 1}};
  CHECK(prefixes(*build({{"encoder", {{"type", "lstm"}, {"hidden_size", 4}}}})) ==
        std::vector<std::string>{"lstm", "fc"});
  CHECK(keys(*build({{"encoder", {{"type", "gru"}, {"hidden_size", 4}}},
                     {"pooling", {{"type", "attention"}, {"attention", "additive"}}}})) ==
        std::vector<std::string>{"gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0",
                                 "gru.bias_hh_l0", "pool.v", "pool.query_proj.weight",
                                 "pool.key_proj.weight", "fc.weight", "fc.bias"});
  CHECK(keys(*build({{"encoder", {{"type", "rnn"}, {"hidden_size", 4}}},
                     {"pooling",
                      {{"type", "attention"},
                       {"attention", {{"type", "local_p"}, {"score", "concat"}}}}}})) ==
        std::vector<std::string>{"rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
                                 "rnn.bias_hh_l0", "pool.weight", "pool.v", "pool.position_v",
                                 "pool.position_proj.weight", "fc.weight", "fc.bias"});
  // The model's own parameter (pool_query) before every module's, as before the parts.
  CHECK(prefixes(*build({{"encoder", transformer}, {"pooling", "query"}})) ==
        std::vector<std::string>{"pool_query", "input_proj", "pos_embedding", "encoder",
                                 "pool_decoder", "fc"});
  CHECK(prefixes(*build({{"encoder", transformer}})) ==
        std::vector<std::string>{"input_proj", "pos_embedding", "encoder", "fc"});
}

TEST_CASE("parts: every encoder x pooling x alignment builds and runs forward") {
  const Tensor x = Tensor::randn({2, 6, 5}, *std::make_unique<Generator>(1));
  for (const std::string& encoder : nn::encoder_names())
    for (const std::string& pooling : nn::pooling_names()) {
      if (pooling == "query" && encoder != "transformer") continue;
      const std::vector<std::string> alignments =
          pooling == "attention" ? nn::alignment_names() : std::vector<std::string>{""};
      for (const std::string& alignment : alignments) {
        INFO(encoder, " ", pooling, " ", alignment);
        nlohmann::json p = {{"type", pooling}};
        if (!alignment.empty()) p["attention"] = alignment;
        nlohmann::json e = {{"type", encoder}};
        if (encoder == "transformer")
          e.update({{"d_model", 4}, {"nhead", 1}, {"num_layers", 1}});
        else
          e["hidden_size"] = 4;
        Generator gen(2);
        nn::SequenceClassifier m(Config({{"encoder", e}, {"pooling", p}}, "model"), kInfo, gen);
        CHECK(m.logits(x).shape() == Shape({2, 3}));
      }
    }
}

TEST_CASE("parts: heed list prints every encoder, pooling and alignment with its options") {
  const std::vector<RegistryEntry> parts = list_parts();
  auto find = [&](const std::string& kind, const std::string& name) {
    for (const RegistryEntry& e : parts)
      if (e.kind == kind && e.name == name) return e.options;
    return std::string("(missing)");
  };
  for (const std::string& name : nn::encoder_names()) CHECK(find("encoder", name) != "(missing)");
  for (const std::string& name : nn::pooling_names()) CHECK(find("pooling", name) != "(missing)");
  for (const std::string& name : nn::alignment_names())
    CHECK(find("alignment", name) != "(missing)");
  CHECK(find("alignment", "luong_dot") == "dropout (0.0, in [0, 1])");
  CHECK(find("pooling", "mean") == "(none)");
  CHECK(find("pooling", "attention").find("attention.type (\"additive\"") != std::string::npos);
  CHECK(find("encoder", "rnn").find("nonlinearity (\"tanh\"") != std::string::npos);
  CHECK(find("encoder", "lstm").find("nonlinearity") == std::string::npos);
  CHECK(find("alignment", "local_p").find("window (8, in [1, 1048576])") != std::string::npos);
}

// The token models of layers/models/: "language_model" (language_model.h) and "seq2seq"
// (seq2seq.h), built through the registry as a recipe builds them. Checked: each model's parameter
// names and count (the benchmark sizes give bench/'s counts from before the models moved), the
// loss against a hand computation from the model's own parts (loaded into stand-alone layers, with
// the cross-entropy over the non-<pad> positions written out in double), that padding changes
// nothing (a padded batch's loss and gradients equal the token-weighted ones of its sequences
// run alone; for seq2seq under every decoder cell and alignment), causality of the Transformer
// language model under every attention variant, a recurrent language model's state carried across
// windows (data.carry_state) against one forward over the whole sequence, finite differences on
// tiny models, and the recipe errors of bad options.

#include <doctest/doctest.h>

#include <list>

#include <cmath>

#include "fixture.h"
#include "framework/config.h"
#include "framework/ops.h"
#include "framework/registry.h"
#include "gradcheck.h"
#include "layers/attention/additive.h"
#include "layers/attention/alignment.h"
#include "layers/attention/registry.h"
#include "layers/decoders/decoder.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/linear.h"
#include "layers/models/language_model.h"
#include "layers/models/seq2seq.h"
#include "layers/rnn.h"
#include "layers/rnn_cell.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using json = nlohmann::json;

namespace {

Vocabulary vocabulary(int64_t size) {
  std::vector<std::string> tokens;
  for (int64_t id = Vocabulary::kNumSpecial; id < size; ++id)
    tokens.push_back(std::string(1, 't').append(std::to_string(id)));
  return Vocabulary(tokens);
}

DataInfo token_info(int64_t input_vocab, int64_t target_vocab, int64_t max_len) {
  DataInfo info{{max_len}, target_vocab, InputKind::Tokens, TargetKind::Tokens, true};
  info.input_vocab = vocabulary(input_vocab);
  info.target_vocab = vocabulary(target_vocab);
  return info;
}

// Dropout modules keep a pointer to the generator that built them, so each one lives as long as
// the test binary (a std::list never moves its elements).
std::shared_ptr<Model> build(const json& model, const DataInfo& info, uint64_t seed = 7) {
  static std::list<Generator> generators;
  return build_model(Config(model, "model"), info, generators.emplace_back(seed));
}

int64_t count(const Module& m) {
  int64_t n = 0;
  for (const auto& [name, p] : m.named_parameters()) n += p.numel();
  return n;
}

// The parameters of `m` under `prefix.`, renamed without it.
StateDict sub_state(const Module& m, const std::string& prefix) {
  StateDict out;
  for (const auto& [name, t] : m.named_parameters())
    if (name.rfind(prefix + ".", 0) == 0) out.emplace_back(name.substr(prefix.size() + 1), t);
  return out;
}

Tensor ids(const std::vector<int64_t>& values, int64_t batch) {
  return Tensor::from_vector_i64(values, {batch, static_cast<int64_t>(values.size()) / batch});
}

// Mean over the targets that are not <pad> of -log softmax(logits)[target], in double.
double hand_cross_entropy(const Tensor& logits, const Tensor& target) {
  const int64_t vocab = logits.size(-1);
  const std::vector<float> z = logits.contiguous().to_vector();
  const std::vector<int64_t> y = target.to_vector_i64();
  double sum = 0;
  int64_t n = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] == Vocabulary::kPad) continue;
    double top = -1e300;
    for (int64_t c = 0; c < vocab; ++c) top = std::max(top, static_cast<double>(z[i * vocab + c]));
    double total = 0;
    for (int64_t c = 0; c < vocab; ++c) total += std::exp(z[i * vocab + c] - top);
    sum += top + std::log(total) - z[i * vocab + y[i]];
    ++n;
  }
  return sum / static_cast<double>(n);
}

// A padded batch of the sequences `inputs` (and `targets`), <pad> after each end and lengths.
Batch padded(const std::vector<std::vector<int64_t>>& inputs,
             const std::vector<std::vector<int64_t>>& targets, int64_t extra = 0) {
  std::vector<Example> examples;
  for (size_t i = 0; i < inputs.size(); ++i) examples.push_back({inputs[i], targets[i]});
  Batch b = collate(examples, TargetKind::Tokens);
  if (extra == 0) return b;
  // Wider than the longest sequence by `extra` more <pad> steps.
  auto widen = [&](const Tensor& t) {
    const int64_t rows = t.size(0), cols = t.size(1);
    const std::vector<int64_t> v = t.to_vector_i64();
    std::vector<int64_t> w(rows * (cols + extra), Vocabulary::kPad);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) w[r * (cols + extra) + c] = v[r * cols + c];
    return Tensor::from_vector_i64(w, {rows, cols + extra});
  };
  b.input = widen(b.input);
  b.target = widen(b.target);
  return b;
}

// The loss and every parameter's gradient of `model` on `batch`.
std::pair<float, std::vector<std::vector<float>>> loss_and_grads(Model& model, const Batch& batch) {
  model.zero_grad();
  const Tensor loss = model.forward(batch).loss;
  loss.backward();
  std::vector<std::vector<float>> grads;
  for (const auto& [name, p] : model.named_parameters())
    grads.push_back(p.grad().defined() ? p.grad().to_vector() : std::vector<float>(p.numel(), 0.f));
  return {loss.item(), grads};
}

// The padded batch's loss and gradients equal those of the sequences alone, weighted by their
// number of target tokens (the loss is the mean over the batch's real target tokens), padded to
// the longest or beyond it.
void check_padding_changes_nothing(Model& model, const std::vector<std::vector<int64_t>>& inputs,
                                   const std::vector<std::vector<int64_t>>& targets) {
  double want_loss = 0, tokens = 0;
  std::vector<std::vector<float>> want_grads;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto [loss, grads] = loss_and_grads(model, padded({inputs[i]}, {targets[i]}));
    const double n = static_cast<double>(targets[i].size());
    want_loss += n * loss;
    tokens += n;
    if (want_grads.empty()) want_grads.assign(grads.size(), {});
    for (size_t k = 0; k < grads.size(); ++k) {
      want_grads[k].resize(grads[k].size(), 0.f);
      for (size_t j = 0; j < grads[k].size(); ++j)
        want_grads[k][j] += static_cast<float>(n) * grads[k][j];
    }
  }
  for (auto& g : want_grads)
    for (float& v : g) v /= static_cast<float>(tokens);
  for (const int64_t extra : {0, 2}) {
    INFO("padded beyond the longest by ", extra);
    const auto [loss, grads] = loss_and_grads(model, padded(inputs, targets, extra));
    CHECK(loss == doctest::Approx(want_loss / tokens).epsilon(1e-5));
    const StateDict params = model.named_parameters();
    for (size_t k = 0; k < grads.size(); ++k)
      check_close(grads[k], want_grads[k], 1e-5f, 1e-4f, "gradient of " + params[k].first);
  }
}

const json kTinyLstmLM = {{"type", "language_model"},
                          {"embedding_size", 4},
                          {"encoder", {{"type", "lstm"}, {"hidden_size", 5}}}};
const json kTinyTransformerLM = {{"type", "language_model"},
                                 {"encoder",
                                  {{"type", "transformer"},
                                   {"d_model", 8},
                                   {"nhead", 2},
                                   {"num_layers", 1},
                                   {"dim_feedforward", 16},
                                   {"dropout", 0}}}};
const json kTinySeq2Seq = {
    {"type", "seq2seq"},
    {"encoder", {{"type", "lstm"}, {"embedding_size", 3}, {"hidden_size", 4}}},
    {"decoder",
     {{"type", "lstm"},
      {"embedding_size", 3},
      {"attention", {{"type", "additive"}, {"hidden_size", 5}}}}}};

}  // namespace

TEST_CASE("language_model: parameter names and counts, bench/'s sizes included") {
  const auto lstm = build(kTinyLstmLM, token_info(10, 10, 6));
  CHECK(names(*lstm) == std::vector<std::string>{"embedding.weight", "lstm.weight_ih_l0",
                                                 "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                                                 "lstm.bias_hh_l0", "head.weight", "head.bias"});
  CHECK(count(*lstm) == 10 * 4 + 20 * 4 + 20 * 5 + 20 + 20 + 10 * 5 + 10);

  json tied = kTinyLstmLM;
  tied["tie_weights"] = true;
  tied["encoder"]["hidden_size"] = 4;
  const auto t = build(tied, token_info(10, 10, 6));
  // A module's own parameters come before its children's.
  CHECK(names(*t) == std::vector<std::string>{"head_bias", "embedding.weight", "lstm.weight_ih_l0",
                                              "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                                              "lstm.bias_hh_l0"});
  CHECK(count(*t) == 10 * 4 + 16 * 4 + 16 * 4 + 16 + 16 + 10);

  const auto tf = build(kTinyTransformerLM, token_info(10, 10, 6));
  const std::vector<std::string> n = names(*tf);
  CHECK(n.front() == "embedding.weight");
  CHECK(n[1] == "pos_embedding.weight");
  CHECK(n[2] == "encoder.layers.0.self_attn.in_proj_weight");
  CHECK(n[n.size() - 2] == "head.weight");
  // embedding, positions, in/out projections, two feed-forward Linears, two LayerNorms, the final
  // LayerNorm (norm_first), head.
  CHECK(count(*tf) == 10 * 8 + 6 * 8 + (3 * 8 * 8 + 3 * 8) + (8 * 8 + 8) + (16 * 8 + 16) +
                          (8 * 16 + 8) + 2 * 2 * 8 + 2 * 8 + (10 * 8 + 10));

  // bench/lstm_lm.cpp and bench/transformer_lm.cpp before their models moved here: heed_bench
  // printed "parameters" 958560 and 437600.
  CHECK(count(*build({{"type", "language_model"},
                      {"embedding_size", 128},
                      {"encoder", {{"type", "lstm"}, {"hidden_size", 256}, {"num_layers", 2}}}},
                     token_info(96, 96, 128))) == 958560);
  CHECK(count(*build({{"type", "language_model"},
                      {"encoder",
                       {{"type", "transformer"},
                        {"d_model", 128},
                        {"nhead", 4},
                        {"num_layers", 2},
                        {"dim_feedforward", 512},
                        {"activation", "relu"},
                        {"final_norm", false}}}},
                     token_info(96, 96, 128))) == 437600);
}

TEST_CASE("seq2seq: parameter names and counts, bench/'s sizes included") {
  const auto m = build(kTinySeq2Seq, token_info(9, 7, 5));
  CHECK(names(*m) ==
        std::vector<std::string>{
            "source_embedding.weight", "target_embedding.weight", "encoder.weight_ih_l0",
            "encoder.weight_hh_l0", "encoder.bias_ih_l0", "encoder.bias_hh_l0",
            "encoder.weight_ih_l0_reverse", "encoder.weight_hh_l0_reverse",
            "encoder.bias_ih_l0_reverse", "encoder.bias_hh_l0_reverse", "decoder.weight_ih",
            "decoder.weight_hh", "decoder.bias_ih", "decoder.bias_hh", "head.weight", "head.bias",
            "attention.v", "attention.query_proj.weight", "attention.key_proj.weight"});
  // decoder width 2 * 4 = 8; its input is the embedding (3) and the context (8).
  CHECK(count(*m) == 9 * 3 + 7 * 3 + 2 * (16 * 3 + 16 * 4 + 32) + (32 * 11 + 32 * 8 + 64) +
                         (7 * 8 + 7) + (5 * 8 + 5 * 8 + 5));

  // bench/g2p.cpp before its model moved here: heed_bench printed "parameters" 872557 (g2p_attn)
  // and 544749 (g2p_noattn).
  json g2p = {{"type", "seq2seq"},
              {"encoder", {{"type", "lstm"}, {"embedding_size", 64}, {"hidden_size", 128}}},
              {"decoder",
               {{"type", "lstm"},
                {"embedding_size", 64},
                {"attention", {{"type", "additive"}, {"hidden_size", 128}}}}}};
  CHECK(count(*build(g2p, token_info(30, 45, 12))) == 872557);
  g2p["decoder"]["attention"] = "none";
  CHECK(count(*build(g2p, token_info(30, 45, 12))) == 544749);
}

TEST_CASE("language_model: the loss is the cross-entropy of its parts over the non-<pad> targets") {
  const Batch batch = padded({{4, 5, 6}, {7, 8, 9, 4, 5}}, {{5, 6, 2}, {8, 9, 4, 5, 2}});
  for (const bool tie : {false, true}) {
    INFO("tie_weights ", tie);
    json c = kTinyLstmLM;
    c["tie_weights"] = tie;
    c["encoder"]["hidden_size"] = tie ? 4 : 5;
    const auto model = build(c, token_info(10, 10, 6));
    Generator gen(1);
    nn::Embedding embedding(10, 4, gen);
    embedding.load_state_dict(sub_state(*model, "embedding"));
    nn::LSTM lstm({.input_size = 4, .hidden_size = tie ? 4 : 5}, gen);
    lstm.load_state_dict(sub_state(*model, "lstm"));
    const Tensor h = lstm.forward(embedding.forward(batch.input), batch.input_lengths).output;
    Tensor logits;
    if (tie) {
      const Tensor bias = model->named_parameters().front().second;  // head_bias
      logits = ops::linear(h, embedding.weight, bias);
    } else {
      nn::Linear head(5, 10, gen);
      head.load_state_dict(sub_state(*model, "head"));
      logits = head.forward(h);
    }
    const ModelOutput out = model->forward(batch);
    CHECK(out.loss.item() == doctest::Approx(hand_cross_entropy(logits, batch.target)));
    CHECK(out.metrics.count("token_accuracy") == 1);
  }
}

TEST_CASE("language_model: AWD-LSTM's dropoute, dropouti and output dropout, composed by hand") {
  // model.embedding_dropout (Embedding's), encoder.input_dropout and encoder.output_dropout
  // (LockedDropout before and after the LSTM): in training the model's loss is that of its parts
  // with the generator replayed; in eval, and at p = 0, the model is the one without the keys
  // (the same parameters from the same seed, the same loss).
  const Batch batch = padded({{4, 5, 6}, {7, 8, 9, 4, 5}}, {{5, 6, 2}, {8, 9, 4, 5, 2}});
  json c = kTinyLstmLM;
  c["embedding_dropout"] = 0.3;
  c["encoder"]["input_dropout"] = 0.2;
  c["encoder"]["output_dropout"] = 0.4;
  Generator gen(3);
  const auto model = build_model(Config(c, "model"), token_info(10, 10, 6), gen);
  const std::string tree = model->to_string();
  CHECK(tree.find("(embedding): Embedding(10, 4, embedding_dropout=0.3)") != std::string::npos);
  CHECK(tree.find("  (input_dropout): LockedDropout(p=0.2)\n  (lstm): LSTM(") != std::string::npos);
  CHECK(tree.find("locked_dropout=false)\n  (output_dropout): LockedDropout(p=0.4)\n") !=
        std::string::npos);
  const auto plain = build(kTinyLstmLM, token_info(10, 10, 6), 3);
  CHECK(plain->to_string().find("LockedDropout") == std::string::npos);
  const StateDict params = model->named_parameters(), plain_params = plain->named_parameters();
  REQUIRE(params.size() == plain_params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    CHECK(params[i].first == plain_params[i].first);
    CHECK(params[i].second.to_vector() == plain_params[i].second.to_vector());
  }

  Generator replay(0);  // the parts draw their masks from it, set to the model's state below
  nn::Embedding embedding(10, 4, replay, -1, 0.3f);
  embedding.load_state_dict(sub_state(*model, "embedding"));
  nn::LSTM lstm({.input_size = 4, .hidden_size = 5}, replay);
  lstm.load_state_dict(sub_state(*model, "lstm"));
  nn::Linear head(5, 10, replay);
  head.load_state_dict(sub_state(*model, "head"));
  replay.set_state(gen.state());
  model->train();
  const ModelOutput out = model->forward(batch);
  const Tensor x = nn::locked_dropout(embedding.forward(batch.input), 0.2f, true, replay);
  const Tensor h = lstm.forward(x, batch.input_lengths).output;
  const Tensor logits = head.forward(nn::locked_dropout(h, 0.4f, true, replay));
  CHECK(out.loss.item() == doctest::Approx(hand_cross_entropy(logits, batch.target)));
  CHECK(gen.state() == replay.state());  // three draws each: the same masks
  model->eval();
  plain->eval();
  CHECK(model->forward(batch).loss.item() == plain->forward(batch).loss.item());
  CHECK(out.loss.item() != model->forward(batch).loss.item());
}

TEST_CASE("seq2seq: the loss is the teacher-forced cross-entropy of its parts") {
  const Batch batch = padded({{4, 5, 6, 7}, {8, 4}}, {{5, 6, 2}, {4, 5, 6, 2}});
  for (const bool attention : {false, true}) {
    INFO("attention ", attention);
    json c = kTinySeq2Seq;
    if (!attention) c["decoder"]["attention"] = "none";
    const auto model = build(c, token_info(9, 7, 5));
    Generator gen(1);
    nn::Embedding source(9, 3, gen), target(7, 3, gen);
    source.load_state_dict(sub_state(*model, "source_embedding"));
    target.load_state_dict(sub_state(*model, "target_embedding"));
    nn::LSTM encoder({.input_size = 3, .hidden_size = 4, .bidirectional = true}, gen);
    encoder.load_state_dict(sub_state(*model, "encoder"));
    nn::LSTMCell decoder({.input_size = attention ? 11 : 3, .hidden_size = 8}, gen);
    decoder.load_state_dict(sub_state(*model, "decoder"));
    nn::Linear head(8, 7, gen);
    head.load_state_dict(sub_state(*model, "head"));
    nn::AdditiveAttention attend(8, 8, 5, 0.f, gen);
    if (attention) attend.load_state_dict(sub_state(*model, "attention"));

    const nn::LSTMOutput enc = encoder.forward(source.forward(batch.input), batch.input_lengths);
    nn::LSTMState s{ops::concat({enc.h_n.select(0, 0), enc.h_n.select(0, 1)}, 1),
                    ops::concat({enc.c_n.select(0, 0), enc.c_n.select(0, 1)}, 1)};
    // The decoder reads <s>, then the target shifted right by one.
    const Tensor previous = ids({1, 5, 6, 2, 1, 4, 5, 6}, 2);
    std::vector<Tensor> outputs;
    for (int64_t t = 0; t < 4; ++t) {
      Tensor x = target.forward(previous.select(1, t));
      if (attention)
        x = ops::concat(
            {x, attend.forward(s.h.unsqueeze(1), enc.output, enc.output, batch.input_padding_mask())
                    .output.squeeze(1)},
            1);
      s = decoder.forward(x, s.h, s.c);
      outputs.push_back(s.h);
    }
    const Tensor logits = head.forward(ops::stack(outputs, 1));
    CHECK(model->forward(batch).loss.item() ==
          doctest::Approx(hand_cross_entropy(logits, batch.target)));
  }
}

// tests/fixtures/make_model_fixtures.py: the same models written in PyTorch (packed RNNs,
// F.cross_entropy with ignore_index 0), float64 references of the loss and every gradient.
TEST_CASE("token models: loss and gradients match PyTorch") {
  const std::vector<std::tuple<std::string, json, DataInfo>> cases = {
      {"model_lstm_lm", kTinyLstmLM, token_info(10, 10, 5)},
      {"model_seq2seq", kTinySeq2Seq, token_info(9, 7, 4)},
  };
  for (const auto& [name, config, info] : cases) {
    INFO("fixture ", name);
    const Fixture f = load_fixture(name);
    const auto model = build(config, info);
    model->load_state_dict(f.params());
    Batch batch{f.input("input"), f.input("target"), f.input("input_lengths"),
                f.input("target_lengths")};
    const Tensor loss = model->forward(batch).loss;
    CHECK(loss.item() == doctest::Approx(f.output("loss").item()).epsilon(1e-5));
    loss.backward();
    for (const auto& [key, p] : model->named_parameters())
      check_close(p.grad().to_vector(), f.grad(key).to_vector(), 1e-5f, 1e-4f, "grad of " + key);
  }
}

TEST_CASE("token models: padding changes neither the loss nor the gradients") {
  const std::vector<std::vector<int64_t>> text = {{4, 5, 6}, {7, 8, 9, 4, 5}, {6}};
  const std::vector<std::vector<int64_t>> next = {{5, 6, 2}, {8, 9, 4, 5, 2}, {2}};
  for (const json& c : {kTinyLstmLM, kTinyTransformerLM}) {
    INFO(c.dump());
    const auto model = build(c, token_info(10, 10, 8));
    check_padding_changes_nothing(*model, text, next);
  }
  json gru = kTinyLstmLM;
  gru["encoder"] = {{"type", "gru"}, {"hidden_size", 4}, {"num_layers", 2}};
  check_padding_changes_nothing(*build(gru, token_info(10, 10, 8)), text, next);

  const std::vector<std::vector<int64_t>> source = {{4, 5, 6, 7}, {8, 4}, {5}};
  const std::vector<std::vector<int64_t>> target = {{5, 6, 2}, {4, 5, 6, 2}, {2}};
  json s2s = kTinySeq2Seq;
  for (const json& attention : {json("none"), s2s["decoder"]["attention"]}) {
    s2s["decoder"]["attention"] = attention;
    INFO(s2s.dump());
    check_padding_changes_nothing(*build(s2s, token_info(9, 7, 8)), source, target);
  }
  json gru_s2s = kTinySeq2Seq;
  gru_s2s["encoder"] = {{"type", "gru"},
                        {"embedding_size", 3},
                        {"hidden_size", 3},
                        {"num_layers", 2},
                        {"bidirectional", false}};
  gru_s2s["decoder"] = {{"type", "gru"},
                        {"embedding_size", 2},
                        {"attention", {{"type", "additive"}, {"hidden_size", 5}}}};
  INFO(gru_s2s.dump());
  check_padding_changes_nothing(*build(gru_s2s, token_info(9, 7, 8)), source, target);
}

TEST_CASE("seq2seq: under every decoder cell and alignment, padding changes nothing") {
  const std::vector<std::vector<int64_t>> source = {{4, 5, 6, 7}, {8, 4}, {5}};
  const std::vector<std::vector<int64_t>> target = {{5, 6, 2}, {4, 5, 6, 2}, {2}};
  std::vector<std::string> attentions = nn::alignment_names();
  attentions.push_back("none");
  for (const char* cell : {"lstm", "gru"})
    for (const std::string& attention : attentions) {
      json c = kTinySeq2Seq;
      c["decoder"] = {{"type", cell}, {"embedding_size", 3}, {"attention", attention}};
      // Monotonic attention's training noise is drawn per key position, so a wider padded batch
      // draws other noise: the check holds for its noise-free expected alignment.
      if (attention == "monotonic") c["decoder"]["attention"] = {{"type", attention}, {"noise", 0}};
      INFO(c.dump());
      const auto model = build(c, token_info(9, 7, 8));
      CHECK(std::isfinite(model->forward(padded(source, target)).loss.item()));
      check_padding_changes_nothing(*model, source, target);
    }
  // The Transformer decoder after an RNN encoder (its memory projected), and the Transformer
  // encoder-decoder, under each position encoding.
  const json transformer = {{"type", "transformer"}, {"d_model", 8},          {"nhead", 2},
                            {"num_layers", 2},       {"dim_feedforward", 16}, {"dropout", 0.0}};
  for (const char* positional : {"learned", "sinusoidal", "rope", "alibi", "none"}) {
    json c = kTinySeq2Seq;
    c["decoder"] = transformer;
    c["decoder"]["positional"] = positional;
    INFO(c.dump());
    check_padding_changes_nothing(*build(c, token_info(9, 7, 8)), source, target);
    c["encoder"] = transformer;
    c["encoder"]["embedding_size"] = 6;
    c["encoder"]["positional"] = positional;
    INFO(c.dump());
    check_padding_changes_nothing(*build(c, token_info(9, 7, 8)), source, target);
  }
}

TEST_CASE("language_model: the Transformer is causal under every attention variant") {
  for (const std::string& variant : nn::attention_names()) {
    INFO("attention ", variant);
    json c = kTinyTransformerLM;
    c["encoder"]["attention"] = variant;
    const auto model = build(c, token_info(10, 10, 6));
    model->eval();
    auto lm = std::dynamic_pointer_cast<nn::LanguageModel>(model);
    REQUIRE(lm);
    NoGradGuard no_grad;
    const std::vector<float> a = lm->logits(ids({4, 5, 6, 7, 8}, 1)).to_vector();
    const std::vector<float> b = lm->logits(ids({4, 5, 6, 9, 4}, 1)).to_vector();
    // Steps 0..2 read the same tokens; steps 3, 4 differ.
    check_close(std::vector<float>(b.begin(), b.begin() + 30),
                std::vector<float>(a.begin(), a.begin() + 30), 1e-5f, 1e-5f, "logits of steps 0-2");
    CHECK(b != a);
  }
}

TEST_CASE("language_model: a state carried across two windows equals one forward over both") {
  DataInfo info = token_info(10, 10, 6);
  info.carry_state = true;
  // Two rows of six tokens, as two windows of 4 and 2 steps (a stream's last window is shorter).
  const std::vector<int64_t> row0 = {4, 5, 6, 7, 8, 9}, row1 = {9, 8, 7, 6, 5, 4};
  // Steps [begin, end) of both rows, each token moved `shift` places round the ordinary 4..9.
  auto window = [&](int64_t begin, int64_t end, int64_t shift) {
    std::vector<int64_t> v;
    for (const auto* row : {&row0, &row1})
      for (int64_t t = begin; t < end; ++t) v.push_back(((*row)[t] - 4 + shift) % 6 + 4);
    return ids(v, 2);
  };
  for (const std::string cell : {"lstm", "gru", "rnn"}) {
    INFO("encoder ", cell);
    json c = kTinyLstmLM;
    c["encoder"]["type"] = cell;
    c["encoder"]["num_layers"] = 2;
    const auto model = build(c, info);
    model->eval();  // no dropout
    auto lm = std::dynamic_pointer_cast<nn::LanguageModel>(model);
    REQUIRE(lm);
    NoGradGuard no_grad;
    const std::vector<float> whole = lm->logits(window(0, 6, 0)).to_vector();
    nn::RecurrentState carried;
    const std::vector<float> first =
        lm->logits(window(0, 4, 0), Tensor(), {}, &carried).to_vector();
    const std::vector<float> second = lm->logits(window(4, 6, 0), Tensor(), carried).to_vector();
    const int64_t vocab = 10;
    std::vector<float> joined;  // row by row: the first window's 4 steps, then the second's 2
    for (int64_t r = 0; r < 2; ++r) {
      joined.insert(joined.end(), first.begin() + r * 4 * vocab,
                    first.begin() + (r + 1) * 4 * vocab);
      joined.insert(joined.end(), second.begin() + r * 2 * vocab,
                    second.begin() + (r + 1) * 2 * vocab);
    }
    check_close(joined, whole, 1e-5f, 1e-5f, "logits of the windows against the whole");
    // Without the carried state the second window reads no past, and differs.
    CHECK(lm->logits(window(4, 6, 0)).to_vector() != second);

    // forward() carries by itself: the token-weighted losses of the two windows are the whole's.
    const Batch a{window(0, 4, 0), window(0, 4, 1)}, b{window(4, 6, 0), window(4, 6, 1)};
    const Batch all{window(0, 6, 0), window(0, 6, 1)};
    CHECK(lm->carried_state().empty());  // the registry's probe batch left none
    const double loss_a = model->forward(a).loss.item(), loss_b = model->forward(b).loss.item();
    const StateDict state = lm->carried_state();
    REQUIRE(state.size() == (cell == "lstm" ? 2u : 1u));
    CHECK(state[0].first == "h_n");
    CHECK(state[0].second.shape() == Shape({2, 2, 5}));
    lm->set_carried_state({}, 2);  // a new epoch: from zeros
    CHECK(lm->carried_state().empty());
    const double loss_all = model->forward(all).loss.item();
    CHECK(loss_all == doctest::Approx((4 * loss_a + 2 * loss_b) / 6).epsilon(1e-5));
    // A batch of another row count starts from zeros, as after a reset.
    const Batch three{ids({4, 5, 6}, 3), ids({5, 6, 7}, 3)};
    const double carried_three = model->forward(three).loss.item();
    lm->set_carried_state({}, 3);
    CHECK(model->forward(three).loss.item() == carried_three);
  }
}

TEST_CASE("language_model: the carried state is detached, checked when set, and needs an RNN") {
  DataInfo info = token_info(10, 10, 6);
  info.carry_state = true;
  const auto model = build(kTinyLstmLM, info);
  auto lm = std::dynamic_pointer_cast<nn::LanguageModel>(model);
  REQUIRE(lm);
  const Batch batch{ids({4, 5, 6, 7, 8, 9}, 2), ids({5, 6, 7, 8, 9, 4}, 2)};
  model->forward(batch).loss.backward();  // training: the graph is recorded
  const StateDict state = lm->carried_state();
  REQUIRE(state.size() == 2);
  for (const auto& [name, t] : state) {
    INFO(name);
    CHECK(t.is_leaf());  // truncated BPTT: the next window's gradient stops here
    CHECK(!t.requires_grad());
  }
  lm->set_carried_state(state, 2);
  CHECK(lm->carried_state()[1].second.to_vector() == state[1].second.to_vector());
  CHECK(error_of([&] { lm->set_carried_state(state, 3); }) ==
        "language_model: state h_n is float32 [1, 2, 5], expected float32 [1, 3, 5] "
        "([num_layers, batch_size, hidden_size])");
  CHECK(error_of([&] { lm->set_carried_state({state[0]}, 2); }) ==
        "language_model: state c_n is missing");
  CHECK(error_of([&] {
          lm->set_carried_state({state[0], {"cell", state[1].second}}, 2);
        }) == "language_model: \"cell\" is not a state it carries (an LSTM carries h_n and c_n)");
  const auto plain =
      std::dynamic_pointer_cast<nn::LanguageModel>(build(kTinyLstmLM, token_info(10, 10, 6)));
  plain->forward(batch);
  CHECK(plain->carried_state().empty());  // without carry_state nothing is carried
  CHECK(error_of([&] { plain->set_carried_state(state, 2); }) ==
        "language_model: carries no state across batches (data.carry_state is false)");

  // A Transformer has no recurrent state: a recipe error naming data.carry_state.
  try {
    build(kTinyTransformerLM, info);
    FAIL_CHECK("expected a RecipeError");
  } catch (const RecipeError& e) {
    CHECK(e.path() == "data.carry_state");
    CHECK(std::string(e.what()) ==
          "recipe: \"data.carry_state\" is true, but the language model's encoder "
          "\"model.encoder\" is a Transformer, which has no recurrent state to carry across "
          "windows: set data.carry_state to false (or use an rnn, lstm or gru encoder)");
  }
}

TEST_CASE("token models: finite differences on tiny models") {
  const Batch lm_batch = padded({{4, 5, 6}, {7, 8}}, {{5, 6, 2}, {8, 2}});
  json tied = kTinyLstmLM;
  tied["tie_weights"] = true;
  tied["encoder"] = {{"type", "gru"}, {"hidden_size", 4}};
  json s2s_gru = kTinySeq2Seq;
  s2s_gru["decoder"]["type"] = "gru";
  json s2s_luong = kTinySeq2Seq;
  s2s_luong["decoder"]["attention"] = "luong_general";
  json s2s_local = kTinySeq2Seq;
  s2s_local["decoder"]["attention"] = {{"type", "local_m"}, {"window", 1}};
  const Batch s2s_batch = padded({{4, 5, 6}, {7, 8}}, {{5, 2}, {4, 6, 2}});
  const std::vector<std::tuple<std::string, json, DataInfo, Batch>> cases = {
      {"lstm language model", kTinyLstmLM, token_info(10, 10, 4), lm_batch},
      {"tied gru language model", tied, token_info(10, 10, 4), lm_batch},
      {"transformer language model", kTinyTransformerLM, token_info(10, 10, 4), lm_batch},
      {"seq2seq, additive attention", kTinySeq2Seq, token_info(9, 7, 4), s2s_batch},
      {"seq2seq, gru decoder", s2s_gru, token_info(9, 7, 4), s2s_batch},
      {"seq2seq, luong_general attention", s2s_luong, token_info(9, 7, 4), s2s_batch},
      {"seq2seq, local_m attention", s2s_local, token_info(9, 7, 4), s2s_batch},
  };
  for (const auto& [name, c, info, batch] : cases) {
    const auto model = build(c, info);
    model->eval();  // no dropout
    check_module_gradients({name,
                            model,
                            [&, &m = *model, &b = batch](const std::vector<Tensor>&) {
                              return m.forward(b).loss * 10.f;
                            },
                            {},
                            3e-3f,
                            3e-2f,
                            1e-2f});
  }
}

TEST_CASE("token models: bad options and data are recipe errors naming the key") {
  const DataInfo info = token_info(10, 10, 6);
  json c = kTinyLstmLM;
  c["tie_weights"] = true;
  CHECK(error_of([&] { build(c, info); })
            .find("\"model.tie_weights\" needs the encoder's width "
                  "(5) equal to the embedding size (4)") != std::string::npos);
  c = kTinyTransformerLM;
  c["embedding_size"] = 8;
  CHECK(error_of([&] { build(c, info); }).find("model.embedding_size") != std::string::npos);
  c = kTinyTransformerLM;
  c["encoder"]["nhead"] = 3;
  CHECK(error_of([&] { build(c, info); }).find("\"model.encoder.d_model\" (8) must be divisible") !=
        std::string::npos);
  c = kTinyLstmLM;
  c["encoder"]["bidirectional"] = true;
  CHECK(error_of([&] { build(c, info); }).find("model.encoder.bidirectional") != std::string::npos);
  c = kTinyTransformerLM;
  c["encoder"]["input_dropout"] = 0.1;  // the recurrent encoders' key
  CHECK(error_of([&] { build(c, info); }).find("unknown key \"model.encoder.input_dropout\"") !=
        std::string::npos);
  c = kTinyLstmLM;
  c["encoder"]["output_dropuot"] = 0.1;
  CHECK(error_of([&] { build(c, info); }).find("did you mean \"output_dropout\"") !=
        std::string::npos);
  c = kTinyLstmLM;
  c["embedding_dropout"] = 1.5;
  CHECK(error_of([&] { build(c, info); }).find("\"model.embedding_dropout\" must be in [0, 1]") !=
        std::string::npos);
  CHECK(error_of([&] {
          build(kTinyLstmLM, DataInfo{{6, 3}, 10});
        }).find("language_model: needs token inputs") != std::string::npos);

  json s = kTinySeq2Seq;
  s["decoder"]["attention"] = {{"type", "none"}, {"hidden_size", 5}};
  CHECK(error_of([&] {
          build(s, token_info(9, 7, 5));
        }).find("\"model.decoder.attention.hidden_size\" is not an option of alignment \"none\"") !=
        std::string::npos);
  s = kTinySeq2Seq;
  s["attention"] = "additive";  // where it was before it moved into the decoder
  CHECK(error_of([&] { build(s, token_info(9, 7, 5)); })
            .find("\"model.attention\" is the decoder's option now: write it as "
                  "\"model.decoder.attention\"") != std::string::npos);
  s = kTinySeq2Seq;
  s["encoder"]["type"] = "rnn";
  CHECK(error_of([&] { build(s, token_info(9, 7, 5)); }).find("model.encoder.type") !=
        std::string::npos);
  s = kTinySeq2Seq;
  s["encoder"] = {{"type", "transformer"}, {"d_model", 8}, {"nhead", 2}};
  CHECK(error_of([&] { build(s, token_info(9, 7, 5)); })
            .find("decoder \"lstm\" starts from the encoder's final states, which this encoder "
                  "does not give (a Transformer encoder has none): use the decoder "
                  "\"transformer\"") != std::string::npos);
  s = kTinySeq2Seq;
  s["decoder"]["hidden_size"] = 8;
  CHECK(error_of([&] { build(s, token_info(9, 7, 5)); }).find("model.decoder.hidden_size") !=
        std::string::npos);
  s = kTinySeq2Seq;
  s["encoder"]["hidden_size"] = 0;
  CHECK(error_of([&] {
          build(s, token_info(9, 7, 5));
        }).find("\"model.encoder.hidden_size\" must be in [1, 1048576], got 0") !=
        std::string::npos);
}

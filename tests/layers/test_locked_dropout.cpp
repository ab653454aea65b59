// LockedDropout (variational dropout, Gal & Ghahramani 2016; Merity et al. 2018): one mask per
// sequence and feature, the same at every step; gradient check with the mask fixed by the seed.
// PyTorch has no such layer, so the reference is the definition itself: y = x * m[b, f] / (1-p).
// Then where it is wired in, AWD-LSTM's way: the RNNs' locked_dropout (variational between-layer
// dropout, checked against the layers composed by hand with the generator replayed) and the
// sequence classifier's input_dropout / output_dropout keys.

#include <doctest/doctest.h>

#include "fixture.h"
#include "framework/config.h"
#include "framework/ops.h"
#include "framework/registry.h"
#include "gradcheck.h"
#include "layers/dropout.h"
#include "layers/models/sequence_classifier.h"
#include "layers/rnn.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;

namespace {

// A generator in the same state as `gen`, to replay the draws a forward is about to make.
Generator replay_of(const Generator& gen) {
  Generator copy;
  copy.set_state(gen.state());
  return copy;
}

// The parameters of layer k of a stacked RNN, renamed to those of a 1-layer one.
StateDict layer_state(const nn::RNNBase& rnn, int64_t k) {
  const std::string tag = "_l" + std::to_string(k);
  StateDict out;
  for (auto [name, t] : rnn.named_parameters()) {
    const size_t at = name.find(tag);
    if (at == std::string::npos) continue;
    out.emplace_back(name.replace(at, tag.size(), "_l0"), t);
  }
  return out;
}

}  // namespace

TEST_CASE("LockedDropout: one mask per sequence and feature, constant over time, scaled 1/(1-p)") {
  Generator gen(3);
  nn::LockedDropout drop(0.4f, gen);
  const int64_t batch = 5, seq = 7, features = 11;
  const Tensor x = Tensor::full({batch, seq, features}, 2.f);
  const std::vector<float> y = drop.forward(x).to_vector();
  int64_t dropped = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t f = 0; f < features; ++f) {
      const float first = y[(b * seq) * features + f];
      CHECK((first == 0.f || first == doctest::Approx(2.f / 0.6f)));
      dropped += first == 0.f;
      for (int64_t t = 1; t < seq; ++t) CHECK(y[(b * seq + t) * features + f] == first);
    }
  CHECK(dropped > 0);  // 55 draws at p = 0.4: some of each
  CHECK(dropped < batch * features);

  drop.eval();
  CHECK(drop.forward(x).to_vector() == x.to_vector());
  drop.train();
  nn::LockedDropout all(1.f, gen);
  for (float v : all.forward(x).to_vector()) CHECK(v == 0.f);
  CHECK(drop.repr() == "LockedDropout(p=0.4)");
  CHECK(drop.named_parameters().empty());
}

TEST_CASE("LockedDropout: gradient check, and bad input is an error naming the shape") {
  Generator data(9);
  heed::testing::check_gradients({"LockedDropout(p=0.3) [2, 4, 3]",
                                  [](const std::vector<Tensor>& in) {
                                    Generator gen(11);  // the same mask at every call
                                    return nn::LockedDropout(0.3f, gen).forward(in[0]);
                                  },
                                  {Tensor::randn({2, 4, 3}, data)}});
  Generator gen(1);
  CHECK_THROWS_WITH(nn::LockedDropout(0.5f, gen).forward(Tensor::zeros({4, 3})),
                    "LockedDropout: expected input [batch, seq, features], got [4, 3]");
  CHECK_THROWS_WITH(nn::LockedDropout(1.5f, gen),
                    "LockedDropout: dropout probability has to be between 0 and 1, but got 1.5");
}

TEST_CASE("locked_dropout: the seq-first layout draws the same mask m[b, f] as batch_first") {
  Generator gen(4);
  const Tensor x = rnd({3, 5, 6}, 2);  // [batch, seq, features]
  Generator again = replay_of(gen);
  const Tensor batch_first = nn::locked_dropout(x, 0.5f, true, gen);
  const Tensor seq_first = nn::locked_dropout(x.transpose(0, 1), 0.5f, true, again, false);
  CHECK(seq_first.transpose(0, 1).contiguous().to_vector() == batch_first.to_vector());
  // Identity without a draw in eval or at p = 0: a model with the option off draws what it drew.
  const auto state = gen.state();
  CHECK(nn::locked_dropout(x, 0.5f, false, gen).to_vector() == x.to_vector());
  CHECK(nn::locked_dropout(x, 0.f, true, gen).to_vector() == x.to_vector());
  CHECK(gen.state() == state);
}

TEST_CASE("RNN locked_dropout: between layers, one mask per sequence and feature, all steps") {
  // A 2-layer bidirectional LSTM with lengths equals layer 0, LockedDropout's mask (the same
  // generator draw), layer 1: the mask covers both directions' features of layer 0's output and
  // every step, and the zeros past a sequence's end stay zeros.
  Generator gen(8);
  const nn::LSTMOptions o{.input_size = 3,
                          .hidden_size = 4,
                          .num_layers = 2,
                          .dropout = 0.5f,
                          .bidirectional = true,
                          .locked_dropout = true};
  nn::LSTM stacked(o, gen);
  nn::LSTM layer0({.input_size = 3, .hidden_size = 4, .bidirectional = true}, gen);
  nn::LSTM layer1({.input_size = 8, .hidden_size = 4, .bidirectional = true}, gen);
  layer0.load_state_dict(layer_state(stacked, 0));
  layer1.load_state_dict(layer_state(stacked, 1));
  const Tensor x = rnd({3, 6, 3}, 9);
  const Tensor lengths = Tensor::from_vector_i64({6, 2, 4}, {3});

  Generator replay = replay_of(gen);
  const nn::RNNOutput got = stacked.forward(x, lengths);
  const Tensor between = nn::locked_dropout(layer0.forward(x, lengths).output, 0.5f, true, replay);
  const nn::RNNOutput want = layer1.forward(between, lengths);
  check_close(got.output.to_vector(), want.output.to_vector(), 1e-6f, 1e-5f, "output");
  check_close(got.h_n.narrow(0, 2, 2).to_vector(), want.h_n.to_vector(), 1e-6f, 1e-5f, "h_n");
  CHECK(gen.state() == replay.state());  // one draw for the one place between layers

  // The mask is one of m[b, f] per sequence: every step of a feature is kept or dropped together.
  const std::vector<float> h = between.to_vector(),
                           raw = layer0.forward(x, lengths).output.to_vector();
  int64_t dropped = 0;
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t f = 0; f < 8; ++f) {
      const bool off = h[(b * 6) * 8 + f] == 0.f;
      dropped += off;
      for (int64_t t = 0; t < 6; ++t) {
        const size_t i = static_cast<size_t>((b * 6 + t) * 8 + f);
        CHECK(h[i] == doctest::Approx(off ? 0.f : 2.f * raw[i]));
      }
    }
  CHECK(dropped > 0);
  CHECK(dropped < 24);

  // PyTorch's element dropout (the default) draws a different mask; eval is the plain stack.
  nn::LSTMOptions plain_options = o;
  plain_options.locked_dropout = false;
  nn::LSTM plain(plain_options, gen);
  plain.load_state_dict(stacked.state_dict());
  Generator before = replay_of(gen);
  const Tensor element = plain.forward(x, lengths).output;
  gen.set_state(before.state());
  CHECK(element.to_vector() != stacked.forward(x, lengths).output.to_vector());
  stacked.eval();
  check_close(stacked.forward(x, lengths).output.to_vector(),
              layer1.forward(layer0.forward(x, lengths).output, lengths).output.to_vector(), 1e-6f,
              1e-5f, "eval output");
}

TEST_CASE("RNN locked_dropout: gradient check through a 2-layer bidirectional GRU with lengths") {
  const Tensor lengths = Tensor::from_vector_i64({3, 1}, {2});
  heed::testing::check_gradients(
      {"GRU 2 layers, bidirectional, locked dropout 0.4, lengths [3, 1]",
       [lengths](const std::vector<Tensor>& in) {
         Generator gen(11);  // the same weights and the same mask at every call
         nn::GRU gru({.input_size = 2,
                      .hidden_size = 3,
                      .num_layers = 2,
                      .dropout = 0.4f,
                      .bidirectional = true,
                      .locked_dropout = true},
                     gen);
         const nn::RNNOutput out = gru.forward(in[0], lengths);
         return ops::concat({out.output.reshape({-1}), out.h_n.reshape({-1})}, 0);
       },
       {rnd({2, 3, 2}, 12)}});
}

namespace {

std::shared_ptr<Model> classifier(const nlohmann::json& encoder, Generator& gen,
                                  int64_t num_classes = 3) {
  return build_model(Config({{"type", "sequence_classifier"}, {"encoder", encoder}}, "model"),
                     DataInfo{{5, 4}, num_classes}, gen);
}

}  // namespace

TEST_CASE("sequence_classifier: input_dropout, output_dropout and locked_dropout keys") {
  Generator gen(0);
  const auto model = classifier({{"type", "gru"},
                                 {"hidden_size", 3},
                                 {"num_layers", 2},
                                 {"dropout", 0.25},
                                 {"locked_dropout", true},
                                 {"input_dropout", 0.2},
                                 {"output_dropout", 0.3}},
                                gen);
  const std::string tree = model->to_string();
  CHECK(tree.find("  (input_dropout): LockedDropout(p=0.2)\n  (gru): GRU(") != std::string::npos);
  CHECK(tree.find("dropout=0.25, bidirectional=false, weight_drop=0, locked_dropout=true)\n"
                  "  (output_dropout): LockedDropout(p=0.3)\n") != std::string::npos);
  for (const auto& [key, nearest] :
       std::vector<std::pair<std::string, std::string>>{{"input_droput", "input_dropout"},
                                                        {"output_dropuot", "output_dropout"},
                                                        {"locked_dropuot", "locked_dropout"}})
    CHECK_THROWS_WITH_AS(
        classifier({{"type", "lstm"}, {key, 0.1}}, gen),
        doctest::Contains(
            ("\"model.encoder." + key + "\" is not an option of encoder \"lstm\"").c_str()),
        heed::Error);
  for (const auto& [key, nearest] :
       std::vector<std::pair<std::string, std::string>>{{"input_droput", "input_dropout"},
                                                        {"output_dropuot", "output_dropout"},
                                                        {"locked_dropuot", "locked_dropout"}})
    CHECK_THROWS_WITH_AS(classifier({{"type", "lstm"}, {key, 0.1}}, gen),
                         doctest::Contains(("; did you mean \"" + nearest + "\"?").c_str()),
                         heed::Error);
  CHECK_THROWS_WITH_AS(classifier({{"type", "lstm"}, {"locked_dropout", 0.5}}, gen),
                       doctest::Contains("\"model.encoder.locked_dropout\" must be a"),
                       heed::Error);
  CHECK_THROWS_WITH_AS(classifier({{"type", "lstm"}, {"output_dropout", 1.5}}, gen),
                       "recipe: \"model.encoder.output_dropout\" must be in [0, 1], got 1.5",
                       heed::Error);
  // The transformer encoder has its own dropout keys: these are the recurrent encoders'.
  CHECK_THROWS_WITH_AS(
      classifier({{"type", "transformer"}, {"d_model", 8}, {"nhead", 2}, {"input_dropout", 0.1}},
                 gen),
      doctest::Contains("\"model.encoder.input_dropout\" is not an option of encoder "
                        "\"transformer\""),
      heed::Error);
}

TEST_CASE("sequence_classifier: with every new key at its default, no generator draw") {
  // So every recipe from before these keys trains on the same random numbers, bit for bit.
  Generator gen(1);
  for (const nlohmann::json& extra :
       {nlohmann::json::object(), nlohmann::json{{"locked_dropout", true}}}) {
    nlohmann::json encoder{{"type", "lstm"}, {"hidden_size", 3}, {"num_layers", 2}};
    encoder.update(extra);
    const auto model = classifier(encoder, gen);
    auto* c = dynamic_cast<nn::SequenceClassifier*>(model.get());
    REQUIRE(c);
    const auto state = gen.state();
    c->logits(rnd({2, 5, 4}, 3));
    CHECK(gen.state() == state);
  }
}

TEST_CASE(
    "sequence_classifier: input dropout on x, output dropout before pooling, bidirectional "
    "last pools each feature through its one mask entry") {
  // fc is set to the identity (6 classes = 2 * hidden_size), so the logits are the pooled vector:
  // forward half from the last step, reverse half from step 0, of the dropped outputs.
  Generator gen(21);
  const float p_in = 0.3f, p_out = 0.5f;
  const auto model = classifier({{"type", "lstm"},
                                 {"hidden_size", 3},
                                 {"bidirectional", true},
                                 {"input_dropout", p_in},
                                 {"output_dropout", p_out}},
                                gen, 6);
  std::vector<float> eye(36, 0.f);
  for (size_t i = 0; i < 6; ++i) eye[i * 7] = 1.f;
  StateDict state = model->state_dict(), lstm_state;
  for (auto& [name, t] : state) {
    if (name == "fc.weight") t = Tensor::from_vector(eye, {6, 6});
    if (name == "fc.bias") t = Tensor::zeros({6});
    if (name.rfind("lstm.", 0) == 0) lstm_state.emplace_back(name.substr(5), t);
  }
  model->load_state_dict(state);
  nn::LSTM lstm({.input_size = 4, .hidden_size = 3, .bidirectional = true}, gen);
  lstm.load_state_dict(lstm_state);
  auto* c = dynamic_cast<nn::SequenceClassifier*>(model.get());
  REQUIRE(c);

  const Tensor x = rnd({4, 5, 4}, 22);
  Generator replay = replay_of(gen);
  const Tensor got = c->logits(x);
  const Tensor out = lstm.forward(nn::locked_dropout(x, p_in, true, replay)).output;
  const Tensor dropped = nn::locked_dropout(out, p_out, true, replay);
  const Tensor pooled =
      ops::concat({dropped.select(1, -1).narrow(1, 0, 3), dropped.select(1, 0).narrow(1, 3, 3)}, 1);
  check_close(got.to_vector(), pooled.to_vector(), 1e-6f, 1e-5f, "pooled, dropped");
  CHECK(gen.state() == replay.state());

  // Each pooled feature is 0 or its undropped value / (1 - p), both in each direction's half.
  const std::vector<float> g = got.to_vector();
  const std::vector<float> h =
      ops::concat({out.select(1, -1).narrow(1, 0, 3), out.select(1, 0).narrow(1, 3, 3)}, 1)
          .to_vector();
  int kept[2] = {0, 0}, zero[2] = {0, 0};
  for (size_t i = 0; i < g.size(); ++i) {
    const int half = (i % 6) < 3 ? 0 : 1;
    if (g[i] == 0.f) {
      ++zero[half];
    } else {
      ++kept[half];
      CHECK(g[i] == doctest::Approx(h[i] / (1.f - p_out)));
    }
  }
  CHECK(kept[0] > 0);
  CHECK(kept[1] > 0);
  CHECK(zero[0] > 0);
  CHECK(zero[1] > 0);

  model->eval();
  check_close(c->logits(x).to_vector(),
              ops::concat({lstm.forward(x).output.select(1, -1).narrow(1, 0, 3),
                           lstm.forward(x).output.select(1, 0).narrow(1, 3, 3)},
                          1)
                  .to_vector(),
              1e-6f, 1e-5f, "eval: no dropout");
}

TEST_CASE("sequence_classifier: gradient check through input, locked and output dropout") {
  heed::testing::check_gradients(
      {"lstm 2 layers, input 0.3, locked dropout 0.4, output 0.3, pooling last",
       [](const std::vector<Tensor>& in) {
         Generator gen(31);  // the same model and masks at every call
         const auto model = classifier({{"type", "lstm"},
                                        {"hidden_size", 3},
                                        {"num_layers", 2},
                                        {"dropout", 0.4},
                                        {"locked_dropout", true},
                                        {"input_dropout", 0.3},
                                        {"output_dropout", 0.3}},
                                       gen);
         return dynamic_cast<nn::SequenceClassifier&>(*model).logits(in[0]);
       },
       {rnd({2, 5, 4}, 32)}});
}

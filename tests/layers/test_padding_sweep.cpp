// The padding sweep: every registered encoder x pooling (x alignment) x attention variant, built
// as a SequenceClassifier and run on one padded batch of sequences of different lengths, gives
// each sequence the logits it gets alone, and the same gradients: the parameters' gradient is the
// sum of the per-sequence gradients, the input's equals each sequence's at its real steps and is
// zero at the padding. The padding holds large random values, so a layer that read it would show.

#include <doctest/doctest.h>

#include "framework/config.h"
#include "framework/data.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "gradcheck.h"
#include "layers/attention/alignment.h"
#include "layers/attention/registry.h"
#include "layers/encoders/encoder.h"
#include "layers/models/sequence_classifier.h"
#include "layers/poolings/pooling.h"
#include "testing.h"

using namespace heed;
using testing::check_close;

namespace {

constexpr int64_t kSeq = 6, kFeatures = 3, kClasses = 3;
const std::vector<int64_t> kLengths = {4, 6, 1, 3};  // unsorted, one full, one of a single step
const DataInfo kInfo{.input_shape = {kSeq, kFeatures}, .num_classes = kClasses};
constexpr float kAtol = 2e-5f, kRtol = 1e-4f;

// A batch of kLengths.size() sequences with N(0, 1) real steps and N(0, 30^2) padding.
Tensor padded_input() {
  const int64_t batch = static_cast<int64_t>(kLengths.size());
  Generator gen(11);
  Tensor x = Tensor::randn({batch, kSeq, kFeatures}, gen);
  const Tensor junk = Tensor::randn({batch, kSeq, kFeatures}, gen) * 30.f;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = kLengths[b]; t < kSeq; ++t)
      for (int64_t f = 0; f < kFeatures; ++f)
        x.data()[(b * kSeq + t) * kFeatures + f] = junk.data()[(b * kSeq + t) * kFeatures + f];
  return x;
}

std::vector<std::vector<float>> gradients(const nn::SequenceClassifier& m) {
  std::vector<std::vector<float>> out;
  for (const Tensor& p : m.parameters())
    out.push_back(p.grad().defined() ? p.grad().to_vector() : std::vector<float>(p.numel(), 0.f));
  return out;
}

// Runs `model` (a sequence_classifier section) both ways and compares.
void check_padding_changes_nothing(const nlohmann::json& model) {
  INFO(model.dump());
  Generator gen(5);
  nn::SequenceClassifier m(Config(model, "model"), kInfo, gen);
  m.eval();  // no dropout; Gumbel and hard attention take their deterministic forms
  const int64_t batch = static_cast<int64_t>(kLengths.size());
  const Tensor weights = testing::rnd({batch, kClasses}, 3);  // d loss / d logits

  Tensor x = padded_input().requires_grad_();
  const Tensor lengths = Tensor::from_vector_i64(kLengths, {batch});
  const Tensor logits = m.logits(x, lengths);
  ops::sum(logits * weights).backward();
  const std::vector<std::vector<float>> batch_grads = gradients(m);
  const Tensor x_grad = x.grad();

  m.zero_grad();  // the loop below accumulates the per-sequence gradients
  for (int64_t b = 0; b < batch; ++b) {
    INFO("sequence ", b, " of length ", kLengths[b]);
    Tensor alone = x.detach().narrow(0, b, 1).narrow(1, 0, kLengths[b]).contiguous();
    alone.requires_grad_();
    const Tensor own = m.logits(alone);
    ops::sum(own * weights.narrow(0, b, 1)).backward();
    check_close(logits.detach().narrow(0, b, 1).contiguous().to_vector(), own.to_vector(), kAtol,
                kRtol, "logits");
    const Tensor grad_b = x_grad.narrow(0, b, 1);
    check_close(grad_b.narrow(1, 0, kLengths[b]).contiguous().to_vector(), alone.grad().to_vector(),
                kAtol, kRtol, "input gradient at the real steps");
    const std::vector<float> at_padding =
        grad_b.narrow(1, kLengths[b], kSeq - kLengths[b]).contiguous().to_vector();
    check_close(at_padding, std::vector<float>(at_padding.size(), 0.f), 0.f, 0.f,
                "input gradient at the padding");
  }
  const std::vector<std::vector<float>> summed = gradients(m);
  const auto names = m.named_parameters();
  for (size_t i = 0; i < summed.size(); ++i)
    check_close(batch_grads[i], summed[i], kAtol, kRtol, "gradient of " + names[i].first);
}

nlohmann::json transformer(const std::string& attention, const std::string& positional) {
  return {{"type", "transformer"},   {"d_model", 8},          {"nhead", 2},
          {"num_layers", 2},         {"dim_feedforward", 16}, {"attention", attention},
          {"positional", positional}};
}

// Every pooling that fits `encoder`, with each alignment for pooling "attention".
std::vector<nlohmann::json> poolings(const std::string& encoder) {
  std::vector<nlohmann::json> out;
  for (const std::string& pooling : nn::pooling_names()) {
    if (pooling == "query" && encoder != "transformer") continue;
    if (pooling != "attention") out.push_back(pooling);
    if (pooling == "attention")
      for (const std::string& alignment : nn::alignment_names())
        out.push_back({{"type", "attention"}, {"attention", alignment}});
  }
  return out;
}

}  // namespace

TEST_CASE("padding sweep: every RNN encoder x pooling x alignment ignores the padding") {
  for (const std::string& encoder : nn::encoder_names()) {
    if (encoder == "transformer") continue;
    for (const bool bidirectional : {false, true})
      for (const nlohmann::json& pooling : poolings(encoder))
        check_padding_changes_nothing({{"encoder",
                                        {{"type", encoder},
                                         {"hidden_size", 4},
                                         {"num_layers", 2},
                                         {"bidirectional", bidirectional}}},
                                       {"pooling", pooling}});
  }
}

TEST_CASE("padding sweep: every Transformer attention variant x pooling ignores the padding") {
  for (const std::string& attention : nn::attention_names())
    for (const nlohmann::json& pooling : poolings("transformer"))
      check_padding_changes_nothing(
          {{"encoder", transformer(attention, "learned")}, {"pooling", pooling}});
}

TEST_CASE("padding sweep: every attention variant x position encoding ignores the padding") {
  for (const std::string& attention : nn::attention_names())
    for (const char* positional : {"sinusoidal", "rope", "alibi", "none"}) {
      const nlohmann::json model = {{"encoder", transformer(attention, positional)},
                                    {"pooling", "mean"}};
      // ALiBi adds a distance bias to dot-product scores; variants without them refuse it.
      try {
        Generator gen(0);
        nn::SequenceClassifier m(Config(model, "model"), kInfo, gen);
      } catch (const Error& e) {
        CHECK_MESSAGE(positional == std::string("alibi"), e.what());
        continue;
      }
      check_padding_changes_nothing(model);
    }
}

TEST_CASE("padding sweep: lengths outside [1, seq] are errors naming the part") {
  Generator gen(0);
  nn::SequenceClassifier m(
      Config({{"encoder", transformer("scaled_dot_product", "learned")}}, "model"), kInfo, gen);
  const Tensor x = Tensor::zeros({2, kSeq, kFeatures});
  CHECK(testing::error_of([&] {
          m.logits(x, Tensor::from_vector_i64({3, 0}, {2}));
        }).find("lengths[1] = 0 is outside [1, 6]") != std::string::npos);
  CHECK(testing::error_of([&] {
          m.logits(x, Tensor::from_vector_i64({7, 1}, {2}));
        }).find("lengths[0] = 7 is outside [1, 6]") != std::string::npos);
  CHECK(testing::error_of([&] {
          m.logits(x, Tensor::from_vector_i64({3}, {1}));
        }).find("lengths must be int64 [batch] = [2]") != std::string::npos);
}

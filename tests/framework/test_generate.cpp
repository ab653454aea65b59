// Sampling (framework/sampling.h): greedy, temperature, top-k, the special tokens never drawn,
// the context window; and `heed generate` through the command line on a tiny trained language
// model, with its errors.

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "framework/random.h"
#include "framework/sampling.h"
#include "temp_dir.h"
#include "testing.h"

using namespace heed;

namespace {

// vocab 8: ids 0-3 special, 4-7 ordinary.
Tensor logits_of(const std::vector<float>& values) {
  return Tensor::from_vector(values, {static_cast<int64_t>(values.size())});
}

// A model that predicts (last token + 1), wrapping 4..7, and records the contexts it saw.
class Counting : public NextTokenModel {
 public:
  Tensor next_token_logits(const Tensor& tokens) const override {
    contexts.push_back(tokens.size(1));
    const int64_t last = tokens.to_vector_i64().back();
    std::vector<float> l(8, 0.f);
    l[static_cast<size_t>(4 + (last - 4 + 1) % 4)] = 10.f;
    return logits_of(l).reshape({1, 8});
  }
  int64_t max_context() const override { return 3; }
  mutable std::vector<int64_t> contexts;
};

}  // namespace

TEST_CASE("sampling: greedy takes the most likely ordinary token, never a special one") {
  Generator gen(0);
  // <unk> (3) has the largest logit, but special tokens are never drawn.
  const Tensor l = logits_of({0, 0, 0, 9, 1, 5, 5, 2});
  CHECK(sample_token(l, {.temperature = 0.f}, gen) == 5);  // a tie goes to the lower id
  for (int i = 0; i < 50; ++i) CHECK(sample_token(l, {.temperature = 1.f, .top_k = 1}, gen) == 5);
  for (int i = 0; i < 200; ++i) CHECK(sample_token(l, {.temperature = 3.f}, gen) >= 4);
}

TEST_CASE("sampling: frequencies follow softmax(logits / T), top-k cuts the tail") {
  Generator gen(1);
  // p(5) / p(4) = 3 at T = 1; at T = 2 it is sqrt(3). Ids 6, 7 are nearly impossible.
  const Tensor l = logits_of({0, 0, 0, 0, 0, std::log(3.f), -30, -30});
  auto share_of_5 = [&](SamplingOptions o) {
    int fives = 0;
    for (int i = 0; i < 4000; ++i) fives += sample_token(l, o, gen) == 5;
    return fives / 4000.0;
  };
  CHECK(share_of_5({.temperature = 1.f}) == doctest::Approx(0.75).epsilon(0.05));
  CHECK(share_of_5({.temperature = 2.f}) ==
        doctest::Approx(std::sqrt(3.0) / (1 + std::sqrt(3.0))).epsilon(0.05));
  // Flat logits with top-k 2: only the first two ordinary ids (ties by id) are ever drawn.
  const Tensor flat = logits_of({0, 0, 0, 0, 1, 1, 1, 1});
  for (int i = 0; i < 200; ++i) CHECK(sample_token(flat, {.top_k = 2}, gen) <= 5);
}

TEST_CASE("sampling: bad options and logits are errors") {
  Generator gen(0);
  const Tensor l = logits_of({0, 0, 0, 0, 1, 2});
  CHECK(testing::error_of([&] {
          sample_token(l, {.temperature = -1.f}, gen);
        }).find("must be >= 0") != std::string::npos);
  CHECK(testing::error_of([&] {
          sample_token(logits_of({0, 0, 0, 0}), {}, gen);
        }).find("vocab > 4") != std::string::npos);
}

TEST_CASE("generate: each token from the last max_context tokens, the prompt not repeated") {
  Counting model;
  Generator gen(0);
  const std::vector<int64_t> out = generate_tokens(model, {4, 5}, 5, {.temperature = 0.f}, gen);
  CHECK(out == std::vector<int64_t>{6, 7, 4, 5, 6});
  CHECK(model.contexts == std::vector<int64_t>{2, 3, 3, 3, 3});
  CHECK(testing::error_of([&] {
          generate_tokens(model, {}, 3, {}, gen);
        }).find("at least one token") != std::string::npos);
}

TEST_CASE("heed generate: a tiny language model run continues a prompt; bad input is an error") {
  testing::TempDir dir;
  std::ofstream(dir.file("corpus.txt"))
      << std::string(400, 'a') + "ab\nba\n" + std::string(100, 'b');
  const nlohmann::json recipe = {
      {"data", {{"name", "text"}, {"path", dir.file("corpus.txt")}, {"bptt", 16}}},
      {"model",
       {{"type", "language_model"},
        {"embedding_size", 8},
        {"encoder", {{"type", "lstm"}, {"hidden_size", 8}}}}},
      {"optimizer", {{"name", "adam"}, {"lr", 0.01}}},
      {"train", {{"epochs", 1}, {"batch_size", 4}, {"seed", 1}, {"threads", 1}}}};
  std::ofstream(dir.file("lm.json")) << recipe.dump();
  const std::string run = dir.file("run");
  REQUIRE(
      testing::run_cli("train " + dir.file("lm.json") + " --out " + run, dir.fs_path()).status ==
      0);

  const auto [status, text] = testing::run_with_stdout(
      "generate " + run + " --prompt ab --length 30 --seed 3", dir.fs_path());
  CHECK(status == 0);
  REQUIRE(text.size() == 2 + 30 + 1);  // prompt, 30 one-byte characters, newline
  CHECK(text.rfind("ab", 0) == 0);
  for (char c : text.substr(2, 30)) CHECK((c == 'a' || c == 'b' || c == '\n'));
  // The same seed draws the same text; greedy needs none.
  CHECK(testing::run_with_stdout("generate " + run + " --prompt ab --length 30 --seed 3",
                                 dir.fs_path())
            .second == text);
  CHECK(testing::run_with_stdout("generate " + run + " --prompt a --temperature 0 --length 5",
                                 dir.fs_path())
            .first == 0);

  const testing::CliResult unknown =
      testing::run_cli("generate " + run + " --prompt abz", dir.fs_path());
  CHECK(unknown.status == 1);
  CHECK(unknown.err.find("--prompt: the character \"z\" is not in the run's vocabulary") !=
        std::string::npos);
  CHECK(
      testing::run_cli("generate " + run + " --prompt a --temperature -1", dir.fs_path()).status ==
      2);
  CHECK(testing::run_cli("generate " + run + " --prompt ''", dir.fs_path())
            .err.find("at least one token") != std::string::npos);
  CHECK(testing::run_cli("generate " + dir.file("nothing") + " --prompt a", dir.fs_path())
            .err.find("no such directory") != std::string::npos);
}

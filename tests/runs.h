#pragma once
// Small training runs of each model family, and the checks that two runs ended in the same state,
// for the tests of stopping, killing and resuming runs (test_interrupts.cpp, test_run_dir.cpp).

#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "framework/checkpoint.h"
#include "framework/files.h"

namespace heed::testing {

namespace fs = std::filesystem;

/// The encoder of the small Transformer runs: one layer, d_model 16, 2 heads.
inline nlohmann::json small_transformer_encoder() {
  return {{"type", "transformer"}, {"d_model", 16},         {"nhead", 2},
          {"num_layers", 1},       {"dim_feedforward", 32}, {"dropout", 0.1}};
}

/// A run of "lstm", "gru", "rnn", "transformer" or "cnn_bn": 60 steps over 6 epochs that cross
/// epochs, evaluate, checkpoint between epochs and draw dropout masks, in about a second.
inline nlohmann::json recipe_for(const std::string& model) {
  nlohmann::json r = {{"data",
                       {{"name", "fashion_mnist"},
                        {"max_train_samples", 320},
                        {"dev_samples", 200},
                        {"max_test_samples", 500}}},
                      {"optimizer", {{"name", "adam"}, {"lr", 0.003}}},
                      {"train",
                       {{"epochs", 6},
                        {"batch_size", 32},
                        {"seed", 11},
                        {"log_interval", 4},
                        {"threads", 1},
                        {"checkpoint_every_steps", 7}}}};
  if (model == "cnn_bn") {
    r["data"]["layout"] = "image";
    r["model"] = {{"type", "image_classifier"},
                  {"layers",
                   {{{"type", "conv2d"}, {"out_channels", 4}, {"kernel_size", 3}},
                    {{"type", "batch_norm2d"}},
                    {{"type", "relu"}},
                    {{"type", "max_pool2d"}, {"kernel_size", 2}},
                    {{"type", "flatten"}},
                    {{"type", "dropout"}, {"p", 0.2}}}}};
  } else if (model == "transformer") {
    r["model"] = {{"type", "sequence_classifier"}, {"encoder", small_transformer_encoder()}};
  } else {
    r["model"] = {{"type", "sequence_classifier"},
                  {"encoder", {{"type", model}, {"hidden_size", 16}, {"dropout", 0.0}}},
                  {"dropout", 0.2}};
  }
  return r;
}

/// metrics.jsonl's lines without what depends on the clock, and without `progress`, the share of
/// the budget of the session that wrote the line (a run resumed with more epochs has a larger one).
inline std::vector<nlohmann::json> logged(const fs::path& dir) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(dir / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    for (const char* key : {"elapsed_s", "samples_per_s", "interrupted", "progress"}) j.erase(key);
    lines.push_back(j);
  }
  return lines;
}

inline bool same_tensors(const StateDict& a, const StateDict& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first || a[i].second.shape() != b[i].second.shape()) return false;
    const Tensor x = a[i].second.contiguous(), y = b[i].second.contiguous();
    const size_t bytes = static_cast<size_t>(x.numel()) * (x.dtype() == Dtype::Float32 ? 4 : 8);
    const void* px =
        x.dtype() == Dtype::Float32 ? static_cast<const void*>(x.data()) : x.data_i64();
    const void* py =
        y.dtype() == Dtype::Float32 ? static_cast<const void*>(y.data()) : y.data_i64();
    if (std::memcmp(px, py, bytes) != 0) return false;
  }
  return true;
}

/// The run in `dir` ended exactly where `reference` ended: the same parameters, optimizer state,
/// random stream and averaged weights bit for bit, the same metrics.jsonl lines, and no temporary
/// file left.
inline void check_same_end(const fs::path& dir, const fs::path& reference) {
  const Checkpoint a = load_checkpoint((dir / "checkpoints" / "last.h5").string());
  const Checkpoint b = load_checkpoint((reference / "checkpoints" / "last.h5").string());
  CHECK(a.progress.step == b.progress.step);
  CHECK(a.progress.epoch == b.progress.epoch);
  CHECK(a.rng == b.rng);
  CHECK(same_tensors(a.model, b.model));
  CHECK(same_tensors(a.optimizer, b.optimizer));
  REQUIRE(a.carried_state.has_value() == b.carried_state.has_value());
  if (a.carried_state) CHECK(same_tensors(*a.carried_state, *b.carried_state));
  REQUIRE(a.averaged_model.has_value() == b.averaged_model.has_value());
  if (a.averaged_model) CHECK(same_tensors(*a.averaged_model, *b.averaged_model));
  CHECK(logged(dir) == logged(reference));
  for (const fs::path& d : {dir, dir / "checkpoints"})
    for (const auto& entry : fs::directory_iterator(d))
      CHECK_FALSE(files::is_temporary(entry.path().filename().string()));
}

// 400 pseudo-random letters (a linear congruential generator): train 360, dev 20, test 20.
inline std::string write_letters(const fs::path& file) {
  std::string text;
  for (uint32_t x = 7; text.size() < 400;) {
    x = x * 1103515245u + 12345u;
    text += static_cast<char>('a' + (x >> 16) % 26);
  }
  std::ofstream(file, std::ios::binary) << text;
  return file.string();
}

// A tiny LSTM language model carrying its state across windows, with dropout (the random stream)
// and a dev evaluation every 5 steps (which must set the training state aside and put it back):
// train is 4 streams of 90 characters, 12 windows of 8 (the last of 1) each, so 12 steps an
// epoch; dev is 2 streams of 10.
inline nlohmann::json carry_recipe(const std::string& corpus, int64_t max_steps) {
  return {{"data", {{"name", "text"}, {"path", corpus}, {"bptt", 8}, {"carry_state", true}}},
          {"model",
           {{"type", "language_model"},
            {"embedding_size", 6},
            {"dropout", 0.2},
            {"encoder", {{"type", "lstm"}, {"hidden_size", 10}, {"num_layers", 2}}}}},
          {"optimizer", {{"name", "adam"}, {"lr", 0.01}}},
          {"train",
           {{"epochs", 2},
            {"max_steps", max_steps},
            {"batch_size", 4},
            {"eval_batch_size", 2},
            {"eval_interval", 5},
            {"seed", 3},
            {"log_interval", 4}}}};
}

}  // namespace heed::testing

// Tests of datasets/text.h and framework/utf8.h: a corpus folder written here (file order, what is
// skipped), invalid UTF-8 named by file and line, the windows, the splits and the vocabulary, the
// stream layout of data.carry_state (batch k + 1 continues batch k row by row), and the real
// fortunes corpus through the dataset registry.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "datasets/text.h"
#include "framework/config.h"
#include "framework/loader.h"
#include "framework/registry.h"
#include "framework/utf8.h"
#include "temp_dir.h"
#include "testing.h"

using namespace heed;
using testing::error_of;

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string joined(const std::vector<std::string>& chars) {
  std::string out;
  for (const std::string& c : chars) out += c;
  return out;
}

}  // namespace

TEST_CASE("utf8: code points, and the line and byte of an invalid sequence") {
  const auto chars = utf8_characters("a\xC3\xA9\n\xE2\x82\xAC\xF0\x9F\x98\x80", "t");
  CHECK(chars ==
        std::vector<std::string>{"a", "\xC3\xA9", "\n", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"});
  CHECK(error_of([] {
          utf8_characters("ok\nab\xC3", "f.txt");
        }).find("f.txt:2: invalid UTF-8 at byte 3 of the line") != std::string::npos);
  CHECK(error_of([] {
          utf8_characters("\x80", "f.txt", 7);
        }).find("f.txt:7: invalid UTF-8 at byte 1") != std::string::npos);
  CHECK(error_of([] { utf8_characters("\xE2\x28\xA1", "f"); }).find("invalid UTF-8") !=
        std::string::npos);
}

TEST_CASE("text: a folder's regular files in name order, without .dat files and links") {
  testing::TempDir dir;
  write(dir.file("b"), "bb\n");
  write(dir.file("a"), "a\xC3\xA9\n");
  write(dir.file("a.dat"), "INDEX");
  std::filesystem::create_directory(dir.file("sub"));
  write(dir.file("sub/c"), "cc\n");
  std::filesystem::create_symlink(dir.file("b"), dir.file("b.u8"));
  CHECK(joined(data::read_text_corpus(dir.path())) == "a\xC3\xA9\nbb\n");
  CHECK(data::read_text_corpus(dir.path()).size() == 6);  // é is one character
  CHECK(joined(data::read_text_corpus(dir.file("b"))) == "bb\n");
  write(dir.file("c"), "fine\nbad \xFF here\n");
  CHECK(error_of([&] {
          data::read_text_corpus(dir.path());
        }).find(dir.file("c") + ":2: invalid UTF-8 at byte 5 of the line") != std::string::npos);
  CHECK(error_of([] {
          data::read_text_corpus("/nonexistent/corpus");
        }).find("/nonexistent/corpus: no such file or folder") != std::string::npos);
  testing::TempDir empty;
  CHECK(error_of([&] { data::read_text_corpus(empty.path()); }).find("holds 0 characters") !=
        std::string::npos);
}

TEST_CASE("text: windows of bptt inputs and their next characters, the last one shorter") {
  const data::TextWindows w({10, 11, 12, 13, 14, 15, 16, 17}, 3);  // 7 targets: 3 + 3 + 1
  REQUIRE(w.size() == 3);
  CHECK(w.example(0).input == std::vector<int64_t>{10, 11, 12});
  CHECK(w.example(0).target == std::vector<int64_t>{11, 12, 13});
  CHECK(w.example(1).input == std::vector<int64_t>{13, 14, 15});
  CHECK(w.example(2).input == std::vector<int64_t>{16});
  CHECK(w.example(2).target == std::vector<int64_t>{17});
  CHECK(w.length(2) == 1);
  const Batch b = w.get({2, 0});
  CHECK(b.input.shape() == Shape({2, 3}));
  CHECK(b.target_lengths.to_vector_i64() == std::vector<int64_t>{1, 3});
  CHECK(data::TextWindows({1, 2, 3, 4, 5, 6, 7}, 2, 2).size() == 2);
  CHECK(error_of([] { data::TextWindows({1}, 3); }).find("at least 2 tokens") != std::string::npos);
  CHECK(error_of([&] { w.example(3); }).find("window 3 outside [0, 3)") != std::string::npos);
}

TEST_CASE("text: streams as PyTorch's batchify cuts them, window k of stream r at k S + r") {
  // 23 tokens in 3 streams of 7 (the last 2 dropped): 10..16, 17..23, 24..30, each 6 targets in
  // windows of 4 and 2.
  std::vector<int64_t> ids(23);
  for (int64_t i = 0; i < 23; ++i) ids[i] = 10 + i;
  const data::TextWindows w(ids, 4, 0, 3);
  REQUIRE(w.size() == 6);
  CHECK(w.example(0).input == std::vector<int64_t>{10, 11, 12, 13});
  CHECK(w.example(1).input == std::vector<int64_t>{17, 18, 19, 20});
  CHECK(w.example(2).target == std::vector<int64_t>{25, 26, 27, 28});
  CHECK(w.example(3).input == std::vector<int64_t>{14, 15});
  CHECK(w.example(3).target == std::vector<int64_t>{15, 16});  // no target past the stream
  CHECK(w.example(5).target == std::vector<int64_t>{29, 30});
  CHECK(w.length(5) == 2);
  // max_windows keeps whole batches: ceil(4 / 3) = 2 windows of each stream, ceil(1 / 3) = 1.
  CHECK(data::TextWindows(ids, 2, 4, 3).size() == 6);
  CHECK(data::TextWindows(ids, 2, 1, 3).size() == 3);
  CHECK(error_of([&] {
          data::TextWindows(ids, 4, 0, 12);
        }).find("23 tokens in 12 streams of 1 (needs at least 2 tokens per stream)") !=
        std::string::npos);
}

TEST_CASE("text: with carry_state, row r of batch k + 1 starts where row r of batch k ended") {
  testing::TempDir dir;
  // 400 pseudo-random letters (a linear congruential generator), so the rows differ.
  std::string text;
  for (uint32_t x = 1; text.size() < 400;) {
    x = x * 1103515245u + 12345u;
    text += static_cast<char>('a' + (x >> 16) % 26);
  }
  write(dir.file("corpus.txt"), text);
  const std::string train_text = text.substr(0, 360);  // the first 90%
  const nlohmann::json recipe = {
      {"name", "text"}, {"path", dir.file("corpus.txt")}, {"bptt", 8}, {"carry_state", true}};
  const DataSplits s = build_dataset(Config(recipe, "data"), {4, 2});
  CHECK(s.info.carry_state);
  // 4 streams of 90 characters, 89 targets each: 12 windows, the last of one character.
  REQUIRE(s.train->size() == 4 * 12);
  Loader loader(s.train, 4, /*shuffle=*/false);
  const Vocabulary& vocab = *s.info.input_vocab;
  std::vector<std::string> rows(4);  // each row's characters, read batch after batch
  std::vector<int64_t> last_target(4, -1);
  int64_t batches = 0;
  while (!loader.epoch_done()) {
    const Batch b = loader.next();
    REQUIRE(b.size() == 4);
    const int64_t len = b.input.size(1);
    CHECK(len == (batches < 11 ? 8 : 1));
    const std::vector<int64_t> in = b.input.to_vector_i64(), out = b.target.to_vector_i64();
    for (int64_t r = 0; r < 4; ++r) {
      // This window's first input is the previous window's last target: the row continues.
      if (last_target[r] >= 0) CHECK(in[r * len] == last_target[r]);
      last_target[r] = out[r * len + len - 1];
      for (int64_t t = 0; t < len; ++t) {
        CHECK(out[r * len + t] == (t + 1 < len ? in[r * len + t + 1] : last_target[r]));
        rows[r] += vocab.token(in[r * len + t]);
      }
    }
    ++batches;
  }
  CHECK(batches == 12);
  for (int64_t r = 0; r < 4; ++r) {
    INFO("stream ", r);
    CHECK(rows[r] + vocab.token(last_target[r]) == train_text.substr(r * 90, 90));
  }
  // dev's 20 characters in 2 streams (train.eval_batch_size) of 10: 2 windows each.
  CHECK(s.dev->size() == 2 * 2);
  CHECK(dynamic_cast<const data::TextWindows&>(*s.dev).example(1).input.size() == 8);

  // max_train_samples keeps ceil(N / streams) windows of each stream, so whole batches.
  nlohmann::json limited = recipe;
  limited["max_train_samples"] = 5;
  limited["max_test_samples"] = 1;
  const DataSplits l = build_dataset(Config(limited, "data"), {4, 2});
  CHECK(l.train->size() == 4 * 2);
  CHECK(l.dev->size() == 2);
  CHECK(l.test->size() == 2);
  // Without carry_state, one stream of shuffled windows as before.
  nlohmann::json plain = recipe;
  plain.erase("carry_state");
  const DataSplits p = build_dataset(Config(plain, "data"), {4, 2});
  CHECK(!p.info.carry_state);
  CHECK(p.train->size() == (360 - 1 + 7) / 8);

  // Too many streams for a split, and bucketing (which reorders) with the stream order.
  CHECK(error_of([&] {
          build_dataset(Config(recipe, "data"), {4, 16});
        })
            .find(": the dev split holds 20 characters, too few to cut into 16 streams of at "
                  "least 2 (data.carry_state cuts it into train.eval_batch_size streams)") !=
        std::string::npos);
  nlohmann::json bucketed = recipe;
  bucketed["bucket_by_length"] = true;
  CHECK(error_of([&] { dataset_info(Config(bucketed, "data")); })
            .find("\"data.bucket_by_length\" is true, but data.carry_state serves the windows in "
                  "stream order") != std::string::npos);
}

TEST_CASE("text: contiguous 90/5/5 splits, train's vocabulary, <unk> for the rest") {
  testing::TempDir dir;
  std::string text(190, 'a');
  text += std::string(10, 'b');  // the last 5% (test) and the 5% before it (dev): no 'b' in train
  write(dir.file("corpus.txt"), text);
  const DataSplits s = build_dataset(
      Config({{"name", "text"}, {"path", dir.file("corpus.txt")}, {"bptt", 4}}, "data"));
  CHECK(s.info.input_vocab->size() == 5);  // the special tokens and 'a'
  CHECK(s.info.input_vocab->open());
  CHECK(s.train->size() == (180 - 1 + 3) / 4);
  const Example dev = dynamic_cast<const data::TextWindows&>(*s.dev).example(0);
  CHECK(dev.input == std::vector<int64_t>(4, 4));  // 'a'
  const Example test = dynamic_cast<const data::TextWindows&>(*s.test).example(0);
  CHECK(test.input == std::vector<int64_t>(4, Vocabulary::kUnk));
}

TEST_CASE("text: the fortunes corpus through the dataset registry") {
  const DataSplits s = build_dataset(Config({{"name", "text"}}, "data"));
  const int64_t train = s.train->size(), dev = s.dev->size(), test = s.test->size();
  CHECK(train > 17 * dev);  // 90% against 5%
  CHECK(dev > 0);
  CHECK(test > 0);
  CHECK(s.info.input_shape == Shape({128}));
  CHECK(s.info.input_vocab->size() > 4 + 90);  // printable ASCII, newline, tab, a few more
  CHECK(s.info.input_vocab->id("\n") != Vocabulary::kUnk);
}

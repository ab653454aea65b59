// Tests of datasets/text.h and framework/utf8.h: a corpus folder written here (file order, what is
// skipped), invalid UTF-8 named by file and line, the windows, the splits and the vocabulary, and
// the real fortunes corpus through the dataset registry.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "datasets/text.h"
#include "framework/config.h"
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

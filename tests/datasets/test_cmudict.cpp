// Tests of datasets/cmudict.h: both formats on excerpts written here, the stress and AX options,
// the word-hash split, one test per way an entry can be broken, and the real Festival file.

#include <doctest/doctest.h>

#include <fstream>

#include "datasets/cmudict.h"
#include "framework/config.h"
#include "framework/registry.h"
#include "temp_dir.h"
#include "testing.h"

using namespace heed;
using data::CmudictOptions;
using data::parse_cmudict;
using data::Pronunciation;
using testing::error_of;

namespace {

const std::string kFestival = R"(MNCL
("a" dt (((ax) 0)))
("a" n (((ey) 1)))
("abandon" nil (((ax) 0) ((b ae n) 1) ((d ax n) 0)))
("abuse" n (((ax) 0) ((b y uw s) 1)))
("abuse" v (((ax) 0) ((b y uw s) 0)))
("Zulu" n (((z uw) 1) ((l uw) 0)))
)";

const std::string kPlain = R"(;;; # CMUdict  --  Major Version: 0.07
;;; a comment
ABANDON  AH0 B AE1 N D AH0 N
ABUSE  AH0 B Y UW1 S
ABUSE(2)  AH0 B Y UW1 Z
ZULU  Z UW1 L UW0
)";

std::vector<std::string> words(const std::vector<Pronunciation>& ps) {
  std::vector<std::string> out;
  for (const Pronunciation& p : ps) out.push_back(p.word);
  return out;
}

std::string joined(const std::vector<std::string>& phonemes) {
  std::string out;
  for (const std::string& p : phonemes) out += (out.empty() ? "" : " ") + p;
  return out;
}

}  // namespace

TEST_CASE("cmudict: Festival's format, stress kept, goes to the syllables' vowels") {
  const auto ps = parse_cmudict(kFestival, "festival.out", {.stress = "keep"});
  // "abuse" n and v differ in stress, so both stay; words are lowercase.
  REQUIRE(words(ps) == std::vector<std::string>{"a", "a", "abandon", "abuse", "abuse", "zulu"});
  CHECK(joined(ps[0].phonemes) == "AX0");
  CHECK(joined(ps[2].phonemes) == "AX0 B AE1 N D AX0 N");
  CHECK(joined(ps[4].phonemes) == "AX0 B Y UW0 S");
  CHECK(ps[2].line == 4);
}

TEST_CASE("cmudict: stripping stress merges pronunciations that differed only in stress") {
  const auto ps = parse_cmudict(kFestival, "festival.out", {});
  REQUIRE(words(ps) == std::vector<std::string>{"a", "a", "abandon", "abuse", "zulu"});
  CHECK(joined(ps[2].phonemes) == "AX B AE N D AX N");
  const auto merged = parse_cmudict(kFestival, "festival.out", {.merge_ax = true});
  CHECK(joined(merged[2].phonemes) == "AH B AE N D AH N");
  const auto merged_keep = parse_cmudict(kFestival, "f", {.stress = "keep", .merge_ax = true});
  CHECK(joined(merged_keep[2].phonemes) == "AH0 B AE1 N D AH0 N");  // as CMUdict 0.7b writes it
}

TEST_CASE("cmudict: the 0.7b text format, with variants and comments") {
  const auto ps = parse_cmudict(kPlain, "cmudict-0.7b", {.stress = "keep"});
  REQUIRE(words(ps) == std::vector<std::string>{"abandon", "abuse", "abuse", "zulu"});
  CHECK(joined(ps[2].phonemes) == "AH0 B Y UW1 Z");
  CHECK(ps[2].line == 5);
  CHECK(joined(parse_cmudict(kPlain, "c", {})[0].phonemes) == "AH B AE N D AH N");
}

TEST_CASE("cmudict: a malformed entry names the file, the line and what is wrong") {
  auto error = [](const std::string& text) {
    return error_of([&] { parse_cmudict(text, "dict.out", {}); });
  };
  CHECK(error("MNCL\n(\"a\" dt (((ax) 0)))\n(\"b\" nil (((b iy) 1))\n")
            .find("dict.out:3, column 22: expected ')', got the end") != std::string::npos);
  CHECK(error("MNCL\n(\"a\" dt (((ax) x)))\n").find("dict.out:2: stress \"x\" is not one digit") !=
        std::string::npos);
  CHECK(error("MNCL\n(a dt (((ax) 0)))\n").find("dict.out:2, column 2: expected '\"'") !=
        std::string::npos);
  CHECK(error("MNCL\n(\"a\" dt (((AX) 0)))\n").find("phoneme \"AX\" is not lowercase") !=
        std::string::npos);
  CHECK(error("MNCL\n(\"a\" dt ())\n").find("dict.out:2: \"a\" has no phoneme") !=
        std::string::npos);
  CHECK(error("ZULU  Z uw1\n").find("dict.out:1: phoneme \"uw1\" is not uppercase ARPAbet") !=
        std::string::npos);
  CHECK(error("ZULU  Z UW7\n").find("\"UW7\" is not uppercase ARPAbet") != std::string::npos);
  CHECK(error("ZULU\n").find("dict.out:1: \"zulu\" has no phoneme") != std::string::npos);
  CHECK(error("ZULU(x)  Z UW1\n").find("variant \"ZULU(x)\" is not WORD(number)") !=
        std::string::npos);
  CHECK(error("Z\xC3U  Z UW1\n").find("invalid UTF-8") != std::string::npos);
  CHECK(error(";;; only comments\n\n").find("dict.out: no pronunciation") != std::string::npos);
  CHECK(error_of([] {
          data::read_cmudict("/nonexistent/cmudict", {});
        }).find("/nonexistent/cmudict: cannot open") != std::string::npos);
}

TEST_CASE("cmudict: words split by CRC-32 mod 100, every pronunciation of a word on one side") {
  // Python: zlib.crc32(b"abandon") % 100 == 36.
  CHECK(data::cmudict_split("abandon") == data::Split::Train);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 2000; ++i) {
    std::string word = "w";  // not "w" + to_string(i): GCC 12's false -Wrestrict (PR 105329)
    word += std::to_string(i);
    ++counts[static_cast<int>(data::cmudict_split(word))];
  }
  CHECK(counts[0] > 1700);  // about 90%, 5% and 5% of 2,000
  CHECK(counts[1] > 50);
  CHECK(counts[2] > 50);
}

TEST_CASE("cmudict: G2PDataset encodes graphemes in and phonemes then </s> out, by word") {
  const auto ps = parse_cmudict(kFestival, "f", {});
  const Vocabulary letters({"a", "b", "d", "e", "l", "n", "o", "s", "u", "z"}, false);
  const Vocabulary phones({"AE", "AX", "B", "D", "EY", "L", "N", "S", "UW", "Y", "Z"}, false);
  const data::G2PDataset d(ps, letters, phones);
  REQUIRE(d.size() == 5);
  CHECK(d.num_groups() == 4);
  CHECK(d.example(0).input == std::vector<int64_t>{4});                     // "a"
  CHECK(d.example(0).target == std::vector<int64_t>{5, Vocabulary::kEos});  // AX </s>
  CHECK(d.word_of(1) == 0);
  CHECK(d.group(0) == std::pair<int64_t, int64_t>{0, 2});
  CHECK(d.group(3) == std::pair<int64_t, int64_t>{4, 1});
  const Batch b = d.get({2, 0});
  CHECK(b.input.shape() == Shape({2, 7}));
  CHECK(b.input_lengths.to_vector_i64() == std::vector<int64_t>{7, 1});
  CHECK(error_of([&] { data::G2PDataset(ps, Vocabulary({"a"}, false), phones); }).find("\"b\"") !=
        std::string::npos);
}

TEST_CASE("cmudict: the real file from festlex-cmu, through the dataset registry") {
  const DataSplits s = build_dataset(Config({{"name", "cmudict"}}, "data"));
  CHECK(s.info.input_vocab->size() == 4 + 26);
  CHECK(s.info.target_vocab->size() == 4 + 40);  // Festival's 39 phonemes of 0.7b, and AX
  const auto words_of = [](const Dataset& d) {
    return dynamic_cast<const data::G2PDataset&>(d).num_groups();
  };
  CHECK(words_of(*s.train) == 95157);
  CHECK(words_of(*s.dev) == 5266);
  CHECK(words_of(*s.test) == 5241);
  const DataSplits merged =
      build_dataset(Config({{"name", "cmudict"}, {"merge_ax", true}}, "data"));
  CHECK(merged.info.target_vocab->size() == 4 + 39);
}

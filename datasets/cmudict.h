#pragma once
// The CMU Pronouncing Dictionary (Carnegie Mellon University; Weide 1998) for grapheme-to-phoneme
// conversion: a word's letters in, its ARPAbet phonemes out. Two formats, told apart by the
// file's first entry:
//   Festival's (Debian festlex-cmu, /usr/share/festival/dicts/cmu/cmudict-0.4.out), after an
//   "MNCL" header line: ("abandon" nil (((ax) 0) ((b ae n) 1) ((d ax n) 0)))
//   (word, part of speech, syllables of lowercase phonemes each with its stress 0 or 1);
//   CMUdict 0.7b's plain text: ABANDON  AH0 B AE1 N D AH0 N, a variant as ABANDON(2), comments
//   after ";;;".
// Both are read into one form: the word in lowercase, its phonemes in uppercase ARPAbet with the
// vowels' stress digit as 0.7b writes them ("AH0", "AE1"; Festival's syllable stress goes to the
// syllable's vowels). Options, applied after reading:
//   stress "strip" (default): "AE1" -> "AE", the usual G2P setting (e.g. Yao & Zweig 2015);
//     "keep": the digits stay, so stress is part of every vowel to predict;
//   merge_ax (default false): Festival's reduced vowel AX becomes AH, as 0.7b writes it (AH0), so
//     that Festival's 40 phonemes become 0.7b's 39 and PER/WER compare with the literature's.
// A pronunciation that becomes identical to another of the same word (Festival lists "abuse" as a
// noun and a verb, which differ only in stress) is kept once.
//
// Splits (deterministic, by word, so all pronunciations of a word fall on one side): CRC-32 (zlib)
// of the lowercase word mod 100: [0, 90) train, [90, 95) dev, [95, 100) test. On Festival's file
// that is 95,157 / 5,266 / 5,241 words.
//
// Every malformed entry is an error naming the file, the line and what is wrong.

#include <string>
#include <vector>

#include "framework/data.h"

namespace heed::data {

/// One pronunciation of one word.
struct Pronunciation {
  std::string word;                   // lowercase
  std::vector<std::string> phonemes;  // uppercase ARPAbet, with stress digits unless stripped
  int64_t line = 0;                   // where it stands in the file (1-based)
};

struct CmudictOptions {
  std::string stress = "strip";  // "strip" | "keep"
  bool merge_ax = false;         // AX -> AH
};

/// Every pronunciation of the file at `path`, in file order, normalized as `options` say. Throws
/// heed::Error naming the file and line of a malformed entry, and the file when it cannot be read
/// or holds no entry.
std::vector<Pronunciation> read_cmudict(const std::string& path, const CmudictOptions& options);
/// The same, from text already in memory; `name` stands for the file in errors.
std::vector<Pronunciation> parse_cmudict(const std::string& text, const std::string& name,
                                         const CmudictOptions& options);

enum class Split { Train, Dev, Test };
/// The split of `word` (lowercase): CRC-32 mod 100 below 90 train, below 95 dev, else test.
Split cmudict_split(const std::string& word);

/// A word's characters (UTF-8 code points, each one grapheme token). Throws heed::Error naming
/// the word on invalid UTF-8.
std::vector<std::string> graphemes(const std::string& word);

/// G2P examples: input = the word's graphemes, target = its phonemes then </s> (a decoder's
/// input is <s> then the target less its last token). One example per pronunciation; examples of
/// one word are consecutive and share a word index, so that an evaluation can decode a word once
/// and score it against every reference (ReferenceGroups: a group is a word).
class G2PDataset : public ExampleDataset, public ReferenceGroups {
 public:
  /// The pronunciations of one split, encoded with the two closed vocabularies; a word's
  /// pronunciations must be consecutive (as read_cmudict returns them). Throws heed::Error on a
  /// word seen again after others, or a grapheme or phoneme a vocabulary does not hold.
  G2PDataset(const std::vector<Pronunciation>& pronunciations, const Vocabulary& graphemes,
             const Vocabulary& phonemes);
  int64_t size() const override { return static_cast<int64_t>(examples_.size()); }
  Example example(int64_t index) const override;
  /// The index in [0, num_groups()) of example `index`'s word.
  int64_t word_of(int64_t index) const { return word_of_.at(static_cast<size_t>(index)); }
  /// The number of words.
  int64_t num_groups() const override { return static_cast<int64_t>(first_of_word_.size()); }
  /// The examples of word `word`: [first, first + count).
  std::pair<int64_t, int64_t> group(int64_t word) const override;

 private:
  std::vector<Example> examples_;
  std::vector<int64_t> word_of_, first_of_word_;
};

}  // namespace heed::data

#include "datasets/cmudict.h"

#include <zlib.h>

#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "framework/error.h"
#include "framework/utf8.h"

namespace heed::data {

namespace {

// A cursor over one line of Festival's format; every failure names the file, line and column.
class FestivalLine {
 public:
  FestivalLine(const std::string& line, const std::string& where) : s_(line), where_(where) {}

  void expect(char c) {
    HEED_CHECK(pos_ < s_.size() && s_[pos_] == c, where_, ", column ", pos_ + 1, ": expected '", c,
               "', got ", pos_ < s_.size() ? "'" + std::string(1, s_[pos_]) + "'" : "the end",
               " (an entry reads (\"word\" pos (((ph ph) stress) ...)))");
    ++pos_;
  }
  bool at(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  // Characters up to (not including) any of `stops`, at least one.
  std::string until(const char* stops, const char* what) {
    const size_t end = s_.find_first_of(stops, pos_);
    HEED_CHECK(end != std::string::npos && end > pos_, where_, ", column ", pos_ + 1, ": expected ",
               what);
    std::string out = s_.substr(pos_, end - pos_);
    pos_ = end;
    return out;
  }
  void end() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    HEED_CHECK(pos_ == s_.size(), where_, ", column ", pos_ + 1,
               ": unexpected text after the entry");
  }

 private:
  const std::string& s_;
  const std::string& where_;
  size_t pos_ = 0;
};

bool is_vowel(const std::string& phoneme) {  // ARPAbet: every vowel, and no consonant, so begins
  return std::string("aeiouAEIOU").find(phoneme[0]) != std::string::npos;
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string uppercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// ("word" pos (((ph ph) stress) ((ph) stress) ...)), the stress digit going to the vowels.
Pronunciation parse_festival(const std::string& line, const std::string& where) {
  FestivalLine in(line, where);
  Pronunciation p;
  in.expect('(');
  in.expect('"');
  p.word = lowercase(in.until("\"", "a word between quotes"));
  in.expect('"');
  in.expect(' ');
  in.until(" ", "a part of speech");
  in.expect(' ');
  in.expect('(');
  while (in.at('(')) {
    in.expect('(');
    in.expect('(');
    const std::string syllable = in.until(")", "the phonemes of a syllable");
    in.expect(')');
    in.expect(' ');
    const std::string stress = in.until(")", "a stress digit");
    HEED_CHECK(stress.size() == 1 && std::isdigit(static_cast<unsigned char>(stress[0])), where,
               ": stress \"", stress, "\" is not one digit");
    in.expect(')');
    std::istringstream phonemes(syllable);
    for (std::string ph; phonemes >> ph;) {
      for (char c : ph)
        HEED_CHECK(std::islower(static_cast<unsigned char>(c)), where, ": phoneme \"", ph,
                   "\" is not lowercase letters");
      p.phonemes.push_back(uppercase(ph) + (is_vowel(ph) ? stress : ""));
    }
    if (in.at(' ')) in.expect(' ');
  }
  in.expect(')');
  in.expect(')');
  in.end();
  HEED_CHECK(!p.phonemes.empty(), where, ": \"", p.word, "\" has no phoneme");
  return p;
}

// WORD  PH1 PH2 ..., a variant written WORD(2).
Pronunciation parse_plain(const std::string& line, const std::string& where) {
  std::istringstream in(line);
  Pronunciation p;
  in >> p.word;
  const size_t paren = p.word.find('(');
  if (paren != std::string::npos && paren > 0 && p.word.back() == ')') {
    const std::string n = p.word.substr(paren + 1, p.word.size() - paren - 2);
    HEED_CHECK(!n.empty() && n.find_first_not_of("0123456789") == std::string::npos, where,
               ": variant \"", p.word, "\" is not WORD(number)");
    p.word.resize(paren);
  }
  p.word = lowercase(p.word);
  for (std::string ph; in >> ph;) {
    const size_t letters = ph.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    HEED_CHECK(letters > 0 && (letters == std::string::npos ||
                               (letters == ph.size() - 1 && ph.back() >= '0' && ph.back() <= '2')),
               where, ": phoneme \"", ph,
               "\" is not uppercase ARPAbet with an optional stress 0-2");
    p.phonemes.push_back(ph);
  }
  HEED_CHECK(!p.phonemes.empty(), where, ": \"", p.word, "\" has no phoneme");
  return p;
}

void normalize(Pronunciation& p, const CmudictOptions& o) {
  for (std::string& ph : p.phonemes) {
    if (o.stress == "strip" && std::isdigit(static_cast<unsigned char>(ph.back()))) ph.pop_back();
    if (o.merge_ax && ph.rfind("AX", 0) == 0) ph.replace(0, 2, "AH");
  }
}

}  // namespace

std::vector<Pronunciation> parse_cmudict(const std::string& text, const std::string& name,
                                         const CmudictOptions& options) {
  HEED_CHECK(options.stress == "strip" || options.stress == "keep",
             "cmudict: stress must be \"strip\" or \"keep\", got \"", options.stress, "\"");
  std::istringstream in(text);
  std::map<std::string, size_t> index;              // word -> its place in by_word
  std::vector<std::vector<Pronunciation>> by_word;  // in the order words first appear
  bool festival = false, decided = false;
  int64_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line.rfind(";;;", 0) == 0) continue;
    const std::string where = name + ":" + std::to_string(number);
    utf8_characters(line, name, number);  // words are UTF-8
    if (!decided) {
      decided = true;
      festival = line == "MNCL" || line[0] == '(';
      if (line == "MNCL") continue;
    }
    Pronunciation p = festival ? parse_festival(line, where) : parse_plain(line, where);
    p.line = number;
    normalize(p, options);
    auto [it, added] = index.emplace(p.word, by_word.size());
    if (added) by_word.emplace_back();
    std::vector<Pronunciation>& same = by_word[it->second];
    bool seen = false;
    for (const Pronunciation& q : same) seen = seen || q.phonemes == p.phonemes;
    if (!seen) same.push_back(std::move(p));
  }
  HEED_CHECK(!by_word.empty(), name, ": no pronunciation in the file");
  std::vector<Pronunciation> out;  // a word's pronunciations together, in file order
  for (auto& same : by_word)
    for (auto& p : same) out.push_back(std::move(p));
  return out;
}

std::vector<Pronunciation> read_cmudict(const std::string& path, const CmudictOptions& options) {
  std::ifstream file(path, std::ios::binary);
  HEED_CHECK(file.good(), path,
             ": cannot open (the CMU dictionary; Debian's festlex-cmu installs "
             "/usr/share/festival/dicts/cmu/cmudict-0.4.out)");
  std::ostringstream text;
  text << file.rdbuf();
  HEED_CHECK(!file.bad(), path, ": read failed");
  return parse_cmudict(text.str(), path, options);
}

Split cmudict_split(const std::string& word) {
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(word.data()),
                          static_cast<uInt>(word.size()));
  const uLong bucket = crc % 100;
  return bucket < 90 ? Split::Train : bucket < 95 ? Split::Dev : Split::Test;
}

std::vector<std::string> graphemes(const std::string& word) {
  return utf8_characters(word, "\"" + word + "\"");
}

G2PDataset::G2PDataset(const std::vector<Pronunciation>& pronunciations,
                       const Vocabulary& graphemes_vocab, const Vocabulary& phonemes_vocab)
    : ExampleDataset(TargetKind::Tokens) {
  std::set<std::string> done;
  for (const Pronunciation& p : pronunciations) {
    if (examples_.empty() || p.word != pronunciations[examples_.size() - 1].word) {
      HEED_CHECK(done.insert(p.word).second, "G2PDataset: the pronunciations of \"", p.word,
                 "\" are not consecutive (line ", p.line, ")");
      first_of_word_.push_back(static_cast<int64_t>(examples_.size()));
    }
    word_of_.push_back(num_groups() - 1);
    examples_.push_back({graphemes_vocab.encode(graphemes(p.word)),
                         phonemes_vocab.encode(p.phonemes, /*bos=*/false, /*eos=*/true)});
  }
}

Example G2PDataset::example(int64_t index) const {
  HEED_CHECK(index >= 0 && index < size(), "G2PDataset: example ", index, " outside [0, ", size(),
             ")");
  return examples_[static_cast<size_t>(index)];
}

std::pair<int64_t, int64_t> G2PDataset::group(int64_t word) const {
  HEED_CHECK(word >= 0 && word < num_groups(), "G2PDataset: word ", word, " outside [0, ",
             num_groups(), ")");
  const int64_t first = first_of_word_[static_cast<size_t>(word)];
  const int64_t end =
      word + 1 < num_groups() ? first_of_word_[static_cast<size_t>(word + 1)] : size();
  return {first, end - first};
}

}  // namespace heed::data

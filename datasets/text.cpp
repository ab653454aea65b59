#include "datasets/text.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "framework/error.h"
#include "framework/utf8.h"

namespace heed::data {

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  HEED_CHECK(file.good(), path.string(), ": cannot open");
  std::ostringstream text;
  text << file.rdbuf();
  HEED_CHECK(!file.bad(), path.string(), ": read failed");
  return text.str();
}

// A folder's text files: regular files (not links, not folders), not strfile's .dat indexes, in
// byte order of their names so that the corpus is the same on every machine.
std::vector<fs::path> corpus_files(const fs::path& folder) {
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(folder)) {
    if (e.is_symlink() || !e.is_regular_file() || e.path().extension() == ".dat") continue;
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

std::vector<std::string> read_text_corpus(const std::string& path) {
  std::error_code error;
  const bool folder = fs::is_directory(path, error);
  HEED_CHECK(folder || fs::is_regular_file(path, error), path,
             ": no such file or folder (the text corpus; Debian's fortunes package installs "
             "/usr/share/games/fortunes)");
  std::vector<std::string> out;
  for (const fs::path& file : folder ? corpus_files(path) : std::vector<fs::path>{path}) {
    const std::vector<std::string> chars = utf8_characters(read_file(file), file.string());
    out.insert(out.end(), chars.begin(), chars.end());
  }
  HEED_CHECK(out.size() >= 2, path, ": holds ", out.size(),
             " characters; a language model needs at least 2");
  return out;
}

TextWindows::TextWindows(std::vector<int64_t> ids, int64_t bptt, int64_t max_windows,
                         int64_t streams)
    : ExampleDataset(TargetKind::Tokens), ids_(std::move(ids)), bptt_(bptt), streams_(streams) {
  HEED_CHECK(bptt_ >= 1 && streams_ >= 1, "TextWindows: bptt ", bptt_, " and ", streams_,
             " streams (needs bptt >= 1 and at least one stream)");
  stream_length_ = static_cast<int64_t>(ids_.size()) / streams_;
  HEED_CHECK(stream_length_ >= 2, "TextWindows: ", ids_.size(), " tokens in ", streams_,
             " streams of ", stream_length_, " (needs at least 2 tokens per stream)");
  ids_.resize(static_cast<size_t>(stream_length_ * streams_));  // batchify drops the remainder
  const int64_t targets = stream_length_ - 1;  // every token of a stream but its first
  windows_ = (targets + bptt_ - 1) / bptt_;
  if (max_windows > 0) windows_ = std::min(windows_, (max_windows + streams_ - 1) / streams_);
}

int64_t TextWindows::length(int64_t index) const {
  HEED_CHECK(index >= 0 && index < size(), "TextWindows: window ", index, " outside [0, ", size(),
             ")");
  return std::min(bptt_, stream_length_ - 1 - index / streams_ * bptt_);
}

Example TextWindows::example(int64_t index) const {
  const int64_t len = length(index);
  const int64_t begin = index % streams_ * stream_length_ + index / streams_ * bptt_;
  const auto at = [&](int64_t i) { return ids_.begin() + i; };
  return {std::vector<int64_t>(at(begin), at(begin + len)),
          std::vector<int64_t>(at(begin + 1), at(begin + len + 1))};
}

}  // namespace heed::data

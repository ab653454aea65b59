#pragma once
// Character-level language modeling on UTF-8 text (e.g. Debian's fortunes package, the plain text
// files in /usr/share/games/fortunes). A corpus is one file or a folder: a folder's regular files,
// in byte order of their names, skipping `.dat` files (strfile's indexes), links and
// subfolders, concatenated as they are. Each Unicode code point is one token ("\n" included).
//
// Splits are contiguous, in corpus order: the first 90% of the characters train, the next 5% dev,
// the last 5% test (the protocol of enwik8/text8 character models, which cut one stream). The
// vocabulary is train's characters in code-point order, after the four special tokens; a dev or
// test character that train lacks reads as <unk> (an open vocabulary).
//
// Examples are fixed-length windows of one split's stream (truncated backpropagation through
// time): window w has input = characters [w bptt, (w + 1) bptt) and target = the characters one
// step later, [w bptt + 1, (w + 1) bptt + 1); the last window may be shorter. Every character but
// the split's first is a target exactly once, so the loss over a split is its cross-entropy per
// character (bits per character = nats / ln 2).
//
// Invalid UTF-8 is an error naming the file, the line and the byte.

#include <string>
#include <vector>

#include "framework/data.h"

namespace heed::data {

/// The corpus at `path` (a file or a folder, as above) as code points, each a UTF-8 string.
/// Throws heed::Error naming the path when it cannot be read or holds no text, and the file and
/// line of invalid UTF-8.
std::vector<std::string> read_text_corpus(const std::string& path);

/// The windows of one split's token ids (see above).
class TextWindows : public ExampleDataset {
 public:
  /// `ids`: the split's stream, at least 2 tokens; `bptt` >= 1; `max_windows` > 0 keeps only the
  /// first windows. Throws heed::Error otherwise.
  TextWindows(std::vector<int64_t> ids, int64_t bptt, int64_t max_windows = 0);
  int64_t size() const override { return windows_; }
  Example example(int64_t index) const override;
  int64_t length(int64_t index) const override;

 private:
  std::vector<int64_t> ids_;
  int64_t bptt_, windows_;
};

}  // namespace heed::data

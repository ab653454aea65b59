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
// With data.carry_state the split is first cut into S streams, S the batch size it is served in,
// as PyTorch's examples/word_language_model batchifies it (`data.narrow(0, 0, nbatch *
// bsz).view(bsz, -1)`): stream r is characters [r L, (r + 1) L), L = floor(n / S), the last
// n mod S characters dropped; each stream is cut into windows as above, and example k S + r is
// window k of stream r. Served in order in batches of S, batch k holds window k of every stream,
// so row r of batch k + 1 continues row r of batch k and a recurrent model can start it from the
// state where that row ended (DataInfo::carry_state). Every stream has the same length, so the
// rows of a batch do too (the last batch's may be shorter than bptt). One stream is the plain
// layout.
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

/// The windows of one split's token ids, in `streams` streams (see above).
class TextWindows : public ExampleDataset {
 public:
  /// `ids`: the split's stream, at least 2 tokens per stream; `bptt` >= 1; `streams` >= 1;
  /// `max_windows` > 0 keeps only the first ceil(max_windows / streams) windows of each stream
  /// (the first max_windows windows with one stream; whole batches with several). Throws
  /// heed::Error otherwise.
  TextWindows(std::vector<int64_t> ids, int64_t bptt, int64_t max_windows = 0, int64_t streams = 1);
  int64_t size() const override { return windows_ * streams_; }
  Example example(int64_t index) const override;
  int64_t length(int64_t index) const override;

 private:
  std::vector<int64_t> ids_;
  int64_t bptt_, streams_;
  int64_t stream_length_;  // tokens per stream, L
  int64_t windows_;        // per stream
};

}  // namespace heed::data

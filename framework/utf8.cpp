#include "framework/utf8.h"

#include "framework/error.h"

namespace heed {

namespace {

// The length of the sequence a lead byte starts (1-4), or 0 for a byte that cannot lead one.
size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 0;
}

}  // namespace

std::vector<std::string> utf8_characters(const std::string& text, const std::string& name,
                                         int64_t first_line) {
  std::vector<std::string> out;
  out.reserve(text.size());
  int64_t line = first_line;
  size_t line_start = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t n = sequence_length(static_cast<unsigned char>(text[i]));
    bool valid = n > 0 && i + n <= text.size();
    for (size_t k = 1; valid && k < n; ++k)
      valid = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    HEED_CHECK(valid, name, ":", line, ": invalid UTF-8 at byte ", i - line_start + 1,
               " of the line");
    out.push_back(text.substr(i, n));
    if (text[i] == '\n') ++line, line_start = i + 1;
    i += n;
  }
  return out;
}

}  // namespace heed

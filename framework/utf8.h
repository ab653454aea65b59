#pragma once
// UTF-8 text as a sequence of code points, the tokens of the character-level datasets.

#include <cstdint>
#include <string>
#include <vector>

namespace heed {

/// The code points of `text`, each as its UTF-8 bytes. Throws heed::Error
/// "<name>:<line>: invalid UTF-8 at byte <b> of the line" (line counted from `first_line`, byte
/// from 1) on a malformed or truncated sequence.
std::vector<std::string> utf8_characters(const std::string& text, const std::string& name,
                                         int64_t first_line = 1);

}  // namespace heed

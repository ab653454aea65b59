#pragma once
// A structure-aware mutation of JSON text for fuzz_recipe (docs/fuzzing.md). Byte-level mutations
// rarely turn a recipe's `"hidden_size": 128` into 2^31 or -1 while keeping the JSON valid (they
// keep the digit count); this one parses the recipe, changes one thing the way a user's typo or a
// hostile recipe would, and prints it again, so that the validation behind the parser is what
// gets fuzzed.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace heed::fuzz {

/// One mutation of the JSON document `text`, chosen by `random`: a value replaced by an
/// interesting one (0, -1, 2^31, 2^63 - 1, 1e308, "", null, [], {}, ...), a number scaled or
/// negated, one of `keys` added to an object with an interesting value, a key or element removed,
/// or a value copied over another. nullopt when `text` is not JSON.
std::optional<std::string> mutate_json(const std::string& text, std::minstd_rand& random,
                                       const std::vector<std::string>& keys);

/// A --set override for one of the document's paths (or one of `keys` under an object of it) with
/// an interesting value, e.g. "model.encoder.hidden_size=4294967296"; "" when `text` is not JSON.
std::string mutate_override(const std::string& text, std::minstd_rand& random,
                            const std::vector<std::string>& keys);

/// The quoted words of a libFuzzer dictionary file (lines like `"\"hidden_size\""`), unquoted.
std::vector<std::string> dictionary_words(const std::string& path);

}  // namespace heed::fuzz

#pragma once
// The attention registry: every mechanism a Transformer head can use, by name, one explicit list
// (registry.cpp). A recipe names one as a string or an object with its options:
//   "attention": "sparsemax"
//   "attention": {"type": "topk", "topk": 8}
// Each entry is the variant's own from_config (in its file under layers/attention/), which reads
// its options; an option the chosen variant does not read is an error naming the key, the variant
// and the variants that do have it. `heed list` prints every entry with the options its
// from_config reads (Config::describe), so the catalog cannot drift from the code.

#include <nlohmann/json.hpp>

#include "framework/registry.h"
#include "layers/attention/mechanism.h"

namespace heed::nn {

/// A mechanism by name with its options, as a recipe or a C++ caller gives it.
struct AttentionVariant {
  std::string type = "scaled_dot_product";
  nlohmann::json options = nlohmann::json::object();  // the variant's own options (no "type")
  /// Positions applied inside attention: "none", "rope" (rotary q and k, Su et al. 2021) or
  /// "alibi" (linear score bias, Press et al. 2022; only for variants with dot-product scores).
  std::string positional = "none";
};

/// The names HeadShape::positional accepts.
const std::vector<std::string>& attention_positional_names();

/// Reads the part at `parent`.`key` (a name or {type, options...}), checking the name and every
/// option; throws heed::Error naming the recipe path.
AttentionVariant attention_from_config(const Config& parent, const std::string& key = "attention");

/// Builds `variant` for one head shape (its options were checked by attention_from_config, or are
/// checked now, with errors naming "attention"). Throws heed::Error on an unknown name or option,
/// and when positional "alibi" meets a variant without dot-product scores.
std::unique_ptr<AttentionMechanism> build_attention(const AttentionVariant& variant,
                                                    const HeadShape& shape);

/// Every registered name, in the registry's order.
std::vector<std::string> attention_names();
std::vector<RegistryEntry> list_attention();

}  // namespace heed::nn

#pragma once
// Recipes: the JSON files that describe a run (data, model, optimizer, train, output).
//
// load_recipe reads a file, merges the files it names under "include" (paths relative to it;
// the including file wins key by key), and applies --set overrides ("train.epochs=3", the value
// parsed as JSON when it parses, else taken as a string). The result is the resolved recipe that
// the run directory keeps as recipe.resolved.json. Keys are validated where they are read
// (Config::finish), so every unknown key is reported with its JSON path and nearest valid key.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace heed {

/// Reads and resolves a recipe. Throws heed::Error naming the file on a missing file, a JSON
/// syntax error (with line and column), an include cycle, or a malformed --set.
nlohmann::json load_recipe(const std::string& path, const std::vector<std::string>& overrides = {});
/// Applies "a.b.c=value" overrides to `recipe` in place.
void apply_overrides(nlohmann::json& recipe, const std::vector<std::string>& overrides);

/// The top-level sections a recipe may hold.
inline const std::vector<std::string> kRecipeSections = {
    "description", "data", "model", "optimizer", "train", "output", "init_from"};

}  // namespace heed

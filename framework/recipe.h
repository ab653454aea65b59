#pragma once
// Recipes: the JSON files that describe a run (data, model, optimizer, train, output).
//
// load_recipe reads a file, merges the files it names under "include" (paths relative to it;
// the including file wins key by key), and applies --set overrides ("train.epochs=3", the value
// parsed as JSON when it parses, else taken as a string). The result is the resolved recipe that
// the run directory keeps as recipe.resolved.json. Keys are validated where they are read
// (Config::finish), so every unknown key is reported with its JSON path and nearest valid key.
//
// JSON is read strictly: a key given twice in one object is an error (JSON parsers disagree on
// which one wins; nlohmann keeps the last silently), and every error of the JSON library names
// the file and the line:
//   recipe r.json:12: duplicate key "epochs" in "train"
//   recipe r.json:4: number overflow parsing '1e999'

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace heed {

/// Reads and resolves a recipe. Throws heed::RecipeError naming the file on a missing file, a JSON
/// syntax error (with line and column), a duplicate key or a number out of range (with the line),
/// an include cycle, or a malformed --set.
nlohmann::json load_recipe(const std::string& path, const std::vector<std::string>& overrides = {});
/// Resolves the includes of `recipe`, a recipe read from the file `path` (includes are relative
/// to its folder; the file itself is not read). For tools and tests that build recipes in memory.
nlohmann::json resolve_recipe(const nlohmann::json& recipe, const std::string& path);
/// Parses JSON `text` strictly (comments allowed, duplicate keys refused); errors start with
/// "recipe <origin>:<line>: ".
nlohmann::json parse_recipe_text(const std::string& text, const std::string& origin);
/// Applies "a.b.c=value" overrides to `recipe` in place (a RecipeError "--set ...: ..." when one
/// is malformed). A number in the path indexes a list
/// ("model.layers.0.out_channels=64"), so the paths of recipe errors can be pasted back.
void apply_overrides(nlohmann::json& recipe, const std::vector<std::string>& overrides);
/// Sets the value at the dotted `path` of `recipe` as --set does (missing objects are made, a
/// number indexes a list). Throws heed::RecipeError with path() `path` and a message that does not
/// say where the path came from ("\"model.layers\" is a list of 3; \"7\" is not an index in it").
void set_recipe_value(nlohmann::json& recipe, const std::string& path, const nlohmann::json& value);

/// The top-level sections a recipe may hold.
inline const std::vector<std::string> kRecipeSections = {
    "description", "data", "model", "optimizer", "train", "output", "init_from"};

}  // namespace heed

#include "framework/recipe.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "framework/error.h"

namespace heed {

namespace fs = std::filesystem;

namespace {

nlohmann::json parse_file(const fs::path& path) {
  std::ifstream in(path);
  HEED_CHECK(in.good(), "recipe ", path.string(), ": cannot open (",
             fs::exists(path) ? "unreadable" : "no such file", ")");
  try {
    return nlohmann::json::parse(in, nullptr, true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
    std::string what = e.what();
    const size_t at = what.find("parse error");
    throw Error("recipe " + path.string() + ": " +
                (at == std::string::npos ? what : what.substr(at)));
  }
}

// Keys of `over` replace those of `base`, recursing into objects present in both.
void merge(nlohmann::json& base, const nlohmann::json& over) {
  for (const auto& [key, value] : over.items()) {
    if (value.is_object() && base.contains(key) && base[key].is_object())
      merge(base[key], value);
    else
      base[key] = value;
  }
}

nlohmann::json resolve(const fs::path& path, std::set<std::string>& active) {
  const std::string key = fs::weakly_canonical(path).string();
  HEED_CHECK(!active.count(key), "recipe ", path.string(), ": include cycle through this file");
  active.insert(key);
  nlohmann::json recipe = parse_file(path);
  HEED_CHECK(recipe.is_object(), "recipe ", path.string(), ": the top level must be a JSON object");
  nlohmann::json result = nlohmann::json::object();
  if (recipe.contains("include")) {
    const nlohmann::json inc = recipe["include"];
    HEED_CHECK(inc.is_string() || inc.is_array(), "recipe ", path.string(),
               ": \"include\" must be a file name or a list of them");
    for (const auto& name : inc.is_string() ? nlohmann::json::array({inc}) : inc) {
      HEED_CHECK(name.is_string(), "recipe ", path.string(),
                 ": \"include\" entries must be strings");
      merge(result, resolve(path.parent_path() / name.get<std::string>(), active));
    }
    recipe.erase("include");
  }
  merge(result, recipe);
  active.erase(key);
  return result;
}

}  // namespace

void apply_overrides(nlohmann::json& recipe, const std::vector<std::string>& overrides) {
  for (const std::string& o : overrides) {
    const size_t eq = o.find('=');
    HEED_CHECK(eq != std::string::npos && eq > 0, "--set ", o, ": expected path.to.key=value");
    const std::string path = o.substr(0, eq), text = o.substr(eq + 1);
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = text;  // a bare word is a string
    nlohmann::json* node = &recipe;
    size_t start = 0;
    while (true) {
      const size_t dot = path.find('.', start);
      const std::string key =
          path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      HEED_CHECK(!key.empty(), "--set ", o, ": empty key in \"", path, "\"");
      HEED_CHECK(node->is_object(), "--set ", o, ": \"", path.substr(0, start ? start - 1 : 0),
                 "\" is not an object");
      if (dot == std::string::npos) {
        (*node)[key] = value;
        break;
      }
      node = &(*node)[key];
      if (node->is_null()) *node = nlohmann::json::object();
      start = dot + 1;
    }
  }
}

nlohmann::json load_recipe(const std::string& path, const std::vector<std::string>& overrides) {
  std::set<std::string> active;
  nlohmann::json recipe = resolve(path, active);
  apply_overrides(recipe, overrides);
  return recipe;
}

}  // namespace heed

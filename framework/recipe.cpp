#include "framework/recipe.h"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <set>

#include "framework/error.h"
#include "framework/files.h"

namespace heed {

namespace fs = std::filesystem;

namespace {

// An input iterator over the text that remembers how far the parser has read, so that errors
// the JSON library reports without a position (a duplicate key, a number out of range) get the
// line they are on.
class TrackingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackingIterator(const char* p, const char** furthest) : p_(p), furthest_(furthest) {}
  reference operator*() const {
    if (p_ > *furthest_) *furthest_ = p_;
    return *p_;
  }
  TrackingIterator& operator++() {
    ++p_;
    return *this;
  }
  TrackingIterator operator++(int) {
    TrackingIterator old = *this;
    ++p_;
    return old;
  }
  bool operator==(const TrackingIterator& o) const { return p_ == o.p_; }
  bool operator!=(const TrackingIterator& o) const { return p_ != o.p_; }

 private:
  const char* p_;
  const char** furthest_;
};

// Where the parser is inside the document, to name the object of a duplicate key.
class KeyTracker {
 public:
  // Throws on a key seen before in the same object; where() is "<file>:<line>".
  template <class Where>
  void on_event(nlohmann::json::parse_event_t event, const nlohmann::json& parsed,
                const Where& where) {
    using E = nlohmann::json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start:
        frames_.push_back({event == E::array_start, element_name(), {}, {}, 0});
        break;
      case E::object_end:
      case E::array_end:
        frames_.pop_back();
        break;
      case E::key: {
        Frame& top = frames_.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second)
          throw RecipeError(frames_.size() == 1 ? top.key : object_path() + "." + top.key,
                            "recipe " + where() + ": duplicate key \"" + top.key + "\" in " +
                                (frames_.size() == 1 ? std::string("the top-level object")
                                                     : "\"" + object_path() + "\""));
        break;
      }
      case E::value:
        element_name();  // counts a list's scalar elements
        break;
    }
  }

 private:
  struct Frame {
    bool array;
    std::string name;
    std::set<std::string> keys;
    std::string key;  // an object's current key
    int64_t next_index;
  };

  // The name a value starting now has in its parent: the current key, or the next list index.
  std::string element_name() {
    if (frames_.empty()) return "";
    Frame& top = frames_.back();
    return top.array ? std::to_string(top.next_index++) : top.key;
  }

  std::string object_path() const {
    std::string path;
    for (size_t i = 1; i < frames_.size(); ++i) path += (i > 1 ? "." : "") + frames_[i].name;
    return path;
  }

  std::vector<Frame> frames_;
};

// The RecipeError "recipe <file>: <parts...>" about a recipe file as a whole (its path() is "").
template <class... Parts>
RecipeError file_error(const fs::path& file, const Parts&... parts) {
  return RecipeError("", detail::concat("recipe ", file.string(), ": ", parts...));
}

// The RecipeError "--set <o>: <parts...>" of the override `o` of `path`.
template <class... Parts>
RecipeError set_error(const std::string& path, const std::string& o, const Parts&... parts) {
  return RecipeError(path, detail::concat("--set ", o, ": ", parts...));
}

int64_t line_of(const std::string& text, const char* position) {
  return 1 + std::count(text.data(), std::min(position, text.data() + text.size()), '\n');
}

// "[json.exception.out_of_range.406] number overflow ..." -> "number overflow ..."
std::string without_prefix(const std::string& what) {
  const size_t close = what.find("] ");
  return what.rfind("[json.exception.", 0) == 0 && close != std::string::npos
             ? what.substr(close + 2)
             : what;
}

// fs::exists without the exception a name too long for the file system would throw.
bool file_exists(const fs::path& path) {
  std::error_code error;
  return fs::exists(path, error);
}

// The key of a file in the include chain; the path as given when it cannot be made canonical.
std::string canonical_key(const fs::path& path) {
  std::error_code error;
  const fs::path canonical = fs::weakly_canonical(path, error);
  return error ? path.string() : canonical.string();
}

nlohmann::json parse_file(const fs::path& path) {
  if (!file_exists(path)) throw file_error(path, "cannot open (no such file)");
  return parse_recipe_text(files::read(path.string(), "recipe"), path.string());
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

nlohmann::json resolve(const fs::path& path, nlohmann::json recipe, std::set<std::string>& active);

nlohmann::json resolve_file(const fs::path& path, std::set<std::string>& active) {
  const std::string key = canonical_key(path);
  if (active.count(key)) throw file_error(path, "include cycle through this file");
  active.insert(key);
  nlohmann::json result = resolve(path, parse_file(path), active);
  active.erase(key);
  return result;
}

nlohmann::json resolve(const fs::path& path, nlohmann::json recipe, std::set<std::string>& active) {
  if (!recipe.is_object()) throw file_error(path, "the top level must be a JSON object");
  nlohmann::json result = nlohmann::json::object();
  if (recipe.contains("include")) {
    const nlohmann::json inc = recipe["include"];
    if (!(inc.is_string() || (inc.is_array() && !inc.empty())))
      throw file_error(path, "\"include\" must be a file name or a list of them, got ", inc.dump());
    for (const auto& name : inc.is_string() ? nlohmann::json::array({inc}) : inc) {
      if (!(name.is_string() && !name.get<std::string>().empty()))
        throw file_error(path, "\"include\" entries must be file names, got ", name.dump());
      const fs::path included = path.parent_path() / name.get<std::string>();
      if (!file_exists(included))
        throw file_error(path, "\"include\" names ", included.string(), ", which does not exist");
      merge(result, resolve_file(included, active));
    }
    recipe.erase("include");
  }
  merge(result, recipe);
  return result;
}

// A --set's path and value become JSON keys and strings, which must be UTF-8.
void check_utf8(const std::string& text, const std::string& option, const char* what) {
  try {
    (void)nlohmann::json(text).dump();
  } catch (const nlohmann::json::exception&) {
    throw RecipeError("", option + ": the " + what + " is not valid UTF-8");
  }
}

// The JSON of a --set value: the text parsed strictly when it is JSON, else the text itself.
nlohmann::json override_value(const std::string& text, const std::string& option) {
  check_utf8(text, option, "value");
  try {
    return parse_recipe_text(text, option);
  } catch (const Error& e) {
    // A bare word is a string; a duplicate key is a mistake worth reporting.
    if (std::string(e.what()).find("duplicate key") != std::string::npos) throw;
    return text;
  }
}

bool is_index(const std::string& key) {
  return !key.empty() && key.size() < 10 && std::all_of(key.begin(), key.end(), ::isdigit);
}

}  // namespace

nlohmann::json parse_recipe_text(const std::string& text, const std::string& origin) {
  const char* furthest = text.data();
  auto where = [&] { return origin + ":" + std::to_string(line_of(text, furthest)); };
  KeyTracker keys;
  nlohmann::json::parser_callback_t on_event = [&](int, nlohmann::json::parse_event_t event,
                                                   nlohmann::json& parsed) {
    keys.on_event(event, parsed, where);
    return true;
  };
  try {
    return nlohmann::json::parse(TrackingIterator(text.data(), &furthest),
                                 TrackingIterator(text.data() + text.size(), &furthest), on_event,
                                 /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    // Its message has the line and column: "parse error at line 3, column 5: ...".
    throw RecipeError("", "recipe " + origin + ": " + without_prefix(e.what()));
  } catch (const nlohmann::json::exception& e) {
    throw RecipeError("", "recipe " + where() + ": " + without_prefix(e.what()));
  }
}

void set_recipe_value(nlohmann::json& recipe, const std::string& path,
                      const nlohmann::json& value) {
  nlohmann::json* node = &recipe;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string key =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const std::string parent = path.substr(0, start ? start - 1 : 0);
    if (key.empty()) throw RecipeError(path, detail::concat("empty key in \"", path, "\""));
    if (node->is_array()) {
      if (!(is_index(key) && std::stoul(key) < node->size()))
        throw RecipeError(path, detail::concat("\"", parent, "\" is a list of ", node->size(),
                                               "; \"", key, "\" is not an index in it"));
      node = &(*node)[std::stoul(key)];
    } else {
      if (!node->is_object())
        throw RecipeError(path, detail::concat("\"", parent, "\" is not an object"));
      node = &(*node)[key];
    }
    if (dot == std::string::npos) {
      *node = value;
      return;
    }
    if (node->is_null()) *node = nlohmann::json::object();
    start = dot + 1;
  }
}

void apply_overrides(nlohmann::json& recipe, const std::vector<std::string>& overrides) {
  for (const std::string& o : overrides) {
    const size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0) throw set_error("", o, "expected path.to.key=value");
    const std::string path = o.substr(0, eq), text = o.substr(eq + 1);
    check_utf8(path, "--set " + o, "path");
    const nlohmann::json value = override_value(text, "--set " + o);
    try {
      set_recipe_value(recipe, path, value);
    } catch (const RecipeError& e) {
      throw set_error(path, o, e.what());
    }
  }
}

nlohmann::json resolve_recipe(const nlohmann::json& recipe, const std::string& path) {
  std::set<std::string> active = {canonical_key(path)};
  return resolve(path, recipe, active);
}

nlohmann::json load_recipe(const std::string& path, const std::vector<std::string>& overrides) {
  std::set<std::string> active;
  nlohmann::json recipe = resolve_file(path, active);
  apply_overrides(recipe, overrides);
  return recipe;
}

}  // namespace heed

#include "framework/config.h"

#include <algorithm>

#include "framework/error.h"

namespace heed {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string type_of(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "an integer";
    case nlohmann::json::value_t::number_float:
      return "a number";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::null:
      return "null";
    default:
      return "another type";
  }
}

[[noreturn]] void wrong_type(const std::string& path, const char* expected,
                             const nlohmann::json& v) {
  throw Error("recipe: \"" + path + "\" must be " + expected + ", got " + v.dump() + " (" +
              type_of(v) + ")");
}

template <class T>
T convert(const nlohmann::json& v, const std::string& path) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) wrong_type(path, "a boolean (true or false)", v);
    return v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) wrong_type(path, "an integer", v);
    return v.get<T>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) wrong_type(path, "a number", v);
    return v.get<T>();
  } else {
    if (!v.is_string()) wrong_type(path, "a string", v);
    return v.get<std::string>();
  }
}

}  // namespace

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_distance) best = c, best_distance = d;
  }
  return best;
}

std::string unknown_name_message(const std::string& what, const std::string& path,
                                 const std::string& name, const std::vector<std::string>& valid) {
  std::string msg = "recipe: unknown " + what + " \"" + name + "\" at \"" + path + "\"";
  const std::string guess = nearest(name, valid);
  if (!guess.empty()) msg += "; did you mean \"" + guess + "\"?";
  msg += " (valid: ";
  for (size_t i = 0; i < valid.size(); ++i) msg += (i ? ", " : "") + valid[i];
  return msg + ")";
}

Config::Config(const nlohmann::json& value, std::string path)
    : value_(value), path_(std::move(path)) {
  if (value_.is_null()) value_ = nlohmann::json::object();
  if (!value_.is_object()) wrong_type(path_.empty() ? "(root)" : path_, "an object", value_);
}

std::string Config::path_of(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

bool Config::has(const std::string& key) const {
  known_.insert(key);
  return value_.contains(key);
}

const nlohmann::json& Config::at(const std::string& key) const {
  known_.insert(key);
  HEED_CHECK(value_.contains(key), "recipe: missing required key \"", path_of(key), "\"");
  return value_.at(key);
}

template <class T>
T Config::get(const std::string& key, const T& fallback) const {
  return has(key) ? convert<T>(value_.at(key), path_of(key)) : fallback;
}

template <class T>
T Config::require(const std::string& key) const {
  return convert<T>(at(key), path_of(key));
}

#define HEED_CONFIG_TYPE(T)                                      \
  template T Config::get<T>(const std::string&, const T&) const; \
  template T Config::require<T>(const std::string&) const;
HEED_CONFIG_TYPE(bool)
HEED_CONFIG_TYPE(int)
HEED_CONFIG_TYPE(int64_t)
HEED_CONFIG_TYPE(float)
HEED_CONFIG_TYPE(double)
HEED_CONFIG_TYPE(std::string)
#undef HEED_CONFIG_TYPE

std::string Config::choice(const std::string& key, const std::string& fallback,
                           const std::vector<std::string>& choices) const {
  const std::string value = get<std::string>(key, fallback);
  if (std::find(choices.begin(), choices.end(), value) == choices.end())
    throw Error(unknown_name_message("value", path_of(key), value, choices));
  return value;
}

Config Config::child(const std::string& key) const {
  known_.insert(key);
  return Config(value_.contains(key) ? value_.at(key) : nlohmann::json::object(), path_of(key));
}

void Config::finish() const {
  for (const auto& [key, v] : value_.items()) {
    if (known_.count(key)) continue;
    const std::vector<std::string> valid(known_.begin(), known_.end());
    std::string msg = "recipe: unknown key \"" + path_of(key) + "\"";
    const std::string guess = nearest(key, valid);
    if (!guess.empty()) msg += "; did you mean \"" + guess + "\"?";
    msg += " (valid keys here: ";
    for (size_t i = 0; i < valid.size(); ++i) msg += (i ? ", " : "") + valid[i];
    throw Error(msg + ")");
  }
}

}  // namespace heed

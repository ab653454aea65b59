#include "framework/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>

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

// `path` "" is the root, shown as "(root)".
[[noreturn]] void wrong_type(const std::string& path, const char* expected,
                             const nlohmann::json& v) {
  throw RecipeError(path, "recipe: \"" + (path.empty() ? std::string("(root)") : path) +
                              "\" must be " + expected + ", got " + v.dump() + " (" + type_of(v) +
                              ")");
}

// The shortest text that reads back as `v`: 1048576, 0.001, 1e+12.
std::string number_str(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

template <class T>
T convert_integer(const nlohmann::json& v, const std::string& path, const Range* range) {
  if (!v.is_number_integer()) wrong_type(path, "an integer", v);
  // An unsigned JSON number above int64's range would wrap to a negative one.
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()})
    throw recipe_error(path, " must be ", range ? range->str() : std::string("an int64"), ", got ",
                       v.dump());
  const int64_t x = v.get<int64_t>();
  if (range) check_range(path, static_cast<double>(x), *range, v.dump());
  if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max())
    throw recipe_error(path, " must fit a ", std::to_string(sizeof(T) * 8), "-bit integer, got ",
                       v.dump());
  return static_cast<T>(x);
}

template <class T>
T convert_number(const nlohmann::json& v, const std::string& path, const Range* range) {
  if (!v.is_number()) wrong_type(path, "a number", v);
  const double x = v.get<double>();
  // Checked before narrowing: a double beyond float's range has no float value (UB to convert).
  if (!std::isfinite(x) || std::abs(x) > std::numeric_limits<T>::max())
    throw recipe_error(path, " must be a finite number",
                       std::isfinite(x) ? " within float32's range (3.4e38)" : "", ", got ",
                       std::isfinite(x) ? v.dump() : number_str(x));
  const T t = static_cast<T>(x);
  // Both: float32 can round a tiny positive number to 0.
  if (range) check_range(path, x, *range, v.dump());
  if (range)
    check_range(path, static_cast<double>(t), *range,
                v.dump() + " (as float32: " + number_str(t) + ")");
  return t;
}

template <class T>
T convert(const nlohmann::json& v, const std::string& path, const Range* range = nullptr) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) wrong_type(path, "a boolean (true or false)", v);
    return v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    return convert_integer<T>(v, path, range);
  } else if constexpr (std::is_floating_point_v<T>) {
    return convert_number<T>(v, path, range);
  } else {
    if (!v.is_string()) wrong_type(path, "a string", v);
    return v.get<std::string>();
  }
}

}  // namespace

bool Range::contains(double v) const {
  return std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
}

std::string Range::str() const {
  const bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
  if (has_lo && has_hi)
    return std::string("in ") + (lo_open ? "(" : "[") + number_str(lo) + ", " + number_str(hi) +
           (hi_open ? ")" : "]");
  if (has_lo) return (lo_open ? "> " : ">= ") + number_str(lo);
  if (has_hi) return (hi_open ? "< " : "<= ") + number_str(hi);
  return "finite";
}

void check_range(const std::string& path, double value, const Range& range,
                 const std::string& shown) {
  if (range.contains(value)) return;
  throw recipe_error(path, " must be ", range.str(), ", got ",
                     shown.empty() ? number_str(value) : shown);
}

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

RecipeError unknown_name_error(const std::string& what, const std::string& path,
                               const std::string& name, const std::vector<std::string>& valid) {
  return RecipeError(path, unknown_name_message(what, path, name, valid));
}

Config::Config(const nlohmann::json& value, std::string path)
    : value_(value), path_(std::move(path)) {
  if (value_.is_null()) value_ = nlohmann::json::object();
  if (!value_.is_object()) wrong_type(path_, "an object", value_);
}

std::string Config::path_of(const std::string& key) const {
  if (key == "type" && type_is_name_) return path_;  // the part was written as its name
  return path_.empty() ? key : path_ + "." + key;
}

bool Config::has(const std::string& key) const {
  known_.insert(key);
  return value_.contains(key);
}

const nlohmann::json& Config::at(const std::string& key) const {
  known_.insert(key);
  if (!value_.contains(key))
    throw RecipeError(path_of(key), "recipe: missing required key \"" + path_of(key) + "\"");
  return value_.at(key);
}

namespace {

template <class T>
std::string json_text(const T& value) {
  if constexpr (std::is_same_v<T, float>) {
    // A float32 default as the code writes it (0.1), not as its double (0.10000000149011612).
    char buf[32];
    double shortest = 0;
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    if (ec == std::errc() && std::from_chars(buf, end, shortest).ec == std::errc())
      return nlohmann::json(shortest).dump();
  }
  return nlohmann::json(value).dump();
}

// What describe()'s `require` returns: a value the range accepts.
template <class T>
T placeholder(const Range* range) {
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    if (!range || !std::isfinite(range->lo)) return T(1);
    return static_cast<T>(range->lo_open ? range->lo + 1 : range->lo);
  } else {
    return T{};
  }
}

}  // namespace

void Config::record(const std::string& key, const std::string& fallback,
                    const std::string& constraint) const {
  if (!docs_) return;
  const std::string full = doc_prefix_ + key;
  for (OptionDoc& d : *docs_)
    if (d.key == full) {
      d.constraint = constraint;  // choice() after its get()
      return;
    }
  docs_->push_back({full, fallback, constraint});
}

std::vector<OptionDoc> Config::describe(const std::function<void(const Config&)>& read,
                                        const nlohmann::json& given) {
  Config c(given, "");
  c.docs_ = std::make_shared<std::vector<OptionDoc>>();
  read(c);
  return *c.docs_;
}

std::string options_text(const std::vector<OptionDoc>& options) {
  if (options.empty()) return "(none)";
  std::string out;
  for (const OptionDoc& d : options) {
    out +=
        (out.empty() ? "" : "; ") + d.key + " (" + (d.fallback.empty() ? "required" : d.fallback);
    out += (d.constraint.empty() ? "" : ", " + d.constraint) + ")";
  }
  return out;
}

template <class T>
T Config::get(const std::string& key, const T& fallback) const {
  record(key, json_text(fallback), "");
  return has(key) ? convert<T>(value_.at(key), path_of(key)) : fallback;
}

template <class T>
T Config::get(const std::string& key, const T& fallback, const Range& range) const {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, "a Range bounds numbers");
  record(key, json_text(fallback), range.str());
  if (has(key)) return convert<T>(value_.at(key), path_of(key), &range);
  check_range(path_of(key), static_cast<double>(fallback), range,
              number_str(static_cast<double>(fallback)) + " (the default)");
  return fallback;
}

template <class T>
T Config::require(const std::string& key) const {
  record(key, "", "");
  if (docs_) return placeholder<T>(nullptr);
  return convert<T>(at(key), path_of(key));
}

template <class T>
T Config::require(const std::string& key, const Range& range) const {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, "a Range bounds numbers");
  record(key, "", range.str());
  if (docs_) return placeholder<T>(&range);
  return convert<T>(at(key), path_of(key), &range);
}

template <class T>
std::vector<T> Config::get_list(const std::string& key, const std::vector<T>& fallback,
                                const Range& range, size_t size) const {
  // For describe(), like get(): the list's default and the range of each element.
  record(key, json_text(fallback),
         (size ? std::to_string(size) + " numbers, each " : std::string("each ")) + range.str());
  if (!has(key)) return fallback;
  const nlohmann::json& v = value_.at(key);
  const std::string what = size ? "a list of " + std::to_string(size) + " numbers"
                                : std::string("a non-empty list of numbers");
  if (!v.is_array() || v.empty() || (size && v.size() != size))
    throw recipe_error(path_of(key), " must be ", what, ", got ", v.dump());
  std::vector<T> out;
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(convert<T>(v[i], path_of(key) + "." + std::to_string(i), &range));
  return out;
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

#define HEED_CONFIG_NUMBER(T)                                                            \
  template T Config::get<T>(const std::string&, const T&, const Range&) const;           \
  template T Config::require<T>(const std::string&, const Range&) const;                 \
  template std::vector<T> Config::get_list<T>(const std::string&, const std::vector<T>&, \
                                              const Range&, size_t) const;
HEED_CONFIG_NUMBER(int)
HEED_CONFIG_NUMBER(int64_t)
HEED_CONFIG_NUMBER(float)
HEED_CONFIG_NUMBER(double)
#undef HEED_CONFIG_NUMBER

std::string Config::choice(const std::string& key, const std::string& fallback,
                           const std::vector<std::string>& choices) const {
  const std::string value = get<std::string>(key, fallback);
  std::string listed;
  for (const std::string& c : choices) listed += (listed.empty() ? "\"" : " | \"") + c + "\"";
  record(key, json_text(fallback), listed);
  if (std::find(choices.begin(), choices.end(), value) == choices.end())
    throw unknown_name_error("value", path_of(key), value, choices);
  return value;
}

Config Config::child(const std::string& key) const {
  known_.insert(key);
  Config c(value_.contains(key) ? value_.at(key) : nlohmann::json::object(), path_of(key));
  c.docs_ = docs_, c.doc_prefix_ = doc_prefix_ + key + ".";
  return c;
}

Config Config::part(const std::string& key, const std::string& fallback_type) const {
  known_.insert(key);
  nlohmann::json value = {{"type", fallback_type}};
  if (value_.contains(key)) {
    const nlohmann::json& v = value_.at(key);
    if (v.is_string())
      value = {{"type", v}};
    else if (v.is_object())
      value = v;
    else
      wrong_type(path_of(key), "a name or an object with \"type\"", v);
  }
  Config c(value, path_of(key));
  c.docs_ = docs_, c.doc_prefix_ = doc_prefix_ + key + ".";
  c.type_is_name_ = !value_.contains(key) || value_.at(key).is_string();
  return c;
}

void Config::set_part(const std::string& kind, const std::string& type,
                      std::function<std::vector<std::string>(const std::string&)> owners) {
  part_kind_ = kind, part_type_ = type, part_owners_ = std::move(owners);
}

std::vector<Config> Config::objects(const std::string& key) const {
  // For describe(): the list exists (none by default); its elements' keys are not recorded, as
  // describe() has no element to read them from.
  record(key, "[]", "a list of objects");
  if (!has(key)) return {};
  const nlohmann::json& list = value_.at(key);
  if (!list.is_array()) wrong_type(path_of(key), "a list of objects", list);
  std::vector<Config> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = path_of(key) + "." + std::to_string(i);
    if (!list[i].is_object()) wrong_type(path, "an object", list[i]);
    out.emplace_back(list[i], path);
  }
  return out;
}

// `"model.encoder.attention.window" is not an option of attention "scaled_dot_product" (it has
// none); "window" is an option of attention "windowed"`.
std::string Config::part_message(const std::string& key) const {
  std::string own;
  for (const std::string& k : known_)
    if (k != "type") own += (own.empty() ? "" : ", ") + k;
  std::string msg = "recipe: \"" + path_of(key) + "\" is not an option of " + part_kind_ + " \"" +
                    part_type_ + "\" (" + (own.empty() ? "it has none" : "its options: " + own) +
                    ")";
  const std::vector<std::string> owners =
      part_owners_ ? part_owners_(key) : std::vector<std::string>{};
  if (!owners.empty()) {
    msg += "; \"" + key + "\" is an option of " + part_kind_;
    for (size_t i = 0; i < owners.size(); ++i) msg += (i ? ", \"" : " \"") + owners[i] + "\"";
  } else {
    const std::vector<std::string> valid(known_.begin(), known_.end());
    const std::string guess = nearest(key, valid);
    if (!guess.empty()) msg += "; did you mean \"" + guess + "\"?";
  }
  return msg;
}

void Config::finish_with(const std::vector<std::string>& keys) const {
  known_.insert(keys.begin(), keys.end());
  finish();
}

void Config::finish() const {
  for (const auto& [key, v] : value_.items()) {
    if (known_.count(key)) continue;
    if (!part_kind_.empty()) throw RecipeError(path_of(key), part_message(key));
    const std::vector<std::string> valid(known_.begin(), known_.end());
    std::string msg = "recipe: unknown key \"" + path_of(key) + "\"";
    const std::string guess = nearest(key, valid);
    if (!guess.empty()) msg += "; did you mean \"" + guess + "\"?";
    msg += " (valid keys here: ";
    for (size_t i = 0; i < valid.size(); ++i) msg += (i ? ", " : "") + valid[i];
    throw RecipeError(path_of(key), msg + ")");
  }
}

}  // namespace heed

#include "json_mutator.h"

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

namespace heed::fuzz {

namespace {

using nlohmann::json;

// Where each size, count, rate and flag of a recipe breaks: zero, negatives, the edges of int32,
// uint32, int64 and double, and values of the wrong type.
const std::vector<json>& interesting_values() {
  static const std::vector<json> values = {0,
                                           1,
                                           -1,
                                           2,
                                           3,
                                           4,
                                           7,
                                           8,
                                           16,
                                           27,
                                           28,
                                           29,
                                           56,
                                           64,
                                           255,
                                           256,
                                           1000,
                                           1024,
                                           4096,
                                           65535,
                                           65536,
                                           1000000,
                                           2147483647,
                                           2147483648LL,
                                           -2147483648LL,
                                           4294967295LL,
                                           4294967296LL,
                                           9007199254740993LL,
                                           4611686018427387904LL,
                                           9223372036854775807LL,
                                           static_cast<int64_t>(-9223372036854775807LL - 1),
                                           18446744073709551615ULL,
                                           0.0,
                                           -0.0,
                                           0.5,
                                           -0.5,
                                           0.999999,
                                           1.0000001,
                                           1e-9,
                                           1e-300,
                                           5e-324,
                                           1e300,
                                           1.7976931348623157e308,
                                           -1e308,
                                           "",
                                           "inf",
                                           "-inf",
                                           "nan",
                                           "x",
                                           "rows",
                                           "image",
                                           std::string(300, 'a'),
                                           true,
                                           false,
                                           nullptr,
                                           json::array(),
                                           json::object(),
                                           json::array({1}),
                                           json::array({"*"}),
                                           json::array({0.9, 0.999})};
  return values;
}

const json& pick_value(std::minstd_rand& random) {
  const auto& values = interesting_values();
  return values[random() % values.size()];
}

// Every node of the document, parents before children.
void collect(json& node, std::vector<json*>& out) {
  out.push_back(&node);
  if (node.is_structured()) {
    for (auto& child : node) collect(child, out);
  }
}

// The dotted --set path of every node of an object tree (list elements by index).
void collect_paths(const json& node, const std::string& path, std::vector<std::string>& out) {
  if (!path.empty()) out.push_back(path);
  if (node.is_object()) {
    for (const auto& [key, child] : node.items())
      collect_paths(child, path.empty() ? key : path + "." + key, out);
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i)
      collect_paths(node[i], path + "." + std::to_string(i), out);
  }
}

template <class T>
T& pick(std::vector<T>& items, std::minstd_rand& random) {
  return items[random() % items.size()];
}

// Saturating, so that the mutator itself has no signed overflow for UBSan to report.
int64_t scaled_integer(int64_t v, unsigned how) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = -kMax - 1;
  int64_t out = 0;
  switch (how) {
    case 0:
      return v == kMin ? kMax : -v;
    case 1:
      return __builtin_mul_overflow(v, 1000, &out) ? (v < 0 ? kMin : kMax) : out;
    case 2:
      return __builtin_add_overflow(v, 1, &out) ? kMax : out;
    default:
      return __builtin_sub_overflow(v, 1, &out) ? kMin : out;
  }
}

json scaled(const json& number, std::minstd_rand& random) {
  const unsigned how = random() % 4;
  if (!number.is_number_float()) return scaled_integer(number.get<int64_t>(), how);
  const double v = number.get<double>();
  const double factors[] = {-1.0, 1e6, 1e-6, 1.0};
  return how == 3 ? v + 1 : v * factors[how];
}

void mutate(json& doc, std::minstd_rand& random, const std::vector<std::string>& keys) {
  std::vector<json*> nodes;
  collect(doc, nodes);
  std::vector<json*> objects, containers;
  for (json* n : nodes) {
    if (n->is_object()) objects.push_back(n);
    if (n->is_structured() && !n->empty()) containers.push_back(n);
  }
  switch (random() % 6) {
    case 0:
    case 1:  // the most useful: any value becomes an interesting one
      if (nodes.size() > 1) *nodes[1 + random() % (nodes.size() - 1)] = pick_value(random);
      return;
    case 2: {  // a number nearby, or far away
      std::vector<json*> numbers;
      for (json* n : nodes)
        if (n->is_number() && !n->is_number_unsigned()) numbers.push_back(n);
      if (!numbers.empty()) {
        json* n = pick(numbers, random);
        *n = scaled(*n, random);
      }
      return;
    }
    case 3:  // a known key, perhaps in the wrong object
      if (!objects.empty() && !keys.empty())
        (*pick(objects, random))[keys[random() % keys.size()]] = pick_value(random);
      return;
    case 4:  // a required key or list element gone
      if (!containers.empty()) {
        json* c = pick(containers, random);
        if (c->is_object()) {
          auto it = c->begin();
          std::advance(it, random() % c->size());
          c->erase(it.key());
        } else {
          c->erase(random() % c->size());
        }
      }
      return;
    default:  // a subtree copied over another (a layer list into an encoder, ...)
      if (nodes.size() > 2) {
        const json copy = *nodes[1 + random() % (nodes.size() - 1)];
        *nodes[1 + random() % (nodes.size() - 1)] = copy;
      }
      return;
  }
}

}  // namespace

std::optional<std::string> mutate_json(const std::string& text, std::minstd_rand& random,
                                       const std::vector<std::string>& keys) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (doc.is_discarded()) return std::nullopt;
  mutate(doc, random, keys);
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string mutate_override(const std::string& text, std::minstd_rand& random,
                            const std::vector<std::string>& keys) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (doc.is_discarded()) return "";
  std::vector<std::string> paths;
  collect_paths(doc, "", paths);
  if (paths.empty()) paths.push_back("train");
  std::string path = pick(paths, random);
  if (!keys.empty() && random() % 3 == 0) path += "." + keys[random() % keys.size()];
  return path + "=" + pick_value(random).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<std::string> dictionary_words(const std::string& path) {
  std::vector<std::string> words;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    // "\"hidden_size\"" -> hidden_size
    if (line.size() > 6 && line.starts_with("\"\\\"") && line.ends_with("\\\"\""))
      words.push_back(line.substr(3, line.size() - 6));
  }
  return words;
}

}  // namespace heed::fuzz

#pragma once
// heed::Error, the one exception type of the library, and HEED_CHECK, the one check macro;
// heed::RecipeError, the Error of a bad recipe value, and HEED_RECIPE_CHECK, its check macro.
//
// Library code never aborts: every recoverable failure (bad shape, bad recipe key, corrupt file)
// throws heed::Error with a message a user can act on. The CLI prints it on one line and exits
// non-zero.
//
// A problem with a recipe (a value out of range, an unknown key or name, a malformed recipe file
// or --set) is a RecipeError, which carries the JSON path it is about. Its message names that
// path already, so with_recipe_path (framework/config.h) passes it on unchanged and prefixes the
// path only to the other errors a part's constructor throws. Most sites read
//   HEED_RECIPE_CHECK(p <= k / 2, c.path_of("padding"), " must be <= kernel_size / 2, got ", p);
// which throws `recipe: "model.layers.0.padding" must be <= kernel_size / 2, got 3`.

#include <cstdint>
#include <iosfwd>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace heed {

/// Prints a shape as "[32, 512]" (defined in tensor.cpp); declared here so messages can hold
/// shapes.
std::ostream& operator<<(std::ostream& out, const std::vector<int64_t>& shape);

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

/// An error in a recipe: `path()` is the JSON path of the value it is about
/// ("model.encoder.hidden_size", "optimizer.param_groups.0.params.1"; "" for the whole recipe
/// or a recipe file's text), and the message already names it.
class RecipeError : public Error {
 public:
  RecipeError(std::string path, const std::string& message)
      : Error(message), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// The RecipeError `recipe: "<path>"<parts...>`, e.g.
///   throw recipe_error(c.path_of("milestones"), " must be increasing");
template <class... Parts>
RecipeError recipe_error(const std::string& path, const Parts&... parts) {
  return RecipeError(path, detail::concat("recipe: \"", path, "\"", parts...));
}

}  // namespace heed

// Throws heed::Error whose message is the parts streamed together, e.g.
//   HEED_CHECK(a.size(1) == b.size(0), "matmul: shapes ", a.shape(), " and ", b.shape(), " cannot
//   be multiplied");
#define HEED_CHECK(cond, ...)                                              \
  do {                                                                     \
    if (!(cond)) throw ::heed::Error(::heed::detail::concat(__VA_ARGS__)); \
  } while (0)

// Throws ::heed::recipe_error(path, parts...), `recipe: "<path>"<parts...>`, e.g.
//   HEED_RECIPE_CHECK(g > 0, c.path_of("groups"), " must be positive, got ", g);
#define HEED_RECIPE_CHECK(cond, path, ...)                        \
  do {                                                            \
    if (!(cond)) throw ::heed::recipe_error((path), __VA_ARGS__); \
  } while (0)

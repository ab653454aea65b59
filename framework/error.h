#pragma once
// heed::Error, the one exception type of the library, and HEED_CHECK, the one check macro.
//
// Library code never aborts: every recoverable failure (bad shape, bad recipe key, corrupt file)
// throws heed::Error with a message a user can act on. The CLI prints it on one line and exits
// non-zero.

#include <cstdint>
#include <iosfwd>
#include <sstream>
#include <stdexcept>
#include <string>
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

}  // namespace heed

// Throws heed::Error whose message is the parts streamed together, e.g.
//   HEED_CHECK(a.size(1) == b.size(0), "matmul: shapes ", a.shape(), " and ", b.shape(), " cannot
//   be multiplied");
#define HEED_CHECK(cond, ...)                                              \
  do {                                                                     \
    if (!(cond)) throw ::heed::Error(::heed::detail::concat(__VA_ARGS__)); \
  } while (0)

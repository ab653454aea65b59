// fuzz_idx: the input is an IDX file, gzipped or plain, as `data.path` points heed at
// (datasets/idx.h). heed::Error is the expected outcome of a bad file; anything else (a crash, a
// sanitizer report, another exception, a leak, a timeout) is a finding, and so is an accepted
// file whose array breaks IdxArray's documented invariants.

#include <cstddef>
#include <cstdint>
#include <span>

#include "datasets/idx.h"
#include "framework/error.h"
#include "workspace.h"

namespace {

void check_invariants(const heed::data::IdxArray& array) {
  if (array.dims.empty()) heed::fuzz::finding("parse_idx accepted an array without dims");
  size_t elements = 1;
  for (int64_t dim : array.dims) {
    if (dim < 1) heed::fuzz::finding("parse_idx accepted a dim < 1");
    elements *= static_cast<size_t>(dim);
  }
  if (elements != array.data.size()) heed::fuzz::finding("parse_idx: data.size() != prod(dims)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    check_invariants(heed::data::parse_idx(std::span<const uint8_t>(data, size), "fuzz input"));
  } catch (const heed::Error& e) {
    heed::fuzz::rejected(e);
  }
  return 0;
}

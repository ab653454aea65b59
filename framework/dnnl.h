#pragma once
// The one place that owns oneDNN's CPU engine and stream, and caches primitives by shape.
//
// oneDNN builds a primitive for each problem shape (choosing the kernel for this CPU's ISA takes
// tens of microseconds); a training loop reuses a handful of shapes, so each op keeps its
// primitives in a PrimitiveCache keyed by a string of dimensions and strides.

#include <oneapi/dnnl/dnnl.hpp>

#include <string>
#include <unordered_map>

#include "framework/tensor.h"

namespace heed::dnnl_glue {

dnnl::engine& engine();
dnnl::stream& stream();

/// A plain f32 memory descriptor for a tensor's shape and strides (no copy).
dnnl::memory::desc f32_desc(const Shape& shape, const Shape& strides);
/// A dnnl::memory wrapping the tensor's data in place.
dnnl::memory wrap(const Tensor& t, const dnnl::memory::desc& desc);

template <class Primitive>
class PrimitiveCache {
 public:
  template <class Make>
  Primitive& get(const std::string& key, Make make) {
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, make()).first;
    return it->second;
  }

 private:
  std::unordered_map<std::string, Primitive> cache_;
};

}  // namespace heed::dnnl_glue

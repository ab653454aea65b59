#pragma once
// The one place that owns oneDNN's CPU engine and stream, caches primitives by shape, and hands
// tensors to primitives.
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
/// An f32 memory descriptor in one of oneDNN's named layouts (nchw, tnc, ldgoi, or `any` to let
/// a primitive choose).
dnnl::memory::desc f32_desc(const Shape& shape, dnnl::memory::format_tag tag);
/// A dnnl::memory wrapping the tensor's data in place.
dnnl::memory wrap(const Tensor& t, const dnnl::memory::desc& desc);
/// A dnnl::memory wrapping a contiguous tensor's data in place, row-major in its own shape.
dnnl::memory wrap(const Tensor& t);

/// What a primitive reads: `t` itself when contiguous, else a contiguous copy cut from the graph.
Tensor dense(const Tensor& t);

/// Runs a primitive on the stream and waits for it.
void execute(const dnnl::primitive& p, const std::unordered_map<int, dnnl::memory>& args);
/// Copies `from` into `to`, converting between their layouts (queued on the stream).
void reorder(dnnl::memory from, dnnl::memory to);

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

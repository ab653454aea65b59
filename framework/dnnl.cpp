#include "framework/dnnl.h"

namespace heed::dnnl_glue {

dnnl::engine& engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

dnnl::memory::desc f32_desc(const Shape& shape, const Shape& strides) {
  return dnnl::memory::desc(dnnl::memory::dims(shape.begin(), shape.end()),
                            dnnl::memory::data_type::f32,
                            dnnl::memory::dims(strides.begin(), strides.end()));
}

dnnl::memory::desc f32_desc(const Shape& shape, dnnl::memory::format_tag tag) {
  return dnnl::memory::desc(dnnl::memory::dims(shape.begin(), shape.end()),
                            dnnl::memory::data_type::f32, tag);
}

dnnl::memory wrap(const Tensor& t, const dnnl::memory::desc& desc) {
  return dnnl::memory(desc, engine(), static_cast<void*>(t.data()));
}

dnnl::memory wrap(const Tensor& t) {
  return wrap(t, f32_desc(t.shape(), contiguous_strides(t.shape())));
}

Tensor dense(const Tensor& t) {
  return t.is_contiguous() ? t : t.contiguous().detach();
}

void execute(const dnnl::primitive& p, const std::unordered_map<int, dnnl::memory>& args) {
  p.execute(stream(), args);
  stream().wait();
}

void reorder(dnnl::memory from, dnnl::memory to) {
  dnnl::reorder(from, to).execute(stream(), from, to);
}

}  // namespace heed::dnnl_glue

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

dnnl::memory wrap(const Tensor& t, const dnnl::memory::desc& desc) {
  return dnnl::memory(desc, engine(), static_cast<void*>(t.data()));
}

}  // namespace heed::dnnl_glue

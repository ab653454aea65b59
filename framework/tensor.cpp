#include "framework/tensor.h"

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "framework/autograd.h"
#include "framework/block_cache.h"
#include "framework/ops/iter.h"
#include "framework/ops/shape.h"
#include "framework/random.h"

namespace heed {

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const Shape& shape) {
  return out << shape_str(shape);
}

const char* dtype_name(Dtype dtype) {
  return dtype == Dtype::Float32 ? "float32" : "int64";
}

int64_t numel_of(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= shape[d];
  }
  return strides;
}

namespace {
// glibc serves large blocks with mmap and returns them to the kernel on free, so every step of a
// training loop page-faults its activations in again (5% of an LSTM step). Raising the thresholds
// keeps freed blocks in the heap for the next step to reuse, as PyTorch's caching allocator does.
// Up to 128 MiB only (oneDNN's LSTM workspace of lstm_lm is 83 MB; larger blocks are kept by
// framework/block_cache.h, by exact size): larger blocks (attention
// scores of long sequences) fragment the heap when shapes change, and sdpa_scaling's peak RSS at
// seq 2048 was 5.1 GB with the limit at 1 GiB against 1.8 GB with it at 128 MiB (live: ~1.6 GB),
// while their page faults cost ~2% of the step that computes on them.
const bool g_malloc_tuned = [] {
  mallopt(M_MMAP_THRESHOLD, 128 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return true;
}();
}  // namespace

namespace {

// Bytes held by every live Storage: with the machine's memory, the allocation check's budget.
std::atomic<uint64_t> g_live_bytes{0};

thread_local const AllocationBudget* t_budget = nullptr;

std::string gib(uint64_t bytes) {
  std::ostringstream out;
  out << std::setprecision(3) << static_cast<double>(bytes) / static_cast<double>(1ull << 30)
      << " GiB";
  return out.str();
}

size_t element_size(Dtype dtype) {
  return dtype == Dtype::Float32 ? 4 : 8;
}

// The bytes a contiguous tensor of `shape` needs, checked before anything is allocated: sizes
// from a recipe (out_channels 2^63-1) must give an error naming the shape, not wrap around and
// abort inside malloc, and a request the machine cannot hold must not start swapping or wake the
// OOM killer.
size_t checked_nbytes(const Shape& shape, Dtype dtype) {
  int64_t numel = 1;
  for (int64_t s : shape) {
    HEED_CHECK(s >= 0, "tensor: negative size in shape ", shape);
    HEED_CHECK(!__builtin_mul_overflow(numel, s, &numel), "tensor: shape ", shape,
               " has more elements than an int64 can count");
  }
  uint64_t nbytes = 0;
  HEED_CHECK(!__builtin_mul_overflow(static_cast<uint64_t>(numel), element_size(dtype), &nbytes),
             "tensor: shape ", shape, " of ", dtype_name(dtype), " needs more bytes than a uint64 ",
             "can count");
  const uint64_t memory = physical_memory_bytes();
  if (memory == 0) return nbytes;
  HEED_CHECK(nbytes <= memory, "tensor: shape ", shape, " of ", dtype_name(dtype), " needs ",
             gib(nbytes), ", more than the machine's ", gib(memory), " of memory");
  const uint64_t live = g_live_bytes.load(std::memory_order_relaxed);
  HEED_CHECK(live + nbytes <= memory, "tensor: shape ", shape, " of ", dtype_name(dtype), " needs ",
             gib(nbytes), " beside the ", gib(live), " heed's tensors already hold, ",
             "more than the machine's ", gib(memory), " of memory");
  for (const AllocationBudget* b = t_budget; b != nullptr; b = b->outer) {
    const uint64_t used = live > b->start ? live - b->start : 0;
    HEED_CHECK(used + nbytes <= b->limit, "tensor: shape ", shape, " of ", dtype_name(dtype),
               " needs ", gib(nbytes), " beside the ", gib(used), " of ", b->what,
               " so far, more than its budget of ", gib(b->limit));
  }
  return nbytes;
}

}  // namespace

uint64_t physical_memory_bytes() {
  static const uint64_t bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
  }();
  return bytes;
}

AllocationBudget::AllocationBudget(uint64_t limit_, std::string what_)
    : limit(limit_),
      start(g_live_bytes.load(std::memory_order_relaxed)),
      what(std::move(what_)),
      outer(t_budget) {
  t_budget = this;
}

AllocationBudget::~AllocationBudget() {
  t_budget = outer;
}

namespace {
// aligned_alloc wants a multiple of the alignment, and a non-zero size.
size_t allocated_bytes(size_t nbytes) {
  return nbytes == 0 ? 64 : ((nbytes + 63) / 64) * 64;
}
}  // namespace

Storage::Storage(size_t nbytes_) : nbytes(nbytes_) {
  const size_t rounded = allocated_bytes(nbytes_);
  data = rounded >= block_cache::kMinBytes ? block_cache::allocate(rounded)
                                           : std::aligned_alloc(64, rounded);
  HEED_CHECK(data != nullptr, "tensor: out of memory allocating ", gib(nbytes_), " (", nbytes_,
             " bytes)");
  g_live_bytes.fetch_add(nbytes, std::memory_order_relaxed);
}

Storage::~Storage() {
  const size_t rounded = allocated_bytes(nbytes);
  if (rounded >= block_cache::kMinBytes)
    block_cache::release(data, rounded);
  else
    std::free(data);
  g_live_bytes.fetch_sub(nbytes, std::memory_order_relaxed);
}

Tensor Tensor::empty(const Shape& shape, Dtype dtype) {
  const size_t nbytes = checked_nbytes(shape, dtype);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(nbytes);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, Dtype dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.impl().storage->data, 0, t.impl().storage->nbytes);
  return t;
}

Tensor Tensor::ones(const Shape& shape) {
  return full(shape, 1.f);
}

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  t.fill_(value);
  return t;
}

Tensor Tensor::arange(int64_t end, Dtype dtype) {
  Tensor t = empty({end}, dtype);
  for (int64_t i = 0; i < end; ++i) {
    if (dtype == Dtype::Float32)
      t.data()[i] = static_cast<float>(i);
    else
      t.data_i64()[i] = i;
  }
  return t;
}

Tensor Tensor::rand(const Shape& shape, Generator& gen, float low, float high) {
  Tensor t = empty(shape);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = low + (high - low) * gen.uniform();
  return t;
}

Tensor Tensor::randn(const Shape& shape, Generator& gen) {
  Tensor t = empty(shape);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = gen.normal();
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape) {
  HEED_CHECK(static_cast<int64_t>(values.size()) == numel_of(shape), "from_vector: ", values.size(),
             " values cannot fill shape ", shape);
  Tensor t = empty(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

Tensor Tensor::from_vector_i64(const std::vector<int64_t>& values, const Shape& shape) {
  HEED_CHECK(static_cast<int64_t>(values.size()) == numel_of(shape), "from_vector: ", values.size(),
             " values cannot fill shape ", shape);
  Tensor t = empty(shape, Dtype::Int64);
  std::copy(values.begin(), values.end(), t.data_i64());
  return t;
}

TensorImpl& Tensor::impl() const {
  HEED_CHECK(impl_ != nullptr, "tensor: use of an undefined tensor");
  return *impl_;
}

int64_t Tensor::wrap_dim(int64_t d, bool extra) const {
  const int64_t n = dim() + (extra ? 1 : 0);
  HEED_CHECK(d >= -n && d < std::max<int64_t>(n, 1), "dimension ", d, " is out of range for a ",
             dim(), "-d tensor of shape ", shape());
  return d < 0 ? d + n : d;
}

int64_t Tensor::size(int64_t d) const {
  return shape()[wrap_dim(d)];
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (shape()[d] != 1 && strides()[d] != expected) return false;
    expected *= shape()[d];
  }
  return true;
}

float* Tensor::data() const {
  HEED_CHECK(dtype() == Dtype::Float32,
             "tensor: float32 data requested from an int64 tensor of shape ", shape());
  return static_cast<float*>(impl().storage->data) + offset();
}

int64_t* Tensor::data_i64() const {
  HEED_CHECK(dtype() == Dtype::Int64,
             "tensor: int64 data requested from a float32 tensor of shape ", shape());
  return static_cast<int64_t*>(impl().storage->data) + offset();
}

float Tensor::item() const {
  HEED_CHECK(numel() == 1, "item: tensor of shape ", shape(), " has ", numel(), " elements, not 1");
  return dtype() == Dtype::Float32 ? *data() : static_cast<float>(*data_i64());
}

int64_t Tensor::item_i64() const {
  HEED_CHECK(numel() == 1, "item: tensor of shape ", shape(), " has ", numel(), " elements, not 1");
  return dtype() == Dtype::Int64 ? *data_i64() : static_cast<int64_t>(*data());
}

namespace {
int64_t element_offset(const Tensor& t, std::initializer_list<int64_t> index) {
  HEED_CHECK(static_cast<int64_t>(index.size()) == t.dim(), "at: ", index.size(),
             " indices for a tensor of shape ", t.shape());
  int64_t off = 0, d = 0;
  for (int64_t i : index) {
    HEED_CHECK(i >= 0 && i < t.shape()[d], "at: index ", i, " out of range in dimension ", d,
               " of shape ", t.shape());
    off += i * t.strides()[d++];
  }
  return off;
}
}  // namespace

float Tensor::at(std::initializer_list<int64_t> index) const {
  return data()[element_offset(*this, index)];
}

int64_t Tensor::at_i64(std::initializer_list<int64_t> index) const {
  return data_i64()[element_offset(*this, index)];
}

std::vector<float> Tensor::to_vector() const {
  Tensor c = contiguous();
  return std::vector<float>(c.data(), c.data() + c.numel());
}

std::vector<int64_t> Tensor::to_vector_i64() const {
  Tensor c = contiguous();
  return std::vector<int64_t>(c.data_i64(), c.data_i64() + c.numel());
}

bool Tensor::requires_grad() const {
  return impl().requires_grad || impl().grad_fn != nullptr;
}

Tensor& Tensor::requires_grad_(bool on) {
  HEED_CHECK(is_leaf(), "requires_grad_: only leaf tensors can change requires_grad");
  HEED_CHECK(!on || dtype() == Dtype::Float32, "requires_grad_: int64 tensors have no gradient");
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  return impl().grad ? Tensor(impl().grad) : Tensor();
}

void Tensor::set_grad(const Tensor& grad) const {
  if (grad.defined())
    HEED_CHECK(grad.shape() == shape(), "set_grad: gradient of shape ", grad.shape(),
               " for a tensor of shape ", shape());
  impl().grad = grad.defined() ? grad.impl_ptr() : nullptr;
}

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  run_backward(*this, grad, retain_graph);
}

Tensor Tensor::detach() const {
  return make_view(*this, shape(), strides(), offset());
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl().storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

Tensor Tensor::reshape(const Shape& s) const {
  return ops::reshape(*this, s);
}
Tensor Tensor::view(const Shape& s) const {
  return ops::view(*this, s);
}
Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  return ops::transpose(*this, d0, d1);
}
Tensor Tensor::permute(const Shape& dims) const {
  return ops::permute(*this, dims);
}
Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  return ops::narrow(*this, d, start, length);
}
Tensor Tensor::select(int64_t d, int64_t index) const {
  return ops::select(*this, d, index);
}
Tensor Tensor::unsqueeze(int64_t d) const {
  return ops::unsqueeze(*this, d);
}
Tensor Tensor::squeeze(int64_t d) const {
  return ops::squeeze(*this, d);
}
Tensor Tensor::expand(const Shape& s) const {
  return ops::expand(*this, s);
}
Tensor Tensor::contiguous() const {
  return is_contiguous() ? *this : ops::clone(*this);
}
Tensor Tensor::clone() const {
  return ops::clone(*this);
}

Tensor Tensor::to(Dtype target) const {
  Tensor src = contiguous();
  Tensor out = empty(shape(), target);
  const int64_t n = numel();
  if (dtype() == target) {
    std::memcpy(out.impl().storage->data,
                src.dtype() == Dtype::Float32 ? static_cast<void*>(src.data())
                                              : static_cast<void*>(src.data_i64()),
                n * element_size(target));
  } else if (target == Dtype::Float32) {
    for (int64_t i = 0; i < n; ++i) out.data()[i] = static_cast<float>(src.data_i64()[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out.data_i64()[i] = static_cast<int64_t>(src.data()[i]);
  }
  return out;
}

void Tensor::copy_(const Tensor& src) const {
  HEED_CHECK(src.dtype() == dtype(), "copy_: cannot copy ", dtype_name(src.dtype()), " into ",
             dtype_name(dtype()));
  const Shape src_strides = ops::broadcast_strides(src, shape());
  // Typed inner loops: the strided case (a transpose, a broadcast) is most of a contiguous() call.
  auto copy_rows = [&](auto* dst, const auto* from) {
    ops::for_each_row<2>(
        shape(), {strides(), src_strides}, {offset(), src.offset()},
        [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& st) {
          auto* d = dst + off[0];
          const auto* s = from + off[1];
          if (st[0] == 1 && st[1] == 1) {
            std::memcpy(d, s, n * sizeof(*d));
          } else {
            for (int64_t i = 0; i < n; ++i) d[i * st[0]] = s[i * st[1]];
          }
        });
  };
  if (dtype() == Dtype::Float32)
    copy_rows(static_cast<float*>(impl().storage->data),
              static_cast<const float*>(src.impl().storage->data));
  else
    copy_rows(static_cast<int64_t*>(impl().storage->data),
              static_cast<const int64_t*>(src.impl().storage->data));
}

void Tensor::fill_(float value) const {
  if (is_contiguous() && dtype() == Dtype::Float32) {
    std::fill(data(), data() + numel(), value);
    return;
  }
  Tensor v = empty({}, dtype());
  if (dtype() == Dtype::Float32)
    *v.data() = value;
  else
    *v.data_i64() = static_cast<int64_t>(value);
  copy_(v);
}

std::string Tensor::to_string() const {
  std::ostringstream out;
  out << "tensor(shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype()) << ", [";
  const int64_t n = numel(), shown = std::min<int64_t>(n, 12);
  Tensor c = contiguous();
  for (int64_t i = 0; i < shown; ++i) {
    out << (i ? ", " : "");
    if (dtype() == Dtype::Float32)
      out << std::setprecision(6) << c.data()[i];
    else
      out << c.data_i64()[i];
  }
  out << (n > shown ? ", ...])" : "])");
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  return out << t.to_string();
}

}  // namespace heed

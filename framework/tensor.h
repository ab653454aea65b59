#pragma once
// Tensor: a shared handle to strided storage, the value every op takes and returns.
//
// Layout is PyTorch's: row-major, dimension order as PyTorch writes it. Storage is 64-byte aligned
// and shared between a tensor and its views (reshape of a contiguous tensor, transpose, permute,
// narrow, unsqueeze, squeeze, expand), which differ only in shape, strides and offset.
// Two element types: float32 (values) and int64 (token ids, labels, masks).
//
//   Tensor x = Tensor::randn({batch, seq, d_model}, gen).requires_grad_();
//   Tensor y = (x * x).sum();
//   y.backward();  // x.grad() is 2x
//
// Views that are recorded ops (their backward maps the gradient back) live in ops/shape.h; the
// methods here are thin wrappers over them so `x.transpose(0, 1)` reads naturally.

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "framework/error.h"

namespace heed {

using Shape = std::vector<int64_t>;
enum class Dtype { Float32, Int64 };

class Generator;
struct Node;

/// "[32, 512]": how shapes appear in every error message.
std::string shape_str(const Shape& shape);
std::ostream& operator<<(std::ostream& out, const Shape& shape);
const char* dtype_name(Dtype dtype);
int64_t numel_of(const Shape& shape);
Shape contiguous_strides(const Shape& shape);

/// The machine's physical memory in bytes (sysconf), 0 when unknown. Every allocation checks
/// against it: a shape whose bytes overflow, exceed it, or would bring the bytes all live tensors
/// hold above it is a heed::Error naming the shape and the sizes in GiB, not an abort in malloc.
uint64_t physical_memory_bytes();

/// While alive, an allocation on this thread that would grow the bytes all tensors hold by more
/// than `limit` since the budget began is a heed::Error naming `what`, e.g. a model whose
/// parameters training could not hold. Budgets nest: every budget alive on the thread holds.
class AllocationBudget {
 public:
  AllocationBudget(uint64_t limit, std::string what);
  ~AllocationBudget();
  AllocationBudget(const AllocationBudget&) = delete;
  AllocationBudget& operator=(const AllocationBudget&) = delete;

  uint64_t limit, start;
  std::string what;
  const AllocationBudget* outer;  // the budget alive when this one began, or null
};

/// 64-byte aligned bytes owned by one or more tensors.
struct Storage {
  explicit Storage(size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data;
  size_t nbytes;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  int64_t offset = 0;  // in elements
  Dtype dtype = Dtype::Float32;
  bool requires_grad = false;  // set on leaves; results of recorded ops have grad_fn instead
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Creation. Shapes may be empty ({}) for a scalar.
  static Tensor empty(const Shape& shape, Dtype dtype = Dtype::Float32);
  static Tensor zeros(const Shape& shape, Dtype dtype = Dtype::Float32);
  static Tensor ones(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor scalar(float value) { return full({}, value); }
  static Tensor arange(int64_t end, Dtype dtype = Dtype::Float32);
  /// Uniform in [low, high), from the given generator.
  static Tensor rand(const Shape& shape, Generator& gen, float low = 0.f, float high = 1.f);
  /// Standard normal, from the given generator.
  static Tensor randn(const Shape& shape, Generator& gen);
  /// Copies `values` (row-major); throws if their count differs from the shape's.
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor from_vector_i64(const std::vector<int64_t>& values, const Shape& shape);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  Dtype dtype() const { return impl().dtype; }
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  /// Size of dimension `d`; negative counts from the end. Throws when out of range.
  int64_t size(int64_t d) const;
  int64_t numel() const { return numel_of(shape()); }
  bool is_contiguous() const;
  /// Normalizes a possibly negative dimension index against dim() (+1 when `extra`).
  int64_t wrap_dim(int64_t d, bool extra = false) const;

  /// Pointer to the first element (at offset). Throws on the wrong dtype.
  float* data() const;
  int64_t* data_i64() const;
  /// The value of a one-element tensor.
  float item() const;
  int64_t item_i64() const;
  /// Element at a multi-index (for tests and small lookups, not hot loops).
  float at(std::initializer_list<int64_t> index) const;
  int64_t at_i64(std::initializer_list<int64_t> index) const;
  std::vector<float> to_vector() const;
  std::vector<int64_t> to_vector_i64() const;

  // Autograd.
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  /// Runs reverse-mode differentiation from this tensor. `grad` defaults to 1 for a scalar and is
  /// required otherwise. Without retain_graph the graph's saved tensors are freed, and a second
  /// backward through it throws.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  /// The same storage, cut from the graph.
  Tensor detach() const;

  // Views (recorded; see ops/shape.h).
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const { return transpose(0, 1); }
  Tensor permute(const Shape& dims) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end) const {
    return narrow(dim, start, end - start);
  }
  Tensor select(int64_t dim, int64_t index) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor expand(const Shape& shape) const;
  Tensor contiguous() const;
  /// A new tensor with its own storage and the same values (recorded).
  Tensor clone() const;
  /// Float copy of an int64 tensor or int64 copy (truncating) of a float tensor; not recorded.
  Tensor to(Dtype dtype) const;

  /// Overwrites this tensor's elements with `src` (broadcast to this shape); not recorded.
  void copy_(const Tensor& src) const;
  void fill_(float value) const;

  std::string to_string() const;
  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& out, const Tensor& t);

/// A tensor sharing `base`'s storage with the given geometry, not recorded (used by ops).
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);

}  // namespace heed

#include "framework/ops/matmul.h"

#include <algorithm>
#include <sstream>

#include "framework/autograd.h"
#include "framework/dnnl.h"
#include "framework/ops/iter.h"
#include "framework/ops/reduce.h"
#include "framework/ops/shape.h"

namespace heed::ops {

namespace {

using dnnl_glue::f32_desc;

// The transposed view of the last two dimensions, unrecorded: for kernels, not for graphs.
Tensor swap_last(const Tensor& t) {
  Shape shape = t.shape(), strides = t.strides();
  std::swap(shape[t.dim() - 1], shape[t.dim() - 2]);
  std::swap(strides[t.dim() - 1], strides[t.dim() - 2]);
  return make_view(t, shape, strides, t.offset());
}

// oneDNN reads a matrix in place when it is row-major or column-major (a transposed view) with
// dense batches; anything else (a narrowed head, an expanded batch) is copied first.
bool dense_matrix(const Tensor& t) {
  return t.is_contiguous() || swap_last(t).is_contiguous();
}

std::string key_of(const Tensor& a, const Tensor& b, bool bias) {
  std::ostringstream key;
  key << a.shape() << a.strides() << b.shape() << b.strides() << bias;
  return key.str();
}

// Below this many multiply-adds per matrix, a batched product is a loop here: oneDNN's call costs
// ~0.2 ms whatever the size, and an attention decoder multiplies [1, 12] by [12, 256] per sequence
// at every step (the g2p_attn benchmark spent 7 ms a step there, at 2 GFLOP/s).
constexpr int64_t kSmallMatrix = 4096;

// c = a @ b for dense batched operands (dense_matrix), each of its matrices summed over k in
// order, so the result is the same at any thread count. Vectorized along n when b's rows are
// contiguous, along k when both operands are contiguous in k (b a transposed view).
void small_batched_mm(const Tensor& a, const Tensor& b, const Tensor& c) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1), batch = c.numel() / (m * n);
  const int64_t am = a.strides()[a.dim() - 2], ak = a.strides()[a.dim() - 1];
  const int64_t bk = b.strides()[b.dim() - 2], bn = b.strides()[b.dim() - 1];
  const float *pa = a.data(), *pb = b.data();
  float* pc = c.data();
#pragma omp parallel for schedule(static) if (batch * m * n * k >= kParallelGrain && batch > 1)
  for (int64_t i = 0; i < batch; ++i) {
    const float *ai = pa + i * m * k, *bi = pb + i * k * n;
    float* ci = pc + i * m * n;
    for (int64_t r = 0; r < m; ++r) {
      float* row = ci + r * n;
      if (bn == 1) {
        std::fill(row, row + n, 0.f);
        for (int64_t j = 0; j < k; ++j) {
          const float x = ai[r * am + j * ak];
          const float* brow = bi + j * bk;
#pragma omp simd
          for (int64_t col = 0; col < n; ++col) row[col] += x * brow[col];
        }
      } else {
        for (int64_t col = 0; col < n; ++col) {
          float acc = 0.f;
#pragma omp simd reduction(+ : acc)
          for (int64_t j = 0; j < k; ++j) acc += ai[r * am + j * ak] * bi[j * bk + col * bn];
          row[col] = acc;
        }
      }
    }
  }
}

// c = a @ b (+ bias [N]) for a [..., M, K], b [..., K, N] of equal rank and batch dims, unrecorded.
Tensor mm_kernel(const Tensor& a_in, const Tensor& b_in, const Tensor& bias) {
  const Tensor a = dense_matrix(a_in) ? a_in : a_in.contiguous();
  const Tensor b = dense_matrix(b_in) ? b_in : b_in.contiguous();
  Shape out_shape = a.shape();
  out_shape.back() = b.shape().back();
  Tensor c = Tensor::empty(out_shape);
  if (c.numel() == 0) return c;
  const int64_t k = a.shape().back();
  if (k == 0) {
    c.fill_(0.f);
    return c;
  }
  if (!bias.defined() && a.dim() > 2 && c.numel() > out_shape.end()[-1] * out_shape.end()[-2] &&
      a.size(-2) * k * c.size(-1) <= kSmallMatrix) {
    small_batched_mm(a, b, c);
    return c;
  }
  static dnnl_glue::PrimitiveCache<dnnl::matmul> cache;
  Shape bias_shape(out_shape.size(), 1);
  bias_shape.back() = out_shape.back();
  const auto a_md = f32_desc(a.shape(), a.strides());
  const auto b_md = f32_desc(b.shape(), b.strides());
  const auto c_md = f32_desc(c.shape(), c.strides());
  const auto bias_md = f32_desc(bias_shape, contiguous_strides(bias_shape));
  dnnl::matmul& prim = cache.get(key_of(a, b, bias.defined()), [&] {
    auto desc = bias.defined() ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md)
                               : dnnl::matmul::desc(a_md, b_md, c_md);
    return dnnl::matmul(dnnl::matmul::primitive_desc(desc, dnnl_glue::engine()));
  });
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, dnnl_glue::wrap(a, a_md)},
                                             {DNNL_ARG_WEIGHTS, dnnl_glue::wrap(b, b_md)},
                                             {DNNL_ARG_DST, dnnl_glue::wrap(c, c_md)}};
  if (bias.defined()) args.emplace(DNNL_ARG_BIAS, dnnl_glue::wrap(bias.contiguous(), bias_md));
  dnnl_glue::execute(prim, args);
  return c;
}

// Recorded product of equal-rank, equal-batch operands.
Tensor mm(const Tensor& a, const Tensor& b) {
  Tensor out = mm_kernel(a, b, Tensor());
  const bool ga = needs_grad(a), gb = needs_grad(b);
  // grad_a = g b^T, grad_b = a^T g: each operand is saved only for the other's gradient.
  return record("matmul", out, {a, b},
                [ga, gb, a = gb ? a : Tensor(), b = ga ? b : Tensor()](const Tensor& g) -> Grads {
                  return {ga ? mm_kernel(g, swap_last(b), Tensor()) : Tensor(),
                          gb ? mm_kernel(swap_last(a), g, Tensor()) : Tensor()};
                });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  HEED_CHECK(a.dtype() == Dtype::Float32 && b.dtype() == Dtype::Float32,
             "matmul: expected float32 tensors, got ", dtype_name(a.dtype()), " and ",
             dtype_name(b.dtype()));
  HEED_CHECK(a.dim() >= 2 && b.dim() >= 2 && a.size(-1) == b.size(-2), "matmul: shapes ", a.shape(),
             " and ", b.shape(), " cannot be multiplied");
  if (b.dim() == 2 && a.dim() > 2) {
    Shape out_shape = a.shape();
    out_shape.back() = b.size(1);
    return reshape(mm(reshape(a, {-1, a.size(-1)}), b), out_shape);
  }
  // Broadcast the batch dimensions, then multiply batch by batch.
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2),
      batch_b(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  Shape sa = batch, sb = batch;
  sa.insert(sa.end(), a.shape().end() - 2, a.shape().end());
  sb.insert(sb.end(), b.shape().end() - 2, b.shape().end());
  return mm(expand(a, sa), expand(b, sb));
}

Tensor gemm(const Tensor& a, const Tensor& b, const Tensor& bias) {
  HEED_CHECK(a.dim() == b.dim() && a.dim() >= 2 && a.size(-1) == b.size(-2), "gemm: shapes ",
             a.shape(), " and ", b.shape(), " cannot be multiplied");
  return mm_kernel(a, b, bias);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  HEED_CHECK(weight.dim() == 2 && x.dim() >= 1 && x.size(-1) == weight.size(1),
             "linear: input of shape ", x.shape(), " and weight of shape ", weight.shape(),
             " do not match (weight is [out_features, in_features])");
  HEED_CHECK(!bias.defined() || bias.shape() == Shape{weight.size(0)}, "linear: bias of shape ",
             bias.shape(), " for weight of shape ", weight.shape());
  Shape out_shape = x.shape();
  out_shape.back() = weight.size(0);
  const Tensor x2 = reshape(x, {-1, x.size(-1)});
  Tensor out2 = mm_kernel(x2, swap_last(weight), bias);
  const bool gx = needs_grad(x2), gw = needs_grad(weight), gb = needs_grad(bias);
  // grad_x = g W reads the weight, grad_W = g^T x the input, grad_bias neither.
  out2 = record("linear", out2, {x2, weight, bias},
                [gx, gw, gb, x2 = gw ? x2 : Tensor(),
                 weight = gx ? weight : Tensor()](const Tensor& g) -> Grads {
                  return {gx ? mm_kernel(g, weight, Tensor()) : Tensor(),
                          gw ? mm_kernel(swap_last(g), x2, Tensor()) : Tensor(),
                          gb ? sum(g, {0}) : Tensor()};
                });
  return reshape(out2, out_shape);
}

}  // namespace heed::ops

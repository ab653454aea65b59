#include "framework/ops/pool.h"

#include <memory>
#include <sstream>

#include "framework/autograd.h"
#include "framework/dnnl.h"
#include "framework/ops/iter.h"
#include "framework/ops/shape.h"

namespace heed::ops {

namespace {

using dnnl::memory;
using dnnl_glue::dense, dnnl_glue::execute, dnnl_glue::wrap;

struct PoolShape {
  Shape x, out;
  Pair kernel, stride, padding;
  dnnl::algorithm algo;
  bool training;

  std::string key() const {
    std::ostringstream k;
    k << x << kernel[0] << ',' << kernel[1] << ',' << stride[0] << ',' << stride[1] << ','
      << padding[0] << ',' << padding[1] << ',' << static_cast<int>(algo) << training;
    return k.str();
  }
};

struct PoolPrimitives {
  dnnl::pooling_forward::primitive_desc forward_pd;
  dnnl::pooling_forward forward;
  dnnl::pooling_backward backward;  // empty for inference
};

PoolPrimitives make_primitives(const PoolShape& s) {
  const memory::dims kernel{s.kernel[0], s.kernel[1]}, strides{s.stride[0], s.stride[1]},
      pad{s.padding[0], s.padding[1]};
  auto& eng = dnnl_glue::engine();
  const auto prop =
      s.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const auto x_md = dnnl_glue::f32_desc(s.x, memory::format_tag::nchw),
             out_md = dnnl_glue::f32_desc(s.out, memory::format_tag::nchw);
  const dnnl::pooling_forward::primitive_desc fwd_pd(
      dnnl::pooling_forward::desc(prop, s.algo, x_md, out_md, strides, kernel, pad, pad), eng);
  PoolPrimitives p{fwd_pd, dnnl::pooling_forward(fwd_pd), {}};
  if (s.training) {
    const dnnl::pooling_backward::desc bwd(s.algo, x_md, out_md, strides, kernel, pad, pad);
    p.backward = dnnl::pooling_backward(dnnl::pooling_backward::primitive_desc(bwd, eng, fwd_pd));
  }
  return p;
}

PoolPrimitives& primitives(const PoolShape& s) {
  static dnnl_glue::PrimitiveCache<PoolPrimitives> cache;
  return cache.get(s.key(), [&] { return make_primitives(s); });
}

Pair pair_or(Pair value, Pair fallback) {
  return value[0] == 0 && value[1] == 0 ? fallback : value;
}

Tensor pool2d(const char* op, const Tensor& x, Pair kernel, Pair stride, Pair padding,
              dnnl::algorithm algo) {
  HEED_CHECK(x.dtype() == Dtype::Float32 && x.dim() == 4, op, ": input ", x.shape(),
             " must be float32 [batch, channels, H, W]");
  stride = pair_or(stride, kernel);
  for (int d = 0; d < 2; ++d) {
    HEED_CHECK(kernel[d] > 0 && stride[d] > 0 && padding[d] >= 0, op,
               ": kernel_size and stride must be positive and padding non-negative, got "
               "kernel_size ",
               Shape{kernel[0], kernel[1]}, ", stride ", Shape{stride[0], stride[1]}, ", padding ",
               Shape{padding[0], padding[1]});
    HEED_CHECK(padding[d] <= kernel[d] / 2, op, ": padding ", Shape{padding[0], padding[1]},
               " must be at most half of kernel_size ", Shape{kernel[0], kernel[1]});
  }
  PoolShape s{x.shape(), {}, kernel, stride, padding, algo, grad_enabled() && needs_grad(x)};
  s.out = {x.size(0), x.size(1), conv_out_size(x.size(2), kernel[0], stride[0], padding[0], 1),
           conv_out_size(x.size(3), kernel[1], stride[1], padding[1], 1)};
  HEED_CHECK(s.out[2] > 0 && s.out[3] > 0, op, ": input ", x.shape(),
             " is smaller than kernel_size ", Shape{kernel[0], kernel[1]}, " with padding ",
             Shape{padding[0], padding[1]});
  if (x.numel() == 0) return Tensor::zeros(s.out);
  const Tensor xd = dense(x);
  Tensor y = Tensor::empty(s.out);
  PoolPrimitives& p = primitives(s);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(xd)}, {DNNL_ARG_DST, wrap(y)}};
  // The argmax of each max window, which the backward routes the gradient through.
  std::shared_ptr<memory> workspace;
  if (s.training && algo == dnnl::algorithm::pooling_max) {
    workspace = std::make_shared<memory>(p.forward_pd.workspace_desc(), dnnl_glue::engine());
    args.emplace(DNNL_ARG_WORKSPACE, *workspace);
  }
  execute(p.forward, args);
  if (!s.training) return y;
  return record(op, y, {x}, [s, workspace](const Tensor& g_in) -> Grads {
    const Tensor g = dense(g_in);
    Tensor dx = Tensor::zeros(s.x);
    std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, wrap(g)},
                                         {DNNL_ARG_DIFF_SRC, wrap(dx)}};
    if (workspace) args.emplace(DNNL_ARG_WORKSPACE, *workspace);
    execute(primitives(s).backward, args);
    return {dx};
  });
}

// PyTorch's adaptive bins: [floor(i * in / out), ceil((i + 1) * in / out)).
int64_t bin_start(int64_t i, int64_t in, int64_t out) {
  return i * in / out;
}
int64_t bin_end(int64_t i, int64_t in, int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}

// The uneven case of adaptive_avg_pool2d: sums over each bin of each (batch, channel) plane, in
// both directions (forward reads x and writes y; backward spreads g over dx).
template <bool Backward>
void adaptive_loop(const float* src, float* dst, int64_t planes, int64_t h, int64_t w, int64_t oh,
                   int64_t ow) {
#pragma omp parallel for schedule(static) if (planes * h * w >= kParallelGrain)
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t h0 = bin_start(i, h, oh), h1 = bin_end(i, h, oh);
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t w0 = bin_start(j, w, ow), w1 = bin_end(j, w, ow);
        const float inv = 1.f / static_cast<float>((h1 - h0) * (w1 - w0));
        if constexpr (Backward) {
          const float g = src[(p * oh + i) * ow + j] * inv;
          for (int64_t r = h0; r < h1; ++r)
            for (int64_t c = w0; c < w1; ++c) dst[(p * h + r) * w + c] += g;
        } else {
          double sum = 0;
          for (int64_t r = h0; r < h1; ++r)
            for (int64_t c = w0; c < w1; ++c) sum += src[(p * h + r) * w + c];
          dst[(p * oh + i) * ow + j] = static_cast<float>(sum) * inv;
        }
      }
    }
  }
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Pair kernel_size, Pair stride, Pair padding) {
  return pool2d("max_pool2d", x, kernel_size, stride, padding, dnnl::algorithm::pooling_max);
}

Tensor avg_pool2d(const Tensor& x, Pair kernel_size, Pair stride, Pair padding,
                  bool count_include_pad) {
  return pool2d("avg_pool2d", x, kernel_size, stride, padding,
                count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                  : dnnl::algorithm::pooling_avg_exclude_padding);
}

Tensor max_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride, int64_t padding) {
  HEED_CHECK(x.dim() == 3, "max_pool1d: input ", x.shape(), " must be [batch, channels, length]");
  return squeeze(max_pool2d(unsqueeze(x, 2), {1, kernel_size}, {1, stride ? stride : kernel_size},
                            {0, padding}),
                 2);
}

Tensor avg_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride, int64_t padding,
                  bool count_include_pad) {
  HEED_CHECK(x.dim() == 3, "avg_pool1d: input ", x.shape(), " must be [batch, channels, length]");
  return squeeze(avg_pool2d(unsqueeze(x, 2), {1, kernel_size}, {1, stride ? stride : kernel_size},
                            {0, padding}, count_include_pad),
                 2);
}

Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size) {
  HEED_CHECK(x.dtype() == Dtype::Float32 && x.dim() == 4, "adaptive_avg_pool2d: input ", x.shape(),
             " must be float32 [batch, channels, H, W]");
  const int64_t h = x.size(2), w = x.size(3), oh = output_size[0], ow = output_size[1];
  HEED_CHECK(oh > 0 && ow > 0, "adaptive_avg_pool2d: output_size ", Shape{oh, ow},
             " must be positive");
  if (h % oh == 0 && w % ow == 0 && h > 0 && w > 0)
    return avg_pool2d(x, {h / oh, w / ow}, {h / oh, w / ow});
  HEED_CHECK(h > 0 && w > 0, "adaptive_avg_pool2d: input ", x.shape(), " has an empty plane");
  const Tensor xd = x.contiguous().detach();
  Tensor y = Tensor::empty({x.size(0), x.size(1), oh, ow});
  const int64_t planes = x.size(0) * x.size(1);
  adaptive_loop<false>(xd.data(), y.data(), planes, h, w, oh, ow);
  return record("adaptive_avg_pool2d", y, {x}, [=, shape = x.shape()](const Tensor& g) -> Grads {
    const Tensor gd = g.contiguous().detach();
    Tensor dx = Tensor::zeros(shape);
    adaptive_loop<true>(gd.data(), dx.data(), planes, h, w, oh, ow);
    return {dx};
  });
}

}  // namespace heed::ops

#include "framework/ops/conv.h"

#include <sstream>

#include "framework/autograd.h"
#include "framework/dnnl.h"
#include "framework/ops/shape.h"

namespace heed::ops {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dnnl_glue::dense, dnnl_glue::f32_desc, dnnl_glue::reorder, dnnl_glue::wrap;

// One convolution problem: everything a primitive depends on.
struct ConvShape {
  Shape x, w, out;
  bool bias;
  Pair stride, padding, dilation;
  int64_t groups;

  std::string key() const {
    std::ostringstream k;
    k << x << w << bias << stride[0] << ',' << stride[1] << ',' << padding[0] << ',' << padding[1]
      << ',' << dilation[0] << ',' << dilation[1] << ',' << groups;
    return k.str();
  }
};

// The forward and both backward primitives of one shape, built together because the backward
// descriptors take the forward one as their hint. Their memory formats are oneDNN's choice
// (format_tag::any): blocked layouts (nChw16c) run its direct JIT kernels, several times faster
// than the im2col + gemm it falls back to on plain NCHW, even counting the reorders.
struct ConvPrimitives {
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_backward_data::primitive_desc data_pd;
  dnnl::convolution_backward_weights::primitive_desc weights_pd;
  dnnl::convolution_forward forward;
  dnnl::convolution_backward_data backward_data;
  dnnl::convolution_backward_weights backward_weights;
};

// oneDNN takes grouped weights as 5-D [groups, out / groups, in / groups, kH, kW] (goihw): the
// same bytes as PyTorch's [out, in / groups, kH, kW].
memory::desc weight_desc(const ConvShape& s) {
  if (s.groups == 1) return f32_desc(s.w, tag::oihw);
  return f32_desc({s.groups, s.w[0] / s.groups, s.w[1], s.w[2], s.w[3]}, tag::goihw);
}

ConvPrimitives make_primitives(const ConvShape& s) {
  const auto x_md = f32_desc(s.x, tag::any), y_md = f32_desc(s.out, tag::any);
  const auto w_md = s.groups == 1
                        ? f32_desc(s.w, tag::any)
                        : f32_desc({s.groups, s.w[0] / s.groups, s.w[1], s.w[2], s.w[3]}, tag::any);
  const auto b_md = f32_desc({s.w[0]}, tag::a);
  const memory::dims strides{s.stride[0], s.stride[1]}, pad{s.padding[0], s.padding[1]},
      dil{s.dilation[0] - 1, s.dilation[1] - 1};
  const auto algo = dnnl::algorithm::convolution_direct;
  auto& eng = dnnl_glue::engine();
  const auto fwd_desc =
      s.bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, x_md, w_md,
                                               b_md, y_md, strides, dil, pad, pad)
             : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, x_md, w_md,
                                               y_md, strides, dil, pad, pad);
  const dnnl::convolution_forward::primitive_desc fwd_pd(fwd_desc, eng);
  const dnnl::convolution_backward_data::desc data_desc(algo, x_md, w_md, y_md, strides, dil, pad,
                                                        pad);
  const auto weights_desc = s.bias ? dnnl::convolution_backward_weights::desc(
                                         algo, x_md, w_md, b_md, y_md, strides, dil, pad, pad)
                                   : dnnl::convolution_backward_weights::desc(
                                         algo, x_md, w_md, y_md, strides, dil, pad, pad);
  const dnnl::convolution_backward_data::primitive_desc data_pd(data_desc, eng, fwd_pd);
  const dnnl::convolution_backward_weights::primitive_desc weights_pd(weights_desc, eng, fwd_pd);
  return {fwd_pd,
          data_pd,
          weights_pd,
          dnnl::convolution_forward(fwd_pd),
          dnnl::convolution_backward_data(data_pd),
          dnnl::convolution_backward_weights(weights_pd)};
}

ConvPrimitives& primitives(const ConvShape& s) {
  static dnnl_glue::PrimitiveCache<ConvPrimitives> cache;
  return cache.get(s.key(), [&] { return make_primitives(s); });
}

memory weight_memory(const ConvShape& s, const Tensor& w) {
  return memory(weight_desc(s), dnnl_glue::engine(), static_cast<void*>(w.data()));
}

// `m` in the layout `want`: itself when it already is, else a reordered copy.
memory in_format(memory m, const memory::desc& want) {
  if (m.get_desc() == want) return m;
  memory out(want, dnnl_glue::engine());
  reorder(m, out);
  return out;
}

// A primitive's output memory in layout `have`, written back to the plain `target` afterwards
// by finish_output when the layouts differ.
memory out_format(const memory& target, const memory::desc& have) {
  return target.get_desc() == have ? target : memory(have, dnnl_glue::engine());
}

void finish_output(memory& produced, memory& target) {
  if (!(produced == target)) reorder(produced, target);
}

Tensor conv_forward(const ConvShape& s, const Tensor& x, const Tensor& w, const Tensor& b) {
  ConvPrimitives& p = primitives(s);
  Tensor y = Tensor::empty(s.out);
  memory y_plain = wrap(y), y_mem = out_format(y_plain, p.forward_pd.dst_desc());
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, in_format(wrap(x), p.forward_pd.src_desc())},
      {DNNL_ARG_WEIGHTS, in_format(weight_memory(s, w), p.forward_pd.weights_desc())},
      {DNNL_ARG_DST, y_mem}};
  if (s.bias) args.emplace(DNNL_ARG_BIAS, wrap(b));
  p.forward.execute(dnnl_glue::stream(), args);
  finish_output(y_mem, y_plain);
  dnnl_glue::stream().wait();
  return y;
}

Tensor conv_backward_data(const ConvShape& s, const Tensor& g, const Tensor& w) {
  ConvPrimitives& p = primitives(s);
  // Zeroed: input rows that no window reaches (stride > 1) get no write from oneDNN's kernels.
  Tensor dx = Tensor::zeros(s.x);
  memory dx_plain = wrap(dx), dx_mem = out_format(dx_plain, p.data_pd.diff_src_desc());
  p.backward_data.execute(
      dnnl_glue::stream(),
      {{DNNL_ARG_DIFF_DST, in_format(wrap(g), p.data_pd.diff_dst_desc())},
       {DNNL_ARG_WEIGHTS, in_format(weight_memory(s, w), p.data_pd.weights_desc())},
       {DNNL_ARG_DIFF_SRC, dx_mem}});
  finish_output(dx_mem, dx_plain);
  dnnl_glue::stream().wait();
  return dx;
}

// dweight and, when the convolution has one, dbias, in one pass over the gradient.
std::pair<Tensor, Tensor> conv_backward_weights(const ConvShape& s, const Tensor& g,
                                                const Tensor& x) {
  ConvPrimitives& p = primitives(s);
  Tensor dw = Tensor::empty(s.w), db;
  memory dw_plain = weight_memory(s, dw),
         dw_mem = out_format(dw_plain, p.weights_pd.diff_weights_desc());
  std::unordered_map<int, memory> args{
      {DNNL_ARG_DIFF_DST, in_format(wrap(g), p.weights_pd.diff_dst_desc())},
      {DNNL_ARG_SRC, in_format(wrap(x), p.weights_pd.src_desc())},
      {DNNL_ARG_DIFF_WEIGHTS, dw_mem}};
  if (s.bias) {
    db = Tensor::empty({s.w[0]});
    args.emplace(DNNL_ARG_DIFF_BIAS, wrap(db));
  }
  p.backward_weights.execute(dnnl_glue::stream(), args);
  finish_output(dw_mem, dw_plain);
  dnnl_glue::stream().wait();
  return {dw, db};
}

// The checks shared by conv1d and conv2d, with the caller's name and original shapes.
void check_conv(const char* op, const Tensor& x, const Tensor& w, const Tensor& b, int64_t groups,
                int64_t rank) {
  HEED_CHECK(x.dtype() == Dtype::Float32 && w.dtype() == Dtype::Float32, op,
             ": expected float32 input and weight");
  HEED_CHECK(x.dim() == rank + 2, op, ": input ", x.shape(), " must be ",
             rank == 2 ? "[batch, channels, H, W]" : "[batch, channels, length]");
  HEED_CHECK(w.dim() == rank + 2, op, ": weight ", w.shape(), " must be ",
             rank == 2 ? "[out_channels, in_channels / groups, kH, kW]"
                       : "[out_channels, in_channels / groups, kernel_size]");
  HEED_CHECK(groups > 0, op, ": groups must be positive, got ", groups);
  HEED_CHECK(x.size(1) == w.size(1) * groups, op, ": input ", x.shape(), " has ", x.size(1),
             " channels, weight ", w.shape(), " expects ", w.size(1), " x groups ", groups);
  HEED_CHECK(w.size(0) % groups == 0, op, ": weight ", w.shape(), " has ", w.size(0),
             " out_channels, not divisible by groups ", groups);
  HEED_CHECK(!b.defined() || b.shape() == Shape{w.size(0)}, op, ": bias ", b.shape(),
             " for weight ", w.shape(), " must be [", w.size(0), "]");
}

}  // namespace

int64_t conv_out_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                      int64_t dilation) {
  const int64_t span = in + 2 * padding - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding,
              Pair dilation, int64_t groups) {
  check_conv("conv2d", x, weight, bias, groups, 2);
  for (int d = 0; d < 2; ++d) {
    HEED_CHECK(stride[d] > 0 && dilation[d] > 0 && padding[d] >= 0,
               "conv2d: stride and dilation must be positive and padding non-negative, got "
               "stride ",
               Shape{stride[0], stride[1]}, ", padding ", Shape{padding[0], padding[1]},
               ", dilation ", Shape{dilation[0], dilation[1]});
  }
  ConvShape s{dense(x).shape(), weight.shape(), {},       bias.defined(),
              stride,           padding,        dilation, groups};
  s.out = {x.size(0), weight.size(0),
           conv_out_size(x.size(2), weight.size(2), stride[0], padding[0], dilation[0]),
           conv_out_size(x.size(3), weight.size(3), stride[1], padding[1], dilation[1])};
  HEED_CHECK(s.out[2] > 0 && s.out[3] > 0, "conv2d: input ", x.shape(), " is smaller than the ",
             "dilated kernel of weight ", weight.shape(), " with padding ",
             Shape{padding[0], padding[1]}, " and dilation ", Shape{dilation[0], dilation[1]});
  const Tensor xd = dense(x), wd = dense(weight), bd = bias.defined() ? dense(bias) : Tensor();
  if (x.size(0) == 0) return Tensor::zeros(s.out);
  Tensor y = conv_forward(s, xd, wd, bd);
  const bool gx = needs_grad(x), gw = needs_grad(weight), gb = needs_grad(bias);
  // dx reads the weight, dweight and dbias the input.
  return record("conv2d", y, {x, weight, bias},
                [s, gx, gw, gb, xd = gw || gb ? xd : Tensor(),
                 wd = gx ? wd : Tensor()](const Tensor& g_in) -> Grads {
                  const Tensor g = dense(g_in);
                  Grads grads(3);
                  if (gx) grads[0] = conv_backward_data(s, g, wd);
                  if (gw || gb) {
                    auto [dw, db] = conv_backward_weights(s, g, xd);
                    if (gw) grads[1] = dw;
                    if (gb) grads[2] = db;
                  }
                  return grads;
                });
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride,
              int64_t padding, int64_t dilation, int64_t groups) {
  check_conv("conv1d", x, weight, bias, groups, 1);
  HEED_CHECK(stride > 0 && dilation > 0 && padding >= 0,
             "conv1d: stride and dilation must be positive and padding non-negative, got stride ",
             stride, ", padding ", padding, ", dilation ", dilation);
  HEED_CHECK(conv_out_size(x.size(2), weight.size(2), stride, padding, dilation) > 0,
             "conv1d: input ", x.shape(), " is shorter than the dilated kernel of weight ",
             weight.shape(), " with padding ", padding, " and dilation ", dilation);
  const Tensor y = conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, {1, stride}, {0, padding},
                          {1, dilation}, groups);
  return squeeze(y, 2);
}

}  // namespace heed::ops

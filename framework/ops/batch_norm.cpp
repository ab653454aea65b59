#include "framework/ops/batch_norm.h"

#include <sstream>

#include "framework/autograd.h"
#include "framework/dnnl.h"
#include "framework/ops/sync_batch_norm.h"

namespace heed::ops {

namespace {

using dnnl::memory;
using flags = dnnl::normalization_flags;
using dnnl_glue::dense, dnnl_glue::execute, dnnl_glue::wrap;

struct NormShape {
  Shape x;  // [batch, channels, spatial, 1]
  bool affine, training;
  float eps;

  std::string key() const {
    std::ostringstream k;
    k << x << affine << training << eps;
    return k.str();
  }
  // The input's layout, and the per-channel vectors' (mean, variance, scale, shift).
  memory::desc x_desc() const { return dnnl_glue::f32_desc(x, memory::format_tag::nchw); }
  memory::desc channel_desc() const { return dnnl_glue::f32_desc({x[1]}, memory::format_tag::a); }
  flags norm_flags() const {
    flags f = affine ? flags::use_scale | flags::use_shift : flags::none;
    return training ? f : f | flags::use_global_stats;
  }
};

struct NormPrimitives {
  dnnl::batch_normalization_forward forward;
  dnnl::batch_normalization_backward backward;
};

NormPrimitives make_primitives(const NormShape& s) {
  auto& eng = dnnl_glue::engine();
  const auto md = s.x_desc();
  const dnnl::batch_normalization_forward::primitive_desc fwd_pd(
      dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_training, md, s.eps,
                                              s.norm_flags()),
      eng);
  const auto prop = s.affine ? dnnl::prop_kind::backward : dnnl::prop_kind::backward_data;
  const dnnl::batch_normalization_backward::desc bwd(prop, md, md, s.eps, s.norm_flags());
  return {dnnl::batch_normalization_forward(fwd_pd),
          dnnl::batch_normalization_backward(
              dnnl::batch_normalization_backward::primitive_desc(bwd, eng, fwd_pd))};
}

NormPrimitives& primitives(const NormShape& s) {
  static dnnl_glue::PrimitiveCache<NormPrimitives> cache;
  return cache.get(s.key(), [&] { return make_primitives(s); });
}

void check_channels(const char* what, const Tensor& t, const Tensor& x) {
  HEED_CHECK(!t.defined() || (t.dtype() == Dtype::Float32 && t.shape() == Shape{x.size(1)}),
             "batch_norm: ", what, " ", t.defined() ? shape_str(t.shape()) : "", " must be [",
             x.size(1), "] for input ", x.shape());
}

// running = (1 - momentum) * running + momentum * batch, in place and unrecorded.
void blend(const Tensor& running, const Tensor& batch, float momentum, float scale) {
  float* r = running.data();
  const float* b = batch.data();
  for (int64_t c = 0; c < running.numel(); ++c)
    r[c] = (1.f - momentum) * r[c] + momentum * b[c] * scale;
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, float momentum,
                  float eps) {
  HEED_CHECK(x.dtype() == Dtype::Float32 && x.dim() >= 2 && x.dim() <= 5, "batch_norm: input ",
             x.shape(), " must be float32 [batch, channels, *] with 2 to 5 dimensions");
  check_channels("weight", weight, x);
  check_channels("bias", bias, x);
  check_channels("running_mean", running_mean, x);
  check_channels("running_var", running_var, x);
  HEED_CHECK(weight.defined() == bias.defined(),
             "batch_norm: weight and bias must be both given or both undefined");
  HEED_CHECK(running_mean.defined() == running_var.defined(),
             "batch_norm: running_mean and running_var must be both given or both undefined");
  HEED_CHECK(training || running_mean.defined(),
             "batch_norm: eval mode needs running_mean and running_var");
  if (const Communicator* ranks = SyncBatchNorm::active(); training && ranks != nullptr)
    return sync_batch_norm(x, running_mean, running_var, weight, bias, *ranks, momentum, eps);
  const int64_t per_channel = x.numel() / std::max<int64_t>(x.size(1), 1);
  HEED_CHECK(!training || per_channel > 1,
             "batch_norm: expected more than 1 value per channel when training, got input ",
             x.shape());
  const NormShape s{{x.size(0), x.size(1), per_channel / std::max<int64_t>(x.size(0), 1), 1},
                    weight.defined(),
                    training,
                    eps};
  if (x.numel() == 0) return Tensor::zeros(x.shape());
  const Tensor xd = dense(x);
  Tensor y = Tensor::empty(x.shape());
  // Statistics the backward needs: the batch's (training) or a snapshot of the running ones.
  Tensor mean, var;
  if (training) {
    mean = Tensor::empty({x.size(1)});
    var = Tensor::empty({x.size(1)});
  } else {
    mean = running_mean.clone().detach();
    var = running_var.clone().detach();
  }
  const memory::desc x_md = s.x_desc(), c_md = s.channel_desc();
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(xd, x_md)},
                                       {DNNL_ARG_DST, wrap(y, x_md)},
                                       {DNNL_ARG_MEAN, wrap(mean, c_md)},
                                       {DNNL_ARG_VARIANCE, wrap(var, c_md)}};
  const Tensor wd = s.affine ? dense(weight) : Tensor(), bd = s.affine ? dense(bias) : Tensor();
  if (s.affine) {
    args.emplace(DNNL_ARG_SCALE, wrap(wd, c_md));
    args.emplace(DNNL_ARG_SHIFT, wrap(bd, c_md));
  }
  execute(primitives(s).forward, args);
  if (training && running_mean.defined()) {
    const float n = static_cast<float>(per_channel);
    blend(running_mean, mean, momentum, 1.f);
    blend(running_var, var, momentum, n / (n - 1.f));
  }
  // One oneDNN primitive computes every gradient from the dense input, the statistics and the
  // affine parameters.
  return record(
      "batch_norm", y, {x, weight, bias},
      [s, xd, wd, bd, mean, var, shape = x.shape(), gx = needs_grad(x), gw = needs_grad(weight),
       gb = needs_grad(bias)](const Tensor& g_in) -> Grads {
        const Tensor g = dense(g_in);
        const memory::desc x_md = s.x_desc(), c_md = s.channel_desc();
        Tensor dx = Tensor::empty(s.x), dw, db;
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(xd, x_md)},
                                             {DNNL_ARG_DIFF_DST, wrap(g, x_md)},
                                             {DNNL_ARG_MEAN, wrap(mean, c_md)},
                                             {DNNL_ARG_VARIANCE, wrap(var, c_md)},
                                             {DNNL_ARG_DIFF_SRC, wrap(dx, x_md)}};
        if (s.affine) {
          dw = Tensor::empty({s.x[1]});
          db = Tensor::empty({s.x[1]});
          args.emplace(DNNL_ARG_SCALE, wrap(wd, c_md));
          // oneDNN 2.6's backward refuses to run without the shift it does not read.
          args.emplace(DNNL_ARG_SHIFT, wrap(bd, c_md));
          args.emplace(DNNL_ARG_DIFF_SCALE, wrap(dw, c_md));
          args.emplace(DNNL_ARG_DIFF_SHIFT, wrap(db, c_md));
        }
        execute(primitives(s).backward, args);
        return {gx ? dx.reshape(shape).detach() : Tensor(), gw ? dw : Tensor(), gb ? db : Tensor()};
      });
}

}  // namespace heed::ops

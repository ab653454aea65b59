#include "framework/ops/sync_batch_norm.h"

#include <cmath>
#include <vector>

#include "framework/autograd.h"
#include "framework/error.h"
#include "framework/watchdog.h"

namespace heed::ops {

namespace {

thread_local const Communicator* t_comm = nullptr;

// x [batch, channels, *] as [batch, channels, spatial].
struct Layout {
  int64_t batch, channels, spatial;
  explicit Layout(const Tensor& x)
      : batch(x.size(0)),
        channels(x.size(1)),
        spatial(x.numel() / std::max<int64_t>(x.size(0) * x.size(1), 1)) {}
  // f(channel, values of one example in that channel [spatial]) for every channel, in parallel
  // over the channels, each adding into its own slot.
  template <class F>
  void each_channel(F&& f) const {
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t n = 0; n < batch; ++n) f(c, (n * channels + c) * spatial);
  }
};

}  // namespace

SyncBatchNorm::SyncBatchNorm(const Communicator& comm) : outer_(t_comm) {
  t_comm = &comm;
}

SyncBatchNorm::~SyncBatchNorm() {
  t_comm = outer_;
}

const Communicator* SyncBatchNorm::active() {
  return t_comm;
}

Tensor sync_batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, const Communicator& comm,
                       float momentum, float eps) {
  const Layout l(x);
  const int64_t C = l.channels, S = l.spatial;
  const Tensor xd = x.contiguous();
  const float* xs = xd.data();
  // Each channel's sum and sum of squares, then this rank's count, summed over the ranks.
  std::vector<double> stats(static_cast<size_t>(2 * C + 1), 0.0);
  l.each_channel([&](int64_t c, int64_t at) {
    double sum = 0, squares = 0;
    for (int64_t j = 0; j < S; ++j) sum += xs[at + j], squares += double(xs[at + j]) * xs[at + j];
    stats[static_cast<size_t>(c)] += sum, stats[static_cast<size_t>(C + c)] += squares;
  });
  stats[static_cast<size_t>(2 * C)] = static_cast<double>(l.batch * S);
  {
    const StepWait on_the_others;  // a rank stuck before its forward pass is a stall
    comm.allreduce_sum(stats.data(), 2 * C + 1);
  }
  const double count = stats[static_cast<size_t>(2 * C)];
  HEED_CHECK(count > 1, "sync_batch_norm: expected more than 1 value per channel over the ",
             comm.size(), " ranks when training, got input ", x.shape(), " on this rank");
  std::vector<float> mean(static_cast<size_t>(C)), invstd(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    const double m = stats[static_cast<size_t>(c)] / count;
    const double var = std::max(stats[static_cast<size_t>(C + c)] / count - m * m, 0.0);
    mean[static_cast<size_t>(c)] = static_cast<float>(m);
    invstd[static_cast<size_t>(c)] = static_cast<float>(1 / std::sqrt(var + eps));
    if (running_mean.defined()) {  // PyTorch's update, the variance unbiased over every rank
      float& rm = running_mean.data()[c];
      float& rv = running_var.data()[c];
      rm = (1.f - momentum) * rm + momentum * static_cast<float>(m);
      rv = (1.f - momentum) * rv + momentum * static_cast<float>(var * count / (count - 1));
    }
  }
  const bool affine = weight.defined();
  const std::vector<float> w = affine ? weight.contiguous().to_vector() : std::vector<float>(),
                           b = affine ? bias.contiguous().to_vector() : std::vector<float>();
  Tensor y = Tensor::empty(x.shape());
  float* ys = y.data();
  l.each_channel([&](int64_t c, int64_t at) {
    const size_t k = static_cast<size_t>(c);
    const float scale = invstd[k] * (affine ? w[k] : 1.f), shift = affine ? b[k] : 0.f;
    for (int64_t j = 0; j < S; ++j) ys[at + j] = (xs[at + j] - mean[k]) * scale + shift;
  });
  return record(
      "sync_batch_norm", y, {x, weight, bias},
      [l, xd, w, mean, invstd, count, &comm, shape = x.shape(), gx = needs_grad(x),
       gw = needs_grad(weight), gb = needs_grad(bias)](const Tensor& g_in) -> Grads {
        const int64_t C = l.channels, S = l.spatial;
        const Tensor g = g_in.contiguous();
        const float *dy = g.data(), *xs = xd.data();
        // sum(dy) and sum(dy * x_hat) per channel: this rank's for bias and weight, every
        // rank's for the input.
        std::vector<double> sums(static_cast<size_t>(2 * C), 0.0);
        l.each_channel([&](int64_t c, int64_t at) {
          const size_t k = static_cast<size_t>(c);
          double s = 0, sx = 0;
          for (int64_t j = 0; j < S; ++j)
            s += dy[at + j], sx += double(dy[at + j]) * (xs[at + j] - mean[k]) * invstd[k];
          sums[k] += s, sums[static_cast<size_t>(C) + k] += sx;
        });
        std::vector<float> db(static_cast<size_t>(C)), dw(static_cast<size_t>(C));
        for (size_t k = 0; k < static_cast<size_t>(C); ++k)
          db[k] = static_cast<float>(sums[k]), dw[k] = static_cast<float>(sums[C + k]);
        {
          const StepWait on_the_others;
          comm.allreduce_sum(sums.data(), 2 * C);
        }
        Tensor dx = Tensor::empty(shape);
        float* out = dx.data();
        l.each_channel([&](int64_t c, int64_t at) {
          const size_t k = static_cast<size_t>(c);
          const float mean_dy = static_cast<float>(sums[k] / count),
                      mean_dyx = static_cast<float>(sums[static_cast<size_t>(C) + k] / count),
                      scale = invstd[k] * (w.empty() ? 1.f : w[k]);
          for (int64_t j = 0; j < S; ++j) {
            const float x_hat = (xs[at + j] - mean[k]) * invstd[k];
            out[at + j] = scale * (dy[at + j] - mean_dy - x_hat * mean_dyx);
          }
        });
        return {gx ? dx : Tensor(), gw ? Tensor::from_vector(dw, {C}) : Tensor(),
                gb ? Tensor::from_vector(db, {C}) : Tensor()};
      });
}

}  // namespace heed::ops

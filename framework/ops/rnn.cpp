#include "framework/ops/rnn.h"

#include <cmath>

#include "framework/autograd.h"
#include "framework/ops/elementwise.h"
#include "framework/ops/fastmath.h"
#include "framework/ops/iter.h"
#include "framework/ops/matmul.h"
#include "framework/ops/reduce.h"

namespace heed::ops {

namespace {

// Rows [t*batch, (t+1)*batch) of a [seq*batch, n] tensor, unrecorded.
Tensor step_rows(const Tensor& all, int64_t t, int64_t batch) {
  return make_view(all, {batch, all.size(1)}, all.strides(),
                   all.offset() + t * batch * all.strides()[0]);
}

Tensor transposed(const Tensor& m) {
  return make_view(m, {m.size(1), m.size(0)}, {m.strides()[1], m.strides()[0]}, m.offset());
}

struct LstmSaved {
  Tensor gates;   // [seq*batch, 4H] after the nonlinearities: i, f, g, o
  Tensor hidden;  // [seq*batch, H]
  Tensor cell;    // [seq*batch, H]
};

// Gate nonlinearities and the state update for one step, in place on `pre` [batch, 4H].
void lstm_step(float* pre, const float* c_prev, float* h, float* c, int64_t batch, int64_t hidden) {
#pragma omp parallel for schedule(static) if (batch * hidden >= 4096)
  for (int64_t b = 0; b < batch; ++b) {
    float* gi = pre + b * 4 * hidden;
    float *gf = gi + hidden, *gg = gi + 2 * hidden, *go = gi + 3 * hidden;
#pragma omp simd
    for (int64_t j = 0; j < hidden; ++j) {
      gi[j] = fast_sigmoid(gi[j]);
      gf[j] = fast_sigmoid(gf[j]);
      gg[j] = fast_tanh(gg[j]);
      go[j] = fast_sigmoid(go[j]);
      const float cv = gf[j] * c_prev[b * hidden + j] + gi[j] * gg[j];
      c[b * hidden + j] = cv;
      h[b * hidden + j] = go[j] * fast_tanh(cv);
    }
  }
}

LstmSaved lstm_forward(const Tensor& x2, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                       const Tensor& w_hh, const Tensor& bias, int64_t seq, int64_t batch) {
  const int64_t hidden = w_hh.size(1);
  LstmSaved s{gemm(x2, transposed(w_ih), bias), Tensor::empty({seq * batch, hidden}),
              Tensor::empty({seq * batch, hidden})};
  const Tensor w_hh_t = transposed(w_hh);
  for (int64_t t = 0; t < seq; ++t) {
    const Tensor h_prev = t == 0 ? h0 : step_rows(s.hidden, t - 1, batch);
    const Tensor c_prev = t == 0 ? c0 : step_rows(s.cell, t - 1, batch);
    const Tensor rec = gemm(h_prev, w_hh_t);
    Tensor pre = step_rows(s.gates, t, batch);
    float* p = pre.data();
    const float* r = rec.data();
    for (int64_t i = 0; i < batch * 4 * hidden; ++i) p[i] += r[i];
    lstm_step(p, c_prev.data(), step_rows(s.hidden, t, batch).data(),
              step_rows(s.cell, t, batch).data(), batch, hidden);
  }
  return s;
}

// Gradient of the pre-activation gates for one step; updates dh (in: from above, out: unused) and
// dc (in: carried, out: to the previous step).
void lstm_step_backward(const float* gates, const float* c, const float* c_prev, const float* dh,
                        float* dc, float* dgates, int64_t batch, int64_t hidden) {
#pragma omp parallel for schedule(static) if (batch * hidden >= 4096)
  for (int64_t b = 0; b < batch; ++b) {
    const float* gi = gates + b * 4 * hidden;
    const float *gf = gi + hidden, *gg = gi + 2 * hidden, *go = gi + 3 * hidden;
    float* di = dgates + b * 4 * hidden;
    float *df = di + hidden, *dg = di + 2 * hidden, *dout = di + 3 * hidden;
#pragma omp simd
    for (int64_t j = 0; j < hidden; ++j) {
      const int64_t k = b * hidden + j;
      const float tc = fast_tanh(c[k]);
      const float dct = dc[k] + dh[k] * go[j] * (1.f - tc * tc);
      dout[j] = dh[k] * tc * go[j] * (1.f - go[j]);
      di[j] = dct * gg[j] * gi[j] * (1.f - gi[j]);
      dg[j] = dct * gi[j] * (1.f - gg[j] * gg[j]);
      df[j] = dct * c_prev[k] * gf[j] * (1.f - gf[j]);
      dc[k] = dct * gf[j];
    }
  }
}

}  // namespace

Tensor lstm_layer(const Tensor& x, const Tensor& h0_in, const Tensor& c0_in,
                  const Tensor& weight_ih, const Tensor& weight_hh, const Tensor& bias_ih,
                  const Tensor& bias_hh) {
  HEED_CHECK(x.dim() == 3 && weight_ih.dim() == 2 && x.size(2) == weight_ih.size(1),
             "lstm: input of shape ", x.shape(), " does not match weight_ih of shape ",
             weight_ih.shape());
  const int64_t seq = x.size(0), batch = x.size(1), hidden = weight_hh.size(1);
  HEED_CHECK(weight_ih.size(0) == 4 * hidden && weight_hh.shape() == Shape({4 * hidden, hidden}),
             "lstm: weight_ih ", weight_ih.shape(), " and weight_hh ", weight_hh.shape(),
             " are not [4*hidden, input] and [4*hidden, hidden]");
  for (const Tensor* s : {&h0_in, &c0_in})
    HEED_CHECK(s->shape() == Shape({batch, hidden}), "lstm: initial state of shape ", s->shape(),
               ", expected ", Shape({batch, hidden}));
  const Tensor x2 = x.contiguous().detach().reshape({seq * batch, x.size(2)});
  const Tensor h0 = h0_in.contiguous(), c0 = c0_in.contiguous();
  const Tensor bias = [&] {
    NoGradGuard no_grad;
    return bias_ih.defined() ? add(bias_ih, bias_hh) : Tensor();
  }();
  LstmSaved s = lstm_forward(x2, h0, c0, weight_ih, weight_hh, bias, seq, batch);

  Tensor out = Tensor::empty({seq, batch, 2 * hidden});
  out.narrow(2, 0, hidden).copy_(s.hidden.reshape({seq, batch, hidden}));
  out.narrow(2, hidden, hidden).copy_(s.cell.reshape({seq, batch, hidden}));

  return record("lstm", out, {x, h0_in, c0_in, weight_ih, weight_hh, bias_ih, bias_hh},
                [s, x2, h0, c0, weight_ih, weight_hh, seq, batch, hidden,
                 in = x.shape()](const Tensor& g) -> Grads {
                  const Tensor gc = g.contiguous();
                  Tensor dgates = Tensor::empty({seq * batch, 4 * hidden});
                  Tensor dh = Tensor::zeros({batch, hidden}), dc = Tensor::zeros({batch, hidden});
                  for (int64_t t = seq - 1; t >= 0; --t) {
                    // Add this step's gradients from outside (outputs, final states) to those
                    // carried back.
                    const Tensor g_t = make_view(gc, {batch, 2 * hidden}, {2 * hidden, 1},
                                                 gc.offset() + t * batch * 2 * hidden);
                    float *pdh = dh.data(), *pdc = dc.data();
                    const float* pg = g_t.data();
                    for (int64_t b = 0; b < batch; ++b)
                      for (int64_t j = 0; j < hidden; ++j) {
                        pdh[b * hidden + j] += pg[b * 2 * hidden + j];
                        pdc[b * hidden + j] += pg[b * 2 * hidden + hidden + j];
                      }
                    const Tensor c_prev = t == 0 ? c0 : step_rows(s.cell, t - 1, batch);
                    Tensor dg_t = step_rows(dgates, t, batch);
                    lstm_step_backward(step_rows(s.gates, t, batch).data(),
                                       step_rows(s.cell, t, batch).data(), c_prev.data(), dh.data(),
                                       dc.data(), dg_t.data(), batch, hidden);
                    dh = gemm(dg_t, weight_hh.contiguous());
                  }
                  // The previous hidden state of every step: h0, then h_0 .. h_{T-2}.
                  Tensor h_prev = Tensor::empty({seq * batch, hidden});
                  step_rows(h_prev, 0, batch).copy_(h0);
                  if (seq > 1)
                    make_view(h_prev, {(seq - 1) * batch, hidden}, {hidden, 1}, batch * hidden)
                        .copy_(make_view(s.hidden, {(seq - 1) * batch, hidden}, {hidden, 1}, 0));
                  const Tensor db = sum(dgates, {0});
                  return {gemm(dgates, weight_ih.contiguous()).reshape(in),
                          dh,
                          dc,
                          gemm(transposed(dgates), x2),
                          gemm(transposed(dgates), h_prev),
                          db,
                          db};
                });
}

}  // namespace heed::ops

#include "framework/ops/rnn.h"

#include <algorithm>
#include <type_traits>

#include "framework/autograd.h"
#include "framework/ops/elementwise.h"
#include "framework/ops/fastmath.h"
#include "framework/ops/matmul.h"
#include "framework/ops/reduce.h"

namespace heed::ops {

int64_t rnn_gates(RNNMode mode) {
  switch (mode) {
    case RNNMode::LSTM:
      return 4;
    case RNNMode::GRU:
      return 3;
    default:
      return 1;
  }
}

namespace {

const char* op_name(RNNMode mode) {
  switch (mode) {
    case RNNMode::RNN_TANH:
      return "rnn_tanh_layer";
    case RNNMode::RNN_RELU:
      return "rnn_relu_layer";
    case RNNMode::LSTM:
      return "lstm_layer";
    default:
      return "gru_layer";
  }
}

// Calls f with the mode as a compile-time constant, so each gate kernel is specialized and its
// inner loop vectorizes without a per-element branch on the mode.
template <class F>
void dispatch(RNNMode mode, F&& f) {
  using M = RNNMode;
  switch (mode) {
    case M::RNN_TANH:
      return f(std::integral_constant<M, M::RNN_TANH>{});
    case M::RNN_RELU:
      return f(std::integral_constant<M, M::RNN_RELU>{});
    case M::LSTM:
      return f(std::integral_constant<M, M::LSTM>{});
    case M::GRU:
      return f(std::integral_constant<M, M::GRU>{});
  }
}

// Rows [t*batch, (t+1)*batch) of a [seq*batch, n] tensor, unrecorded.
Tensor step_rows(const Tensor& all, int64_t t, int64_t batch) {
  return make_view(all, {batch, all.size(1)}, all.strides(),
                   all.offset() + t * batch * all.strides()[0]);
}

Tensor transposed(const Tensor& m) {
  return make_view(m, {m.size(1), m.size(0)}, {m.strides()[1], m.strides()[0]}, m.offset());
}

// ---- Gate kernels of one batch row: g [G*H] holds the input projection (+ bias) on entry and
// the gate activations on exit; r [G*H] is W_hh h_prev (+ b_hh for the GRU).

template <RNNMode M>
void simple_cell(float* g, const float* r, float* h, int64_t H) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    const float pre = g[j] + r[j];
    g[j] = M == RNNMode::RNN_TANH ? fast_tanh(pre) : (pre > 0.f ? pre : 0.f);
    h[j] = g[j];
  }
}

void lstm_cell(float* g, const float* r, const float* c_prev, float* h, float* c, int64_t H) {
  float *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
  const float *ri = r, *rf = r + H, *rg = r + 2 * H, *ro = r + 3 * H;
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    gi[j] = fast_sigmoid(gi[j] + ri[j]);
    gf[j] = fast_sigmoid(gf[j] + rf[j]);
    gg[j] = fast_tanh(gg[j] + rg[j]);
    go[j] = fast_sigmoid(go[j] + ro[j]);
    const float cv = gf[j] * c_prev[j] + gi[j] * gg[j];
    c[j] = cv;
    h[j] = go[j] * fast_tanh(cv);
  }
}

// hn keeps W_hn h_prev + b_hn, which the backward needs and cannot recover from the gates.
void gru_cell(float* g, const float* r, const float* h_prev, float* h, float* hn, int64_t H) {
  float *gr = g, *gz = g + H, *gn = g + 2 * H;
  const float *rr = r, *rz = r + H, *rn = r + 2 * H;
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    gr[j] = fast_sigmoid(gr[j] + rr[j]);
    gz[j] = fast_sigmoid(gz[j] + rz[j]);
    hn[j] = rn[j];
    gn[j] = fast_tanh(gn[j] + gr[j] * rn[j]);
    h[j] = (1.f - gz[j]) * gn[j] + gz[j] * h_prev[j];
  }
}

// One forward step of the whole batch at time t (pre and rec are [batch, G*H]; states [batch, H]).
// Rows whose sequence has ended (t >= lengths[b]) carry their state over unchanged.
template <RNNMode M>
void forward_step(float* pre, const float* rec, const float* h_prev, const float* c_prev, float* h,
                  float* c, float* hn, const int64_t* lengths, int64_t t, int64_t batch,
                  int64_t H) {
  const int64_t gh = rnn_gates(M) * H;
#pragma omp parallel for schedule(static) if (batch * H >= 4096)
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t o = b * H;
    if (lengths != nullptr && t >= lengths[b]) {
      std::copy_n(h_prev + o, H, h + o);
      if constexpr (M == RNNMode::LSTM) std::copy_n(c_prev + o, H, c + o);
      continue;
    }
    if constexpr (M == RNNMode::LSTM)
      lstm_cell(pre + b * gh, rec + b * gh, c_prev + o, h + o, c + o, H);
    else if constexpr (M == RNNMode::GRU)
      gru_cell(pre + b * gh, rec + b * gh, h_prev + o, h + o, hn + o, H);
    else
      simple_cell<M>(pre + b * gh, rec + b * gh, h + o, H);
  }
}

// ---- Backward of one batch row. dh [H]: on entry the gradient reaching h_t from later steps,
// to which the output gradient go [H] is added; on exit the part that reaches h_{t-1} other than
// through W_hh (z * dh for the GRU, zero otherwise). dgx [G*H] is the gradient of the input
// projection's pre-activations, dgh [G*H] that of W_hh h_prev + b_hh (the same buffer except for
// the GRU, whose candidate gate sees the recurrent term through r).

template <RNNMode M>
void simple_cell_backward(const float* g, const float* go, float* dh, float* dg, int64_t H) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    const float d = dh[j] + go[j];
    dg[j] = M == RNNMode::RNN_TANH ? d * (1.f - g[j] * g[j]) : (g[j] > 0.f ? d : 0.f);
    dh[j] = 0.f;
  }
}

void lstm_cell_backward(const float* g, const float* c, const float* c_prev, const float* gout,
                        float* dh, float* dc, float* dg, int64_t H) {
  const float *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
  float *di = dg, *df = dg + H, *dgg = dg + 2 * H, *dout = dg + 3 * H;
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    const float d = dh[j] + gout[j];
    const float tc = fast_tanh(c[j]);
    const float dct = dc[j] + d * go[j] * (1.f - tc * tc);
    dout[j] = d * tc * go[j] * (1.f - go[j]);
    di[j] = dct * gg[j] * gi[j] * (1.f - gi[j]);
    dgg[j] = dct * gi[j] * (1.f - gg[j] * gg[j]);
    df[j] = dct * c_prev[j] * gf[j] * (1.f - gf[j]);
    dc[j] = dct * gf[j];
    dh[j] = 0.f;
  }
}

void gru_cell_backward(const float* g, const float* hn, const float* h_prev, const float* gout,
                       float* dh, float* dgx, float* dgh, int64_t H) {
  const float *gr = g, *gz = g + H, *gn = g + 2 * H;
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    const float d = dh[j] + gout[j];
    const float dn = d * (1.f - gz[j]) * (1.f - gn[j] * gn[j]);
    const float dz = d * (h_prev[j] - gn[j]) * gz[j] * (1.f - gz[j]);
    const float dr = dn * hn[j] * gr[j] * (1.f - gr[j]);
    dgx[j] = dgh[j] = dr;
    dgx[H + j] = dgh[H + j] = dz;
    dgx[2 * H + j] = dn;
    dgh[2 * H + j] = dn * gr[j];
    dh[j] = d * gz[j];
  }
}

// The pointers of one step that the backward reads (rows of the saved forward tensors).
struct StepState {
  const float *gates, *hn, *h_prev, *c, *c_prev, *gout;
};

// One backward step of the whole batch at time t. Ended rows (t >= lengths[b]) pass dh and dc
// through untouched and contribute nothing to the gates.
template <RNNMode M>
void backward_step(const StepState& s, float* dh, float* dc, float* dgx, float* dgh,
                   const int64_t* lengths, int64_t t, int64_t batch, int64_t H) {
  const int64_t gh = rnn_gates(M) * H;
#pragma omp parallel for schedule(static) if (batch * H >= 4096)
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t o = b * H;
    if (lengths != nullptr && t >= lengths[b]) {
      std::fill_n(dgx + b * gh, gh, 0.f);
      if constexpr (M == RNNMode::GRU) std::fill_n(dgh + b * gh, gh, 0.f);
      continue;
    }
    if constexpr (M == RNNMode::LSTM)
      lstm_cell_backward(s.gates + b * gh, s.c + o, s.c_prev + o, s.gout + o, dh + o, dc + o,
                         dgx + b * gh, H);
    else if constexpr (M == RNNMode::GRU)
      gru_cell_backward(s.gates + b * gh, s.hn + o, s.h_prev + o, s.gout + o, dh + o, dgx + b * gh,
                        dgh + b * gh, H);
    else
      simple_cell_backward<M>(s.gates + b * gh, s.gout + o, dh + o, dgx + b * gh, H);
  }
}

// What the forward keeps for the backward, all [seq*batch, n] in time order.
struct Saved {
  Tensor gates;   // [., G*H] gate activations
  Tensor hidden;  // [., H] the state after step t (carried over where a sequence has ended)
  Tensor cell;    // [., H] LSTM only, likewise
  Tensor hn;      // [., H] GRU only: W_hn h_prev + b_hn
};

struct Dims {
  int64_t seq, batch, hidden;
  bool reverse;
  // The time of the k-th step taken, and whether time t is the first one taken.
  int64_t time(int64_t k) const { return reverse ? seq - 1 - k : k; }
  int64_t prev(int64_t t) const { return reverse ? t + 1 : t - 1; }
  bool first(int64_t t) const { return t == (reverse ? seq - 1 : 0); }
};

Saved run_forward(RNNMode mode, const Tensor& x2, const Tensor& h0, const Tensor& c0,
                  const Tensor& w_ih, const Tensor& w_hh, const Tensor& bias_x,
                  const Tensor& bias_h, const int64_t* lengths, const Dims& d) {
  const int64_t n = d.seq * d.batch, H = d.hidden;
  Saved s{gemm(x2, transposed(w_ih), bias_x), Tensor::empty({n, H}),
          mode == RNNMode::LSTM ? Tensor::empty({n, H}) : Tensor(),
          mode == RNNMode::GRU ? Tensor::empty({n, H}) : Tensor()};
  const Tensor w_hh_t = transposed(w_hh);
  auto rows = [&](const Tensor& all, int64_t t) {
    return all.defined() ? step_rows(all, t, d.batch).data() : nullptr;
  };
  dispatch(mode, [&](auto m) {
    for (int64_t k = 0; k < d.seq; ++k) {
      const int64_t t = d.time(k);
      const Tensor h_prev = d.first(t) ? h0 : step_rows(s.hidden, d.prev(t), d.batch);
      const float* c_prev =
          d.first(t) ? (c0.defined() ? c0.data() : nullptr) : rows(s.cell, d.prev(t));
      const Tensor rec = gemm(h_prev, w_hh_t, bias_h);
      forward_step<decltype(m)::value>(rows(s.gates, t), rec.data(), h_prev.data(), c_prev,
                                       rows(s.hidden, t), rows(s.cell, t), rows(s.hn, t), lengths,
                                       t, d.batch, H);
    }
  });
  return s;
}

// [seq + 2, batch, H]: the outputs (zero past each sequence's end), h_n, c_n.
Tensor pack_result(const Saved& s, const int64_t* lengths, const Dims& d) {
  const int64_t H = d.hidden, step = d.batch * H;
  Tensor out = Tensor::empty({d.seq + 2, d.batch, H});
  float* o = out.data();
  const float* h = s.hidden.data();
  if (lengths == nullptr) {
    std::copy_n(h, d.seq * step, o);
  } else {
    for (int64_t t = 0; t < d.seq; ++t)
      for (int64_t b = 0; b < d.batch; ++b) {
        float* dst = o + t * step + b * H;
        if (t < lengths[b])
          std::copy_n(h + t * step + b * H, H, dst);
        else
          std::fill_n(dst, H, 0.f);
      }
  }
  // Ended rows carried their state, so the last step taken holds every sequence's final state.
  const int64_t last = d.time(d.seq - 1);
  std::copy_n(h + last * step, step, o + d.seq * step);
  float* c_n = o + (d.seq + 1) * step;
  if (s.cell.defined())
    std::copy_n(s.cell.data() + last * step, step, c_n);
  else
    std::fill_n(c_n, step, 0.f);
  return out;
}

void check_args(RNNMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                const Tensor& weight_ih, const Tensor& weight_hh, const Tensor& bias_ih,
                const Tensor& bias_hh, const Tensor& lengths) {
  const char* op = op_name(mode);
  HEED_CHECK(x.dim() == 3 && x.size(0) > 0 && weight_ih.dim() == 2 && weight_hh.dim() == 2 &&
                 x.size(2) == weight_ih.size(1),
             op, ": input of shape ", x.shape(), " does not match weight_ih of shape ",
             weight_ih.shape(), " (expected [seq > 0, batch, input_size])");
  const int64_t seq = x.size(0), batch = x.size(1), H = weight_hh.size(1);
  const int64_t gh = rnn_gates(mode) * H;
  HEED_CHECK(weight_ih.size(0) == gh && weight_hh.size(0) == gh, op, ": weight_ih ",
             weight_ih.shape(), " and weight_hh ", weight_hh.shape(), " are not [", rnn_gates(mode),
             "*hidden, input_size] and [", rnn_gates(mode), "*hidden, hidden]");
  HEED_CHECK(bias_ih.defined() == bias_hh.defined(), op,
             ": bias_ih and bias_hh must both be given or both be undefined");
  for (const Tensor* b : {&bias_ih, &bias_hh})
    HEED_CHECK(!b->defined() || b->shape() == Shape({gh}), op, ": bias of shape ", b->shape(),
               ", expected ", Shape({gh}));
  HEED_CHECK(mode == RNNMode::LSTM || !c0.defined(), op,
             ": c0 is only for the LSTM, got one of shape ", c0.shape());
  for (const Tensor* s : {&h0, &c0})
    HEED_CHECK(!s->defined() || s->shape() == Shape({batch, H}), op, ": initial state of shape ",
               s->shape(), ", expected ", Shape({batch, H}));
  if (!lengths.defined()) return;
  HEED_CHECK(lengths.dtype() == Dtype::Int64 && lengths.shape() == Shape({batch}), op,
             ": lengths must be int64 of shape ", Shape({batch}), ", got ",
             lengths.dtype() == Dtype::Int64 ? "int64" : "float32", " of shape ", lengths.shape());
  const std::vector<int64_t> len = lengths.to_vector_i64();
  for (int64_t b = 0; b < batch; ++b)
    HEED_CHECK(len[b] >= 1 && len[b] <= seq, op, ": lengths[", b, "] = ", len[b],
               " is outside [1, ", seq, "] for an input of shape ", x.shape());
}

// Whether `lengths` say nothing about x [seq, batch, input]: every sequence is seq long (a
// language model's windows). Malformed lengths answer false and are reported by rnn_layer_fused.
bool all_full(const Tensor& lengths, const Tensor& x) {
  if (lengths.dtype() != Dtype::Int64 || lengths.dim() != 1 || x.dim() != 3 ||
      lengths.size(0) != x.size(1))
    return false;
  const std::vector<int64_t> len = lengths.to_vector_i64();
  return std::all_of(len.begin(), len.end(), [&](int64_t l) { return l == x.size(0); });
}

}  // namespace

Tensor rnn_layer(RNNMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                 const Tensor& weight_ih, const Tensor& weight_hh, const Tensor& bias_ih,
                 const Tensor& bias_hh, const Tensor& lengths, bool reverse) {
  // oneDNN's primitives won for the LSTM and the GRU at lstm_lm's shapes, at 1 and 2 threads; the
  // vanilla RNN lost at 2 threads (bench rnn_op, docs/design.md). oneDNN has no lengths, so
  // it takes a batch whose lengths are all the full sequence (a language model's windows).
  // HEED_RNN_IMPL=fused|dnnl forces one path for comparisons (dnnl still needs no lengths).
  static const std::string forced = [] {
    const char* env = std::getenv("HEED_RNN_IMPL");
    return std::string(env ? env : "");
  }();
  HEED_CHECK(forced.empty() || forced == "fused" || forced == "dnnl",
             "rnn_layer: HEED_RNN_IMPL must be \"fused\" or \"dnnl\", got \"", forced, "\"");
  const bool dnnl_wins = mode == RNNMode::LSTM || mode == RNNMode::GRU;
  const bool no_lengths = !lengths.defined() || all_full(lengths, x);
  if (no_lengths && (forced == "dnnl" || (forced.empty() && dnnl_wins)))
    return rnn_layer_dnnl(mode, x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, reverse);
  return rnn_layer_fused(mode, x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, lengths, reverse);
}

Tensor rnn_layer_fused(RNNMode mode, const Tensor& x, const Tensor& h0_in, const Tensor& c0_in,
                       const Tensor& weight_ih, const Tensor& weight_hh, const Tensor& bias_ih,
                       const Tensor& bias_hh, const Tensor& lengths_in, bool reverse) {
  check_args(mode, x, h0_in, c0_in, weight_ih, weight_hh, bias_ih, bias_hh, lengths_in);
  const Dims d{x.size(0), x.size(1), weight_hh.size(1), reverse};
  const bool lstm = mode == RNNMode::LSTM, gru = mode == RNNMode::GRU;
  const Tensor x2 = x.contiguous().detach().reshape({d.seq * d.batch, x.size(2)});
  const Tensor h0 = h0_in.defined() ? h0_in.contiguous() : Tensor::zeros({d.batch, d.hidden});
  const Tensor c0 = !lstm             ? Tensor()
                    : c0_in.defined() ? c0_in.contiguous()
                                      : Tensor::zeros({d.batch, d.hidden});
  const Tensor lengths = lengths_in.defined() ? lengths_in.contiguous() : Tensor();
  const int64_t* len = lengths.defined() ? lengths.data_i64() : nullptr;
  // The GRU's b_hn sits inside r * (W_hn h + b_hn), so it stays with the recurrent product; the
  // other modes add both biases once, in the input projection.
  const Tensor bias_x = [&] {
    NoGradGuard no_grad;
    return !bias_ih.defined() ? Tensor() : gru ? bias_ih : add(bias_ih, bias_hh);
  }();
  const Tensor bias_h = gru && bias_hh.defined() ? bias_hh.detach() : Tensor();
  const Saved s =
      run_forward(mode, x2, h0, c0, weight_ih.detach(), weight_hh.detach(), bias_x, bias_h, len, d);
  const Tensor out = pack_result(s, len, d);

  // Backpropagation through time reads the saved states and W_hh; dx reads W_ih, dW_ih the input.
  const bool need_x = needs_grad(x), need_w_ih = needs_grad(weight_ih),
             need_w_hh = needs_grad(weight_hh),
             need_bias = needs_grad(bias_ih) || needs_grad(bias_hh);
  return record(
      op_name(mode), out, {x, h0_in, c0_in, weight_ih, weight_hh, bias_ih, bias_hh},
      [mode, s, h0, c0, lengths, x2 = need_w_ih ? x2 : Tensor(),
       w_ih = need_x ? weight_ih.detach() : Tensor(), w_hh = weight_hh.detach(), d, need_x,
       need_w_ih, need_w_hh, need_bias, lstm, gru, has_bias = bias_ih.defined(),
       in = x.shape()](const Tensor& g) -> Grads {
        const int64_t H = d.hidden, step = d.batch * H, n = d.seq * d.batch;
        const int64_t* len = lengths.defined() ? lengths.data_i64() : nullptr;
        const Tensor gc = g.contiguous();
        const float* gp = gc.data();
        // The final states' gradients start the carried ones.
        Tensor dh = Tensor::empty({d.batch, H});
        std::copy_n(gp + d.seq * step, step, dh.data());
        Tensor dc = lstm ? Tensor::empty({d.batch, H}) : Tensor();
        if (lstm) std::copy_n(gp + (d.seq + 1) * step, step, dc.data());
        const Tensor dgx = Tensor::empty({n, rnn_gates(mode) * H});
        const Tensor dgh = gru ? Tensor::empty(dgx.shape()) : dgx;
        const bool add_direct = gru || len != nullptr;
        const Tensor w_hh_c = w_hh.contiguous();
        auto rows = [&](const Tensor& all, int64_t t) -> const float* {
          return all.defined() ? step_rows(all, t, d.batch).data() : nullptr;
        };
        dispatch(mode, [&](auto m) {
          for (int64_t k = d.seq - 1; k >= 0; --k) {
            const int64_t t = d.time(k);
            const bool first = d.first(t);
            const StepState st{rows(s.gates, t),
                               rows(s.hn, t),
                               first ? h0.data() : rows(s.hidden, d.prev(t)),
                               rows(s.cell, t),
                               first ? (lstm ? c0.data() : nullptr) : rows(s.cell, d.prev(t)),
                               gp + t * step};
            const Tensor dgh_t = step_rows(dgh, t, d.batch);
            backward_step<decltype(m)::value>(st, dh.data(), lstm ? dc.data() : nullptr,
                                              step_rows(dgx, t, d.batch).data(), dgh_t.data(), len,
                                              t, d.batch, H);
            Tensor dh_prev = gemm(dgh_t, w_hh_c);
            if (add_direct) {
              float* p = dh_prev.data();
              const float* q = dh.data();
#pragma omp simd
              for (int64_t i = 0; i < step; ++i) p[i] += q[i];
            }
            dh = dh_prev;
          }
        });
        Tensor dw_hh;
        if (need_w_hh) {
          // The state each step started from: h0 for the first step taken, else the one before.
          Tensor h_prev = Tensor::empty({n, H});
          const float* hid = s.hidden.data();
          float* hp = h_prev.data();
          for (int64_t t = 0; t < d.seq; ++t)
            std::copy_n(d.first(t) ? h0.data() : hid + d.prev(t) * step, step, hp + t * step);
          dw_hh = gemm(transposed(dgh), h_prev);
        }
        const Tensor db_ih = has_bias && need_bias ? sum(dgx, {0}) : Tensor();
        const Tensor db_hh = !(has_bias && need_bias) ? Tensor() : gru ? sum(dgh, {0}) : db_ih;
        return {need_x ? gemm(dgx, w_ih.contiguous()).reshape(in) : Tensor(),
                dh,
                dc,
                need_w_ih ? gemm(transposed(dgx), x2) : Tensor(),
                dw_hh,
                db_ih,
                db_hh};
      });
}

}  // namespace heed::ops

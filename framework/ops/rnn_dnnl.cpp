// rnn_layer_dnnl: the general recurrent layer op (contract in rnn.h) on oneDNN's RNN primitives
// (vanilla_rnn, lstm, lbr_gru), forward and backward, one layer in one direction.
//
// oneDNN's layouts against PyTorch's:
//   x [seq, batch, input] is oneDNN's `tnc`; h0, c0 [batch, hidden] are `ldnc` with l = d = 1.
//   weight_ih [gates*hidden, input] is `ldgoi` (PyTorch stores W, oneDNN's forward prefers W^T,
//   `ldigo`); the primitives pick their weight layout (`any`) and we reorder when it differs.
//   Gate order: LSTM i, f, c~, o = PyTorch i, f, g, o; lbr_gru u, r, o = PyTorch z, r, n, and its
//   bias has a fourth gate u' = b_hn, the bias inside r * (W_hn h + b_hn) (oneDNN developer guide,
//   "RNN", Linear-Before-Reset GRU).
// The output [seq + 2, batch, hidden] is written by the primitive in place: dst_layer is rows
// 0..seq-1, dst_iter row seq, dst_iter_c row seq+1.
//
// With float32_matmul_precision "medium" (framework/precision.h) the primitives run in bfloat16:
// src_layer, the hidden state, the weights and dst_layer are bf16 copies, while the cell state,
// the bias and every diff stay f32 (oneDNN 2.6 accepts bf16 diffs only with bf16 everything, and
// f32 weight gradients keep Adam's update exact). Each forward converts the f32 inputs and
// weights and keeps the bf16 copies for the backward.

#include <omp.h>

#include <cstring>
#include <sstream>

#include "framework/autograd.h"
#include "framework/dnnl.h"
#include "framework/ops/rnn.h"
#include "framework/precision.h"

namespace heed::ops {

namespace {

using dnnl::memory;
using dnnl_glue::execute, dnnl_glue::f32_desc, dnnl_glue::reorder, dnnl_glue::wrap;
using Tag = memory::format_tag;
using Kind = dnnl::prop_kind;
using DataType = memory::data_type;

// oneDNN's lbr_gru gate k is PyTorch's GRU gate kGruGate[k] (u = z, r = r, o = n); the
// permutation is its own inverse.
constexpr int64_t kGruGate[3] = {1, 0, 2};

struct Problem {
  RNNMode mode;
  bool reverse, training, bias, bf16;
  int64_t seq, batch, input, hidden;

  int64_t gates() const { return rnn_gates(mode); }
  // lbr_gru's bias has the extra b_hn row.
  int64_t bias_gates() const { return mode == RNNMode::GRU ? 4 : gates(); }
  bool lstm() const { return mode == RNNMode::LSTM; }

  std::string key() const {
    std::ostringstream k;
    k << static_cast<int>(mode) << reverse << training << bf16 << ' ' << seq << ' ' << batch << ' '
      << input << ' ' << hidden << ' ' << omp_get_max_threads();
    return k.str();
  }
};

memory::desc desc(const memory::dims& dims, DataType type, Tag tag) {
  return {dims, type, tag};
}

// The memory descriptors of a problem in PyTorch's layouts; weights `any` so that oneDNN picks.
// `type` is that of the inputs, weights and hidden states; the cell state and the bias are f32.
struct Descs {
  memory::desc src_layer, state, state_c, weights_layer, weights_iter, bias, dst_layer;

  Descs(const Problem& p, DataType type)
      : src_layer(desc({p.seq, p.batch, p.input}, type, Tag::tnc)),
        state(desc({1, 1, p.batch, p.hidden}, type, Tag::ldnc)),
        state_c(p.lstm() ? f32_desc({1, 1, p.batch, p.hidden}, Tag::ldnc) : memory::desc()),
        weights_layer(desc({1, 1, p.input, p.gates(), p.hidden}, type, Tag::any)),
        weights_iter(desc({1, 1, p.hidden, p.gates(), p.hidden}, type, Tag::any)),
        bias(f32_desc({1, 1, p.bias_gates(), p.hidden}, Tag::ldgo)),
        dst_layer(desc({p.seq, p.batch, p.hidden}, type, Tag::tnc)) {}
};

// The descriptors of the values (bf16 or f32) and of the diffs (always f32).
Descs value_descs(const Problem& p) {
  return Descs(p, p.bf16 ? DataType::bf16 : DataType::f32);
}
Descs diff_descs(const Problem& p) {
  return Descs(p, DataType::f32);
}

// PyTorch's weight layout as oneDNN names it.
memory::desc ldgoi(const Problem& p, int64_t in) {
  return f32_desc({1, 1, in, p.gates(), p.hidden}, Tag::ldgoi);
}

// One shape's primitives and the weight layouts they chose.
struct Primitives {
  dnnl::primitive forward, backward;
  memory::desc fwd_weights_layer, fwd_weights_iter, workspace;
  memory::desc bwd_weights_layer, bwd_weights_iter, diff_weights_layer, diff_weights_iter;
};

// Builds the forward (and for training the backward, hinted by the forward) of one RNN kind.
template <class Fwd, class Bwd, class MakeBwd>
Primitives build(const typename Fwd::desc& fwd_desc, bool training, MakeBwd make_bwd_desc) {
  const typename Fwd::primitive_desc fwd_pd(fwd_desc, dnnl_glue::engine());
  Primitives prims;
  prims.forward = Fwd(fwd_pd);
  prims.fwd_weights_layer = fwd_pd.weights_layer_desc();
  prims.fwd_weights_iter = fwd_pd.weights_iter_desc();
  if (!training) return prims;
  prims.workspace = fwd_pd.workspace_desc();
  const typename Bwd::primitive_desc bwd_pd(make_bwd_desc(), dnnl_glue::engine(), fwd_pd);
  prims.backward = Bwd(bwd_pd);
  prims.bwd_weights_layer = bwd_pd.weights_layer_desc();
  prims.bwd_weights_iter = bwd_pd.weights_iter_desc();
  prims.diff_weights_layer = bwd_pd.diff_weights_layer_desc();
  prims.diff_weights_iter = bwd_pd.diff_weights_iter_desc();
  return prims;
}

Primitives make_primitives(const Problem& p) {
  const Descs d = value_descs(p), g = diff_descs(p);
  const Kind kind = p.training ? Kind::forward_training : Kind::forward_inference;
  const auto dir = p.reverse ? dnnl::rnn_direction::unidirectional_right2left
                             : dnnl::rnn_direction::unidirectional_left2right;
  switch (p.mode) {
    case RNNMode::LSTM:
      return build<dnnl::lstm_forward, dnnl::lstm_backward>(
          {kind, dir, d.src_layer, d.state, d.state_c, d.weights_layer, d.weights_iter, d.bias,
           d.dst_layer, d.state, d.state_c},
          p.training, [&] {
            return dnnl::lstm_backward::desc(Kind::backward, dir, d.src_layer, d.state, d.state_c,
                                             d.weights_layer, d.weights_iter, d.bias, d.dst_layer,
                                             d.state, d.state_c, g.src_layer, g.state, g.state_c,
                                             g.weights_layer, g.weights_iter, g.bias, g.dst_layer,
                                             g.state, g.state_c);
          });
    case RNNMode::GRU:
      return build<dnnl::lbr_gru_forward, dnnl::lbr_gru_backward>(
          {kind, dir, d.src_layer, d.state, d.weights_layer, d.weights_iter, d.bias, d.dst_layer,
           d.state},
          p.training, [&] {
            return dnnl::lbr_gru_backward::desc(
                Kind::backward, dir, d.src_layer, d.state, d.weights_layer, d.weights_iter, d.bias,
                d.dst_layer, d.state, g.src_layer, g.state, g.weights_layer, g.weights_iter, g.bias,
                g.dst_layer, g.state);
          });
    case RNNMode::RNN_TANH:
    case RNNMode::RNN_RELU: {
      const auto act = p.mode == RNNMode::RNN_TANH ? dnnl::algorithm::eltwise_tanh
                                                   : dnnl::algorithm::eltwise_relu;
      return build<dnnl::vanilla_rnn_forward, dnnl::vanilla_rnn_backward>(
          {kind, act, dir, d.src_layer, d.state, d.weights_layer, d.weights_iter, d.bias,
           d.dst_layer, d.state},
          p.training, [&] {
            return dnnl::vanilla_rnn_backward::desc(
                Kind::backward, act, dir, d.src_layer, d.state, d.weights_layer, d.weights_iter,
                d.bias, d.dst_layer, d.state, g.src_layer, g.state, g.weights_layer, g.weights_iter,
                g.bias, g.dst_layer, g.state);
          });
    }
  }
  throw Error("rnn_layer_dnnl: unknown mode");
}

Primitives& primitives(const Problem& p) {
  static dnnl_glue::PrimitiveCache<Primitives> cache;
  return cache.get(p.key(), [&] { return make_primitives(p); });
}

// A buffer for any oneDNN layout, owned by a tensor so heed's allocator recycles it.
struct Buffer {
  Tensor storage;
  memory mem;
};

Buffer buffer(const memory::desc& desc, bool zero = false) {
  const int64_t floats =
      static_cast<int64_t>((desc.get_size() + sizeof(float) - 1) / sizeof(float));
  Tensor storage = zero ? Tensor::zeros({floats}) : Tensor::empty({floats});
  return {storage, memory(desc, dnnl_glue::engine(), storage.data())};
}

// Copies gate blocks of `rows` [gates*hidden, cols] in the other model's gate order (GRU only:
// PyTorch r, z, n <-> oneDNN u, r, o).
Tensor permute_gates(const Tensor& rows, int64_t hidden) {
  Tensor out = Tensor::empty(rows.shape());
  const int64_t block = hidden * rows.size(1);
  for (int64_t k = 0; k < 3; ++k)
    std::memcpy(out.data() + k * block, rows.data() + kGruGate[k] * block,
                static_cast<size_t>(block) * sizeof(float));
  return out;
}

// PyTorch's weight [gates*hidden, in] as oneDNN's ldgoi (gates permuted for GRU).
Tensor as_ldgoi(RNNMode mode, const Tensor& weight, int64_t hidden) {
  const Tensor w = weight.contiguous().detach();
  return mode == RNNMode::GRU ? permute_gates(w, hidden) : w;
}

// The f32 tensor `t` (layout `plain`) in the layout and type `want`: in place when they agree,
// else reordered into a buffer.
Buffer converted(const Tensor& t, const memory::desc& plain, const memory::desc& want) {
  Buffer in{t, wrap(t, plain)};
  if (want == plain) return in;
  Buffer out = buffer(want);
  reorder(in.mem, out.mem);
  return out;
}

// oneDNN's bias [bias_gates, hidden]: b_ih + b_hh per gate; for lbr_gru the n gate takes b_in
// alone and the fourth row is b_hn.
Tensor combined_bias(const Problem& p, const Tensor& bias_ih, const Tensor& bias_hh) {
  const int64_t h = p.hidden;
  Tensor out = Tensor::empty({p.bias_gates() * h});
  const std::vector<float> bi = bias_ih.to_vector(), bh = bias_hh.to_vector();
  float* o = out.data();
  for (int64_t k = 0; k < p.gates(); ++k) {
    const int64_t src = p.mode == RNNMode::GRU ? kGruGate[k] : k;
    const bool hidden_part = p.mode != RNNMode::GRU || src != 2;
    for (int64_t j = 0; j < h; ++j)
      o[k * h + j] = bi[src * h + j] + (hidden_part ? bh[src * h + j] : 0.f);
  }
  if (p.mode == RNNMode::GRU)
    for (int64_t j = 0; j < h; ++j) o[3 * h + j] = bh[2 * h + j];
  return out;
}

// The gradients of bias_ih and bias_hh from oneDNN's diff_bias [bias_gates, hidden].
std::pair<Tensor, Tensor> split_bias_grad(const Problem& p, const Tensor& diff_bias) {
  if (p.mode != RNNMode::GRU) return {diff_bias, diff_bias};
  const int64_t h = p.hidden;
  Tensor d_ih = Tensor::empty({3 * h}), d_hh = Tensor::empty({3 * h});
  const float* d = diff_bias.data();
  for (int64_t k = 0; k < 3; ++k)
    for (int64_t j = 0; j < h; ++j) {
      d_ih.data()[kGruGate[k] * h + j] = d[k * h + j];
      d_hh.data()[kGruGate[k] * h + j] = kGruGate[k] == 2 ? d[3 * h + j] : d[k * h + j];
    }
  return {d_ih, d_hh};
}

// oneDNN's diff weights (layout `have`) back to PyTorch's [gates*hidden, in].
Tensor weight_grad(const Problem& p, const Buffer& diff, const memory::desc& have, int64_t in) {
  const memory::desc plain = ldgoi(p, in);
  Tensor out = Tensor::empty({p.gates() * p.hidden, in});
  if (have == plain) {
    std::memcpy(out.data(), diff.storage.data(), static_cast<size_t>(out.numel()) * sizeof(float));
  } else {
    reorder(diff.mem, wrap(out, plain));
  }
  return p.mode == RNNMode::GRU ? permute_gates(out, p.hidden) : out;
}

void check_inputs(RNNMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                  const Tensor& weight_ih, const Tensor& weight_hh, const Tensor& bias_ih,
                  const Tensor& bias_hh) {
  for (const Tensor* t : {&x, &h0, &c0, &weight_ih, &weight_hh, &bias_ih, &bias_hh})
    HEED_CHECK(!t->defined() || t->dtype() == Dtype::Float32,
               "rnn_layer_dnnl: expected float32 tensors, got ", dtype_name(t->dtype()));
  HEED_CHECK(x.defined() && x.dim() == 3 && x.size(0) > 0 && x.size(1) > 0,
             "rnn_layer_dnnl: input must be [seq, batch, input_size] with seq, batch > 0, got ",
             x.defined() ? x.shape() : Shape{});
  HEED_CHECK(weight_hh.dim() == 2 && weight_hh.size(1) > 0 &&
                 weight_hh.size(0) == rnn_gates(mode) * weight_hh.size(1),
             "rnn_layer_dnnl: weight_hh of shape ", weight_hh.shape(), " is not [", rnn_gates(mode),
             "*hidden, hidden]");
  const int64_t hidden = weight_hh.size(1), rows = weight_hh.size(0);
  HEED_CHECK(weight_ih.shape() == Shape({rows, x.size(2)}), "rnn_layer_dnnl: weight_ih of shape ",
             weight_ih.shape(), " does not match input ", x.shape(), " and weight_hh of shape ",
             weight_hh.shape(), " (expected ", Shape({rows, x.size(2)}), ")");
  HEED_CHECK(bias_ih.defined() == bias_hh.defined(),
             "rnn_layer_dnnl: bias_ih and bias_hh must both be given or both be undefined");
  for (const Tensor* b : {&bias_ih, &bias_hh})
    HEED_CHECK(!b->defined() || b->shape() == Shape({rows}), "rnn_layer_dnnl: bias of shape ",
               b->shape(), " for weight_hh of shape ", weight_hh.shape(), " (expected ",
               Shape({rows}), ")");
  const Shape state{x.size(1), hidden};
  HEED_CHECK(!h0.defined() || h0.shape() == state, "rnn_layer_dnnl: h0 of shape ", h0.shape(),
             " for input ", x.shape(), " and hidden size ", hidden, " (expected ", state, ")");
  HEED_CHECK(mode == RNNMode::LSTM || !c0.defined(), "rnn_layer_dnnl: c0 of shape ", c0.shape(),
             " given, but only LSTM has a cell state");
  HEED_CHECK(!c0.defined() || c0.shape() == state, "rnn_layer_dnnl: c0 of shape ", c0.shape(),
             " for input ", x.shape(), " and hidden size ", hidden, " (expected ", state, ")");
}

// The contiguous, detached state, zeros when undefined.
Tensor state_or_zeros(const Tensor& s, const Shape& shape) {
  return s.defined() ? s.contiguous().detach() : Tensor::zeros(shape);
}

// Where the primitive writes the f32 result `t` (layout `plain`) when it wants `want`: `t` itself
// when they agree, else a buffer that `store` converts into `t` afterwards.
Buffer destination(const Tensor& t, const memory::desc& plain, const memory::desc& want) {
  return want == plain ? Buffer{t, wrap(t, plain)} : buffer(want);
}

void store(const Buffer& written, const Tensor& t, const memory::desc& plain) {
  if (written.mem.get_desc() != plain) reorder(written.mem, wrap(t, plain));
}

// Row r [batch, hidden] of a [rows, batch, hidden] tensor, as oneDNN's ldnc state `desc`.
memory state_row(const Tensor& t, int64_t r, const memory::desc& desc) {
  const int64_t batch = t.size(1), hidden = t.size(2);
  return wrap(make_view(t, {batch, hidden}, {hidden, 1}, t.offset() + r * batch * hidden), desc);
}

}  // namespace

Tensor rnn_layer_dnnl(RNNMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                      const Tensor& weight_ih, const Tensor& weight_hh, const Tensor& bias_ih,
                      const Tensor& bias_hh, bool reverse) {
  check_inputs(mode, x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh);
  const bool training = grad_enabled() && (needs_grad(x) || needs_grad(h0) || needs_grad(c0) ||
                                           needs_grad(weight_ih) || needs_grad(weight_hh) ||
                                           needs_grad(bias_ih) || needs_grad(bias_hh));
  const Problem p{mode,      reverse,   training,  bias_ih.defined(), rnn_uses_bfloat16(),
                  x.size(0), x.size(1), x.size(2), weight_hh.size(1)};
  Primitives& prims = primitives(p);
  const Descs d = value_descs(p), f = diff_descs(p);  // f: the f32 layouts of heed's tensors
  const int64_t seq = p.seq, batch = p.batch, hidden = p.hidden;

  const Buffer src = converted(x.contiguous().detach(), f.src_layer, d.src_layer);
  const Buffer h_0 = converted(state_or_zeros(h0, {batch, hidden}), f.state, d.state);
  const Tensor c_0 = p.lstm() ? state_or_zeros(c0, {batch, hidden}) : Tensor();
  const Tensor w_ih = as_ldgoi(mode, weight_ih, hidden), w_hh = as_ldgoi(mode, weight_hh, hidden);
  // Without a bias oneDNN still wants one (its backward rejects an empty descriptor): zeros.
  const Tensor bias =
      p.bias ? combined_bias(p, bias_ih, bias_hh) : Tensor::zeros({p.bias_gates() * hidden});
  const Buffer w_layer = converted(w_ih, ldgoi(p, p.input), prims.fwd_weights_layer);
  const Buffer w_iter = converted(w_hh, ldgoi(p, hidden), prims.fwd_weights_iter);

  // Rows seq and seq+1 of the output are h_n and c_n (zeros without a cell state). The primitive
  // writes through `dst`, detached so that the backward's copy does not keep `out` alive.
  Tensor out = Tensor::empty({seq + 2, batch, hidden});
  const Tensor dst = out.detach();
  const int64_t plane = batch * hidden;
  const Tensor h_n = make_view(dst, {batch, hidden}, {hidden, 1}, seq * plane);
  const Tensor c_n = make_view(dst, {batch, hidden}, {hidden, 1}, (seq + 1) * plane);
  if (!p.lstm()) c_n.fill_(0.f);
  const Buffer dst_layer = destination(dst, f.dst_layer, d.dst_layer);
  const Buffer dst_iter = destination(h_n, f.state, d.state);
  const Buffer workspace = training ? buffer(prims.workspace) : Buffer{};

  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC_LAYER, src.mem},         {DNNL_ARG_SRC_ITER, h_0.mem},
      {DNNL_ARG_WEIGHTS_LAYER, w_layer.mem}, {DNNL_ARG_WEIGHTS_ITER, w_iter.mem},
      {DNNL_ARG_DST_LAYER, dst_layer.mem},   {DNNL_ARG_DST_ITER, dst_iter.mem}};
  args.emplace(DNNL_ARG_BIAS, wrap(bias, d.bias));
  if (p.lstm()) {
    args.emplace(DNNL_ARG_SRC_ITER_C, wrap(c_0, d.state_c));
    args.emplace(DNNL_ARG_DST_ITER_C, wrap(c_n, d.state_c));
  }
  if (training) args.emplace(DNNL_ARG_WORKSPACE, workspace.mem);
  execute(prims.forward, args);
  store(dst_layer, dst, f.dst_layer);
  store(dst_iter, h_n, f.state);
  if (!training) return out;

  return record(
      "rnn_dnnl", out, {x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh},
      [p, src, h_0, c_0, w_ih, w_hh, bias, workspace, dst, dst_layer, dst_iter,
       need =
           std::vector<bool>{needs_grad(x), needs_grad(h0), needs_grad(c0), needs_grad(weight_ih),
                             needs_grad(weight_hh)}](const Tensor& g_in) -> Grads {
        Primitives& prims = primitives(p);
        const Descs d = value_descs(p), f = diff_descs(p);
        const Tensor g = g_in.contiguous();
        const Buffer w_layer = converted(w_ih, ldgoi(p, p.input), prims.bwd_weights_layer);
        const Buffer w_iter = converted(w_hh, ldgoi(p, p.hidden), prims.bwd_weights_iter);
        // oneDNN's backward accumulates into the weight gradients.
        const Buffer dw_layer = buffer(prims.diff_weights_layer, true);
        const Buffer dw_iter = buffer(prims.diff_weights_iter, true);
        const Tensor d_bias = Tensor::zeros({p.bias_gates() * p.hidden});
        const Tensor dx = Tensor::empty({p.seq, p.batch, p.input});
        const Tensor dh0 = Tensor::empty({p.batch, p.hidden});
        const Tensor dc0 = p.lstm() ? Tensor::empty({p.batch, p.hidden}) : Tensor();

        std::unordered_map<int, memory> args{
            {DNNL_ARG_SRC_LAYER, src.mem},
            {DNNL_ARG_SRC_ITER, h_0.mem},
            {DNNL_ARG_WEIGHTS_LAYER, w_layer.mem},
            {DNNL_ARG_WEIGHTS_ITER, w_iter.mem},
            {DNNL_ARG_DST_LAYER, dst_layer.mem},
            {DNNL_ARG_DST_ITER, dst_iter.mem},
            {DNNL_ARG_WORKSPACE, workspace.mem},
            {DNNL_ARG_DIFF_SRC_LAYER, wrap(dx, f.src_layer)},
            {DNNL_ARG_DIFF_SRC_ITER, wrap(dh0, f.state)},
            {DNNL_ARG_DIFF_WEIGHTS_LAYER, dw_layer.mem},
            {DNNL_ARG_DIFF_WEIGHTS_ITER, dw_iter.mem},
            {DNNL_ARG_DIFF_DST_LAYER, wrap(g, f.dst_layer)},
            {DNNL_ARG_DIFF_DST_ITER, state_row(g, p.seq, f.state)}};
        args.emplace(DNNL_ARG_BIAS, wrap(bias, d.bias));
        args.emplace(DNNL_ARG_DIFF_BIAS, wrap(d_bias, d.bias));
        if (p.lstm()) {
          args.emplace(DNNL_ARG_SRC_ITER_C, wrap(c_0, d.state_c));
          args.emplace(DNNL_ARG_DST_ITER_C, state_row(dst, p.seq + 1, d.state_c));
          args.emplace(DNNL_ARG_DIFF_SRC_ITER_C, wrap(dc0, f.state_c));
          args.emplace(DNNL_ARG_DIFF_DST_ITER_C, state_row(g, p.seq + 1, f.state_c));
        }
        execute(prims.backward, args);

        auto [d_bias_ih, d_bias_hh] =
            p.bias ? split_bias_grad(p, d_bias) : std::pair<Tensor, Tensor>{};
        return {need[0] ? dx : Tensor(),
                need[1] ? dh0 : Tensor(),
                need[2] ? dc0 : Tensor(),
                need[3] ? weight_grad(p, dw_layer, prims.diff_weights_layer, p.input) : Tensor(),
                need[4] ? weight_grad(p, dw_iter, prims.diff_weights_iter, p.hidden) : Tensor(),
                d_bias_ih,
                d_bias_hh};
      });
}

}  // namespace heed::ops

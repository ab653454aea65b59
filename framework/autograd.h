#pragma once
// The autograd graph, define-by-run.
//
// Each result of a differentiable op holds a Node: where each input's gradient goes (an Edge) and a
// closure that turns the gradient of the output into one gradient per input (an undefined Tensor
// where an input needs none). Tensor::backward() orders the nodes reachable from the root in
// reverse topological order, runs each closure once with the sum of the gradients that reached it,
// and accumulates into the leaves' .grad. This is micrograd's engine, with tensors.
//
// An op records itself with a closure that saves only what its formula reads, and only for the
// inputs that need a gradient (mul: grad_a = g * b reads b, so b is saved only when a needs one):
//   const bool ga = needs_grad(a), gb = needs_grad(b);
//   return record("mul", out, {a, b}, [ga, gb, sa = a.shape(), b = ga ? b : Tensor(), ...](
//                                         const Tensor& g) -> Grads {
//     return {ga ? sum_to(g * b, sa) : Tensor(), ...};
//   });
// A closure that needs the op's own output must capture `out.detach()`, never `out` itself:
// the output owns the node, so capturing it would make a cycle that is never freed.

#include <functional>
#include <string>
#include <vector>

#include "framework/tensor.h"

namespace heed {

using Grads = std::vector<Tensor>;
using BackwardFn = std::function<Grads(const Tensor& grad_output)>;

struct Node;

/// Where the gradient of one input of a Node goes: into the Node that computed the input, or into
/// the input's .grad when it is a leaf that requires grad (neither: it needs no gradient). The
/// graph keeps no other handle on an input, so an intermediate result is freed as soon as no
/// closure saved it and no caller holds it: a softmax's input, say, is gone after the forward,
/// as the softmax's backward needs only its output (PyTorch's graph keeps edges, not tensors,
/// too).
struct Edge {
  std::shared_ptr<Node> node;
  Tensor leaf;
  Shape shape;  // the input's, to check the gradient the closure returns
  bool needs_grad() const { return node != nullptr || leaf.defined(); }
};

struct Node {
  std::string name;
  std::vector<Edge> inputs;
  BackwardFn backward;  // null once freed by a backward without retain_graph
};

/// True while recording is on (the default; a NoGradGuard turns it off for its scope).
bool grad_enabled();

class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// True when `t` is defined and gradients must flow into it.
inline bool needs_grad(const Tensor& t) {
  return t.defined() && t.requires_grad();
}

/// Attaches a node to `out` when recording is on and any input needs a gradient; returns `out`.
Tensor record(const char* name, Tensor out, std::vector<Tensor> inputs, BackwardFn backward);

/// While it lives, each backward pass on this thread calls `ready(leaf)` for every leaf it
/// reaches, as soon as no node left to run can add to the leaf's .grad (its gradient is final),
/// and for the leaves of nodes it skipped (no gradient reached them) at the end: what a
/// data-parallel step needs to start reducing a layer's gradients while the backward pass goes on
/// (PyTorch's DDP hooks its AccumulateGrad nodes for the same). One hook per thread at a time.
class GradReadyHook {
 public:
  explicit GradReadyHook(std::function<void(const Tensor& leaf)> ready);
  ~GradReadyHook();
  GradReadyHook(const GradReadyHook&) = delete;
  GradReadyHook& operator=(const GradReadyHook&) = delete;
};

/// Runs the backward pass from `root` with the given output gradient (see Tensor::backward).
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

}  // namespace heed

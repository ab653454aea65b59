#include "framework/autograd.h"

#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "framework/ops/elementwise.h"
#include "framework/ops/iter.h"

namespace heed {

namespace {
thread_local bool g_grad_enabled = true;
thread_local std::function<void(const Tensor&)>* g_ready_hook = nullptr;

// The leaves of `order`'s nodes with the number of edges into each: a leaf's gradient is final
// once that many edges have been processed.
std::unordered_map<const TensorImpl*, std::pair<Tensor, int64_t>> leaf_edges(
    const std::vector<std::shared_ptr<Node>>& order) {
  std::unordered_map<const TensorImpl*, std::pair<Tensor, int64_t>> edges;
  for (const auto& node : order)
    for (const Edge& e : node->inputs)
      if (e.leaf.defined()) {
        auto& [leaf, count] = edges[e.leaf.impl_ptr().get()];
        leaf = e.leaf;
        ++count;
      }
  return edges;
}

// Depth-first post-order over the nodes reachable from `root`, iteratively: an unrolled RNN makes
// graphs deep enough to overflow the stack of a recursive walk.
// Shared pointers keep every node alive while inputs are released along the way.
std::vector<std::shared_ptr<Node>> topological_order(const std::shared_ptr<Node>& root) {
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen{root.get()};
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const std::shared_ptr<Node>& child = node->inputs[next++].node;
      if (child && seen.insert(child.get()).second) stack.push_back({child, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;  // inputs before the nodes that use them
}

// True when `t` is contiguous, shaped like `g`, and `handles` handles are all there are on its
// tensor and on its storage: then no one else can see it change.
bool private_sum(const Tensor& t, const Tensor& g, long handles) {
  return t.is_contiguous() && t.shape() == g.shape() && t.impl_ptr().use_count() == handles &&
         t.impl().storage.use_count() == 1;
}

// sum += g, elementwise, same shapes; the same float additions as ops::add.
void add_into(const Tensor& sum, const Tensor& g) {
  const Tensor gc = g.contiguous();
  float* s = sum.data();
  const float* p = gc.data();
  const int64_t n = sum.numel();
#pragma omp parallel for simd if (n >= ops::kParallelGrain)
  for (int64_t i = 0; i < n; ++i) s[i] += p[i];
}

// A node or leaf that many steps feed (the weights of a decoder cell, an encoder's outputs read
// by attention at every step) sums its gradients in place when the running sum is private,
// saving an allocation and a pass per extra gradient.
void accumulate(Tensor& slot, const Tensor& g) {
  if (!slot.defined())
    slot = g;
  else if (private_sum(slot, g, 1))
    add_into(slot, g);
  else
    slot = ops::add(slot, g);
}

void accumulate_leaf(const Tensor& leaf, const Tensor& g) {
  Tensor current = leaf.grad();
  // Two handles: the leaf's grad slot and `current`.
  if (current.defined() && private_sum(current, g, 2)) {
    add_into(current, g);
    return;
  }
  Tensor sum = current.defined() ? ops::add(current, g) : g.contiguous();
  // A gradient that is a view (an expand of a scalar, say) must own its storage before an
  // optimizer writes through it.
  if (sum.same(g) || !sum.is_contiguous()) sum = sum.clone();
  leaf.set_grad(sum);
}
}  // namespace

bool grad_enabled() {
  return g_grad_enabled;
}

GradReadyHook::GradReadyHook(std::function<void(const Tensor& leaf)> ready) {
  HEED_CHECK(g_ready_hook == nullptr, "GradReadyHook: this thread has one already");
  g_ready_hook = new std::function<void(const Tensor&)>(std::move(ready));
}

GradReadyHook::~GradReadyHook() {
  delete g_ready_hook;
  g_ready_hook = nullptr;
}

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) {
  g_grad_enabled = false;
}
NoGradGuard::~NoGradGuard() {
  g_grad_enabled = previous_;
}

Tensor record(const char* name, Tensor out, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!g_grad_enabled) return out;
  bool any = false;
  for (const Tensor& t : inputs) any = any || needs_grad(t);
  if (!any) return out;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    Edge e;
    if (needs_grad(t)) {
      e.shape = t.shape();
      if (t.is_leaf())
        e.leaf = t;
      else
        e.node = t.grad_fn();
    }
    node->inputs.push_back(std::move(e));
  }
  node->backward = std::move(backward);
  out.impl().grad_fn = std::move(node);
  return out;
}

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  HEED_CHECK(root.requires_grad(), "backward: tensor of shape ", root.shape(),
             " does not require grad and has no grad_fn");
  Tensor seed = grad;
  if (!seed.defined()) {
    HEED_CHECK(root.numel() == 1,
               "backward: grad can be implicitly created only for scalar outputs;",
               " this output has shape ", root.shape(), ", so pass a gradient of that shape");
    seed = Tensor::ones(root.shape());
  }
  HEED_CHECK(seed.shape() == root.shape(), "backward: gradient of shape ", seed.shape(),
             " for an output of shape ", root.shape());
  NoGradGuard no_grad;
  if (root.is_leaf()) {
    accumulate_leaf(root, seed);
    return;
  }
  std::vector<std::shared_ptr<Node>> order = topological_order(root.grad_fn());
  std::unordered_map<Node*, Tensor> pending{{root.grad_fn().get(), seed}};
  auto waiting = g_ready_hook ? leaf_edges(order) : decltype(leaf_edges(order)){};
  // One more edge of `leaf` processed: when it was its last, the hook hears of it.
  auto edge_done = [&](const Tensor& leaf) {
    auto found = waiting.find(leaf.impl_ptr().get());
    if (found == waiting.end() || --found->second.second > 0) return;
    const Tensor ready = found->second.first;
    waiting.erase(found);
    (*g_ready_hook)(ready);
  };
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = it->get();
    auto found = pending.find(node);
    if (found == pending.end()) continue;
    Tensor g = std::move(found->second);
    pending.erase(found);
    HEED_CHECK(node->backward != nullptr,
               "backward: trying to backward through the graph a second ", "time (at '", node->name,
               "'); its saved tensors were freed by the first backward. ",
               "Pass retain_graph=true to the first call.");
    Grads grads = node->backward(g);
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      const Edge& input = node->inputs[i];
      if (i < grads.size() && grads[i].defined() && input.needs_grad()) {
        HEED_CHECK(grads[i].shape() == input.shape, "backward: '", node->name,
                   "' produced a gradient of shape ", grads[i].shape(), " for an input of shape ",
                   input.shape);
        if (input.leaf.defined())
          accumulate_leaf(input.leaf, grads[i]);
        else
          accumulate(pending[input.node.get()], grads[i]);
      }
      if (g_ready_hook && input.leaf.defined()) edge_done(input.leaf);
    }
    if (!retain_graph) {
      node->backward = nullptr;  // frees what the closure saved
      node->inputs.clear();
    }
  }
  // Leaves only skipped nodes lead to: no gradient reached them, and none will.
  if (g_ready_hook)
    for (const auto& node : order)
      for (const Edge& e : node->inputs)
        if (e.leaf.defined() && waiting.count(e.leaf.impl_ptr().get())) {
          waiting.erase(e.leaf.impl_ptr().get());
          (*g_ready_hook)(e.leaf);
        }
}

}  // namespace heed

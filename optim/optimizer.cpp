#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "framework/autograd.h"

namespace heed::optim {

namespace {

// A fresh contiguous tensor with `t`'s values, sharing nothing with it and recording nothing.
Tensor copy_of(const Tensor& t) {
  NoGradGuard no_grad;
  return t.to(t.dtype());
}

std::string describe(const Tensor& t) {
  return std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape());
}

}  // namespace

Optimizer::Optimizer(std::string type, StateDict params, double lr,
                     std::vector<StateSpec> state_spec)
    : Optimizer(std::move(type), {{std::move(params), lr, std::move(state_spec)}}) {}

Optimizer::Optimizer(std::string type, std::vector<GroupSpec> groups)
    : type_(std::move(type)), groups_(std::move(groups)) {
  HEED_CHECK(!groups_.empty(), type_, ": got no parameter groups");
  for (size_t g = 0; g < groups_.size(); ++g) {
    set_lr(g, groups_[g].lr);
    for (const auto& [name, param] : groups_[g].params) {
      HEED_CHECK(!name.empty(), type_, ": a parameter has an empty name");
      HEED_CHECK(param.defined(), type_, ": parameter '", name, "' is undefined");
      HEED_CHECK(param.dtype() == Dtype::Float32, type_, ": parameter '", name, "' is ",
                 dtype_name(param.dtype()), ", only float32 parameters can be optimized");
      HEED_CHECK(param.is_contiguous(), type_, ": parameter '", name, "' of shape ", param.shape(),
                 " is not contiguous");
      for (const auto& [other_name, other] : param_by_name_)
        HEED_CHECK(!param.same(other), type_, ": parameters '", other_name, "' and '", name,
                   "' are the same tensor; pass it once");
      HEED_CHECK(param_by_name_.emplace(name, param).second, type_, ": parameter name '", name,
                 "' appears twice");
      group_by_name_[name] = g;
      params_.emplace_back(name, param);
    }
  }
  HEED_CHECK(!params_.empty(), type_, ": got an empty parameter list");
}

void Optimizer::zero_grad() {
  for (const auto& [name, param] : params_) param.set_grad(Tensor());
}

void Optimizer::set_lr(double lr) {
  for (size_t g = 0; g < groups_.size(); ++g) set_lr(g, lr);
}

void Optimizer::set_lr(size_t group, double lr) {
  HEED_CHECK(std::isfinite(lr) && lr >= 0, type_, ": invalid learning rate: ", lr);
  groups_.at(group).lr = lr;
}

double Optimizer::momentum(size_t) const {
  throw Error(type_ + " has no momentum or beta1 for a schedule to set");
}

void Optimizer::set_momentum(size_t, double) {
  throw Error(type_ + " has no momentum or beta1 for a schedule to set");
}

std::string Optimizer::repr() const {
  if (groups_.size() == 1) return type_ + "(" + options_repr(0) + ")";
  std::ostringstream out;
  out << type_ << "(";
  for (size_t g = 0; g < groups_.size(); ++g)
    out << (g ? "; " : "") << "group " << g << " [" << groups_[g].params.size()
        << " params]: " << options_repr(g);
  out << ")";
  return out.str();
}

const std::vector<Optimizer::StateSpec>& Optimizer::spec_of(const std::string& name) const {
  return groups_[group_by_name_.at(name)].state_spec;
}

Optimizer::ParamState* Optimizer::find_state(const std::string& name) {
  auto it = state_.find(name);
  return it == state_.end() ? nullptr : &it->second;
}

Tensor Optimizer::initial_value(const StateSpec& spec, const Tensor& param) {
  if (spec.kind == StateKind::StepCount) return Tensor::zeros({}, Dtype::Int64);
  return spec.initial == 0 ? Tensor::zeros(param.shape())
                           : Tensor::full(param.shape(), spec.initial);
}

Optimizer::ParamState& Optimizer::state(const std::string& name) {
  if (ParamState* found = find_state(name)) return *found;
  const Tensor& param = param_by_name_.at(name);
  ParamState fresh;
  for (const StateSpec& spec : spec_of(name)) fresh[spec.name] = initial_value(spec, param);
  return state_[name] = std::move(fresh);
}

void Optimizer::extend_state_spec(size_t group, std::vector<StateSpec> spec) {
  GroupSpec& g = groups_.at(group);
  for (const StateSpec& old : g.state_spec)
    HEED_CHECK(std::any_of(spec.begin(), spec.end(),
                           [&](const StateSpec& s) { return s.name == old.name; }),
               type_, ": the state \"", old.name, "\" of group ", group, " cannot be dropped");
  g.state_spec = std::move(spec);
  for (const auto& [name, param] : g.params)
    if (ParamState* s = find_state(name))
      for (const StateSpec& added : g.state_spec)
        if (!s->count(added.name)) (*s)[added.name] = initial_value(added, param);
}

Tensor Optimizer::grad_of(const Tensor& param) {
  Tensor grad = param.grad();
  if (!grad.defined() || grad.is_contiguous()) return grad;
  return copy_of(grad);
}

StateDict Optimizer::state_dict() const {
  StateDict out;
  for (const auto& [name, param] : params_) {
    auto it = state_.find(name);
    if (it == state_.end()) continue;
    for (const StateSpec& spec : spec_of(name))
      out.emplace_back(name + "." + spec.name, copy_of(it->second.at(spec.name)));
  }
  return out;
}

void Optimizer::load_state_dict(const StateDict& state) {
  std::vector<std::string> unexpected, missing, mis_shaped;
  std::map<std::string, ParamState> loaded;
  std::set<std::string> seen;
  for (const auto& [key, value] : state) {
    if (!seen.insert(key).second) {
      unexpected.push_back(key + " (given twice)");
      continue;
    }
    const size_t dot = key.rfind('.');
    const std::string param_name = dot == std::string::npos ? "" : key.substr(0, dot);
    const std::string state_name = dot == std::string::npos ? key : key.substr(dot + 1);
    auto param = param_by_name_.find(param_name);
    const StateSpec* spec = nullptr;
    if (param != param_by_name_.end())
      for (const StateSpec& s : spec_of(param_name))
        if (s.name == state_name) spec = &s;
    if (param == param_by_name_.end() || spec == nullptr) {
      unexpected.push_back(key);
      continue;
    }
    if (!value.defined()) {
      mis_shaped.push_back(key + " (undefined tensor)");
      continue;
    }
    if (spec->kind == StateKind::StepCount) {
      if (value.dtype() != Dtype::Int64 || value.numel() != 1) {
        mis_shaped.push_back(key + " (given " + describe(value) + ", expected int64 [])");
        continue;
      }
      if (value.item_i64() < 0) {
        mis_shaped.push_back(key + " (given step " + std::to_string(value.item_i64()) +
                             ", expected a count >= 0)");
        continue;
      }
      loaded[param_name][state_name] = Tensor::from_vector_i64({value.item_i64()}, {});
    } else {
      const Tensor& p = param->second;
      if (value.dtype() != Dtype::Float32 || value.shape() != p.shape()) {
        mis_shaped.push_back(key + " (given " + describe(value) + ", parameter " + describe(p) +
                             ")");
        continue;
      }
      loaded[param_name][state_name] = copy_of(value);
    }
  }
  // A parameter's state is all there or absent (not stepped yet); anything between is a loss.
  // Keys dropped above as mis-shaped still count as given, so they are not reported twice.
  for (const auto& [name, param] : params_) {
    std::vector<std::string> absent;
    const std::vector<StateSpec>& specs = spec_of(name);
    for (const StateSpec& spec : specs)
      if (!seen.count(name + "." + spec.name)) absent.push_back(name + "." + spec.name);
    if (absent.size() < specs.size()) missing.insert(missing.end(), absent.begin(), absent.end());
  }
  if (!unexpected.empty() || !missing.empty() || !mis_shaped.empty())
    throw Error(state_mismatch_message("optimizer state", repr(), missing, unexpected, mis_shaped));
  state_ = std::move(loaded);
}

}  // namespace heed::optim

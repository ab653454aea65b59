#include "framework/module.h"

#include <map>
#include <sstream>

namespace heed {

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  if (value.is_leaf() && !value.requires_grad()) value.requires_grad_();
  params_.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  buffers_.emplace_back(name, value);
  return value;
}

void Module::collect(const std::string& prefix, bool params, StateDict& out) const {
  for (const auto& [name, t] : params ? params_ : buffers_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", params, out);
}

StateDict Module::named_parameters() const {
  StateDict out;
  collect("", true, out);
  return out;
}

StateDict Module::named_buffers() const {
  StateDict out;
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

StateDict Module::state_dict() const {
  StateDict out = named_parameters();
  for (auto& entry : named_buffers()) out.push_back(entry);
  return out;
}

std::string state_mismatch_message(const std::string& what, const std::string& owner,
                                   const std::vector<std::string>& missing,
                                   const std::vector<std::string>& unexpected,
                                   const std::vector<std::string>& mis_shaped) {
  std::ostringstream msg;
  msg << "load_state_dict: " << what << " does not match " << owner << ":";
  auto list = [&](const char* kind, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    msg << " " << kind << " keys:";
    for (size_t i = 0; i < keys.size(); ++i) msg << (i ? ", " : " ") << keys[i];
    msg << ";";
  };
  list("missing", missing);
  list("unexpected", unexpected);
  list("mis-shaped", mis_shaped);
  return msg.str();
}

void Module::load_state_dict(const StateDict& state) {
  std::map<std::string, Tensor> given(state.begin(), state.end());
  std::vector<std::string> missing, mismatched;
  const StateDict mine = state_dict();
  for (const auto& [name, t] : mine) {
    auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
      continue;
    }
    if (it->second.shape() != t.shape())
      mismatched.push_back(name + " (checkpoint " + shape_str(it->second.shape()) + ", model " +
                           shape_str(t.shape()) + ")");
    else if (it->second.dtype() != t.dtype())
      mismatched.push_back(name + " (checkpoint " + dtype_name(it->second.dtype()) + ", model " +
                           dtype_name(t.dtype()) + ")");
    given.erase(it);
  }
  if (!missing.empty() || !given.empty() || !mismatched.empty()) {
    std::vector<std::string> unexpected;
    for (auto& [name, t] : given) unexpected.push_back(name);
    throw Error(state_mismatch_message("state", repr(), missing, unexpected, mismatched));
  }
  std::map<std::string, Tensor> by_name(state.begin(), state.end());
  for (const auto& [name, t] : mine) t.copy_(by_name.at(name));
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

std::vector<std::pair<std::string, const Module*>> Module::named_modules() const {
  std::vector<std::pair<std::string, const Module*>> out;
  collect_modules("", out);
  return out;
}

void Module::collect_modules(const std::string& name,
                             std::vector<std::pair<std::string, const Module*>>& out) const {
  out.emplace_back(name, this);
  for (const auto& [child_name, child] : children_)
    child->collect_modules(name.empty() ? child_name : name + "." + child_name, out);
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& [name, t] : named_parameters()) t.set_grad(Tensor());
}

void Module::print(std::string& out, const std::string& name, int depth) const {
  out += std::string(2 * depth, ' ') + (name.empty() ? "" : "(" + name + "): ") + repr() + "\n";
  for (const auto& [child_name, child] : children_) child->print(out, child_name, depth + 1);
}

std::string Module::to_string() const {
  std::string out;
  print(out, "", 0);
  return out;
}

}  // namespace heed

#pragma once
// Module: the base of every layer and model. It owns named parameters and buffers and named child
// modules, so that state_dict() gives PyTorch's dotted keys
// ("encoder.layers.0.self_attn.in_proj_weight") and checkpoints and fixtures use those names.
//
//   class Linear : public Module {
//     Linear(...) { weight = register_parameter("weight", Tensor::empty({out, in})); }
//   };
//   model.state_dict();          // [("weight", ...), ("bias", ...)]
//   model.load_state_dict(sd);   // strict: lists missing, unexpected and mis-shaped keys
//
// Parameters are Tensor handles shared between the module and whoever registered them; loading a
// state dict copies values into them in place, so those handles stay valid.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "framework/tensor.h"

namespace heed {

/// Named tensors in registration order (parameters first, then buffers), as PyTorch's OrderedDict.
using StateDict = std::vector<std::pair<std::string, Tensor>>;

/// "load_state_dict: <what> does not match <owner>: missing keys: a, b; unexpected keys: c;
/// mis-shaped keys: d (...);" -- the one message for every strict state-dict load.
std::string state_mismatch_message(const std::string& what, const std::string& owner,
                                   const std::vector<std::string>& missing,
                                   const std::vector<std::string>& unexpected,
                                   const std::vector<std::string>& mis_shaped);

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// One line with the options: "LSTM(input_size=28, hidden_size=128, num_layers=1,
  /// batch_first=true)".
  virtual std::string repr() const = 0;
  /// The tree of modules, one per line, indented as PyTorch prints a model.
  std::string to_string() const;

  StateDict named_parameters() const;
  StateDict named_buffers() const;
  std::vector<Tensor> parameters() const;
  StateDict state_dict() const;
  /// Copies values from `state` into this module's tensors. Throws heed::Error listing every
  /// missing, unexpected and mis-shaped key, and changes nothing in that case.
  void load_state_dict(const StateDict& state);
  int64_t num_parameters() const;
  /// This module ("") and every descendant, depth first in registration order, with the dotted
  /// name a state dict uses as their prefix ("encoder.layers.0.self_attn").
  std::vector<std::pair<std::string, const Module*>> named_modules() const;

  /// Training mode (dropout active) or evaluation mode, for this module and all its children.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();

 protected:
  Tensor register_parameter(const std::string& name, Tensor value);
  Tensor register_buffer(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    children_.emplace_back(name, module);
    return module;
  }

 private:
  void collect(const std::string& prefix, bool params, StateDict& out) const;
  void print(std::string& out, const std::string& name, int depth) const;
  void collect_modules(const std::string& name,
                       std::vector<std::pair<std::string, const Module*>>& out) const;

  StateDict params_;
  StateDict buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace heed

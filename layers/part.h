#pragma once
// Parts of a model built by name (encoders, poolings, alignments) and the registry template that
// builds them. A part is not a Module of its own: it holds modules and parameters that the model
// registers under the part's names as its own (Part::modules(), Part::parameters()), as
// MultiheadAttention registers its AttentionMechanism's parameters. So a state dict reads
// "lstm.weight_ih_l0", "pool_query", "pool.weight" whichever part holds them, and the model's own
// parameters still come before every child's (a part as an inline child Module could not keep
// "pool_query" ahead of the encoder's children, where checkpoints and optimizer states have it).
//
// A registry is one explicit list per kind: each entry names a part, describes it and points to
// its own from_config, which reads the part's options and returns a factory; the choice is made
// once, when the model is built. A recipe names a part as a string or an object:
//   "pooling": "mean"
//   "pooling": {"type": "attention", "attention": {"type": "luong_general"}}
// and an option the chosen part does not read is an error naming the key, the part, and the
// other parts of the kind that have it. `heed list` prints every entry with the options its
// from_config reads (Config::describe), so the catalog cannot drift from the code.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "framework/config.h"
#include "framework/module.h"
#include "framework/registry.h"

namespace heed::nn {

/// The modules and parameters of one part, in the order the model registers them.
class Part {
 public:
  virtual ~Part() = default;
  const StateDict& parameters() const { return parameters_; }
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules() const {
    return modules_;
  }

 protected:
  template <class M>
  std::shared_ptr<M> add_module(const std::string& name, std::shared_ptr<M> module) {
    modules_.emplace_back(name, module);
    return module;
  }
  Tensor add_parameter(const std::string& name, Tensor value) {
    parameters_.emplace_back(name, value);
    return value;
  }

 private:
  StateDict parameters_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> modules_;
};

/// One registered part: its name and description for `heed list`, and its from_config.
template <class Factory>
struct PartEntry {
  // A constructor, not a default member initializer: GCC 12 fails on the latter in a template.
  PartEntry(RegistryEntry about, Factory (*from_config)(const Config&),
            std::vector<OptionNote> notes = {})
      : about(std::move(about)), from_config(from_config), notes(std::move(notes)) {}
  RegistryEntry about;  // kind, name, description (options: generated)
  Factory (*from_config)(const Config&);
  std::vector<OptionNote> notes;  // what the recorded defaults and ranges do not say
};

/// The parts of one kind, in the list's order.
template <class Factory>
class PartRegistry {
 public:
  explicit PartRegistry(std::vector<PartEntry<Factory>> entries) : entries_(std::move(entries)) {
    for (const auto& e : entries_)
      described_.push_back(Config::describe([&](const Config& c) { e.from_config(c); }));
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : entries_) out.push_back(e.about.name);
    return out;
  }

  /// Reads the part at `parent`.`key` (a name or {type, options...}; absent: `fallback_type`):
  /// its name and every option. `type`, when given, receives the name.
  Factory from_config(const Config& parent, const std::string& key,
                      const std::string& fallback_type, std::string* type = nullptr) const {
    return read_named(parent, key, fallback_type, type, false);
  }

  /// from_config that also takes the name "none": no part, with no options (an empty Factory).
  Factory from_config_or_none(const Config& parent, const std::string& key,
                              const std::string& fallback_type, std::string* type = nullptr) const {
    return read_named(parent, key, fallback_type, type, true);
  }

  /// Reads the part that is the object `part` itself, whose "type" is required (an element of a
  /// list, such as one of the image classifier's layers): its name and every option. An unknown
  /// name is `unknown <kind> type "convv2d" at "<path>.type"; did you mean "conv2d"?`.
  Factory from_object(Config part, std::string* type = nullptr) const {
    const std::string name = part.require<std::string>("type");
    return read(part, &find_entry(entries_, name, kind() + " type", part.path_of("type")), name,
                type);
  }

  /// Every entry with the options its from_config reads, for `heed list`.
  std::vector<RegistryEntry> list() const {
    std::vector<RegistryEntry> out;
    for (size_t i = 0; i < entries_.size(); ++i) {
      RegistryEntry about = entries_[i].about;
      about.options = options_text(with_notes(described_[i], entries_[i].notes));
      out.push_back(about);
    }
    return out;
  }

 private:
  const std::string& kind() const { return entries_.front().about.kind; }
  // The part at `parent`.`key`, by name (with `none`, the name "none" too: no entry).
  Factory read_named(const Config& parent, const std::string& key, const std::string& fallback_type,
                     std::string* type, bool none) const {
    Config part = parent.part(key, fallback_type);
    std::vector<std::string> valid = names();
    if (none) valid.push_back("none");
    const std::string name = part.choice("type", fallback_type, valid);
    const PartEntry<Factory>* entry =
        none && name == "none" ? nullptr
                               : &find_entry(entries_, name, kind(), part.path_of("type"));
    return read(part, entry, name, type);
  }
  // The options of `entry` (null: "none", which has none) at `part`, every other key an error.
  Factory read(Config& part, const PartEntry<Factory>* entry, const std::string& name,
               std::string* type) const {
    part.set_part(kind(), name, [this, name](const std::string& k) { return owners_of(k, name); });
    Factory factory;
    if (entry) factory = entry->from_config(part);
    part.finish();
    if (type) *type = name;
    return factory;
  }
  // The entries other than `type` whose from_config reads `key` (or a nested part at `key`).
  std::vector<std::string> owners_of(const std::string& key, const std::string& type) const {
    std::vector<std::string> out;
    for (size_t i = 0; i < entries_.size(); ++i)
      for (const OptionDoc& d : described_[i])
        if ((d.key == key || d.key.rfind(key + ".", 0) == 0) && entries_[i].about.name != type) {
          out.push_back(entries_[i].about.name);
          break;
        }
    return out;
  }

  std::vector<PartEntry<Factory>> entries_;
  std::vector<std::vector<OptionDoc>> described_;
};

}  // namespace heed::nn

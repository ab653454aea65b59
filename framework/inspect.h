#pragma once
// Inspector: keeps what layers compute inside one forward pass, for a researcher to look at:
// attention weights [batch, heads, query, key], squeeze-and-excitation channel weights
// [batch, channels], CBAM spatial maps [batch, 1, H, W], a classifier's logits. It is PyTorch's
// forward-hook idiom without hooks: layers call Inspector::record(*this, "weights", w) at the
// points worth seeing, which costs nothing unless an Inspector is alive on the calling thread.
// `heed inspect` (docs/inspect.md) writes what one forward recorded to an HDF5 file.
//
//   Inspector inspector;                   // recording on, for this scope and thread
//   model.forward(batch);
//   for (auto& [name, t] : inspector.named(model)) ...  // "encoder.layers.0.self_attn.weights"
//
// Names are "<module's dotted name under root>.<what>" (or "<what>" for root itself). A module
// called twice in one forward keeps its last record. Tensors are kept as computed (no copies);
// record them from eval-mode forwards under a NoGradGuard, or they keep their graphs alive.

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "framework/module.h"
#include "framework/registry.h"

namespace heed {

class Inspector {
 public:
  /// Turns recording on for this thread. Throws heed::Error when another Inspector is alive on
  /// it (records would go to the innermost one only, silently).
  Inspector();
  ~Inspector();
  Inspector(const Inspector&) = delete;
  Inspector& operator=(const Inspector&) = delete;

  /// True while an Inspector is alive on this thread: layers that compute something only to be
  /// seen (linear attention's quadratic weights) compute it then.
  static bool active();
  /// Keeps `value` as `what` of `from` when an Inspector is alive on this thread; else nothing.
  static void record(const Module& from, const std::string& what, const Tensor& value);
  /// Keeps attention weights [batch, heads, query, key], each row a distribution over the keys,
  /// as "weights" of `from`, and marks them as such for attention(): the attention layers record
  /// through this, while channel and spatial gates (SE, CBAM), which are no distributions, call
  /// record().
  static void record_attention(const Module& from, const Tensor& weights);

  /// The records of `root` and its descendants, in the order of root.named_modules(), then by
  /// `what`. Records of modules outside root's tree are left out.
  std::vector<std::pair<std::string, Tensor>> named(const Module& root) const;
  /// The attention weights record_attention() kept, by the dotted name of the module under root
  /// ("decoder.attention"), in the order of root.named_modules().
  std::vector<std::pair<std::string, Tensor>> attention(const Module& root) const;

 private:
  std::map<const Module*, std::map<std::string, Tensor>> records_;
  std::set<const Module*> attention_;
};

/// What `heed inspect` writes: examples `indices` of `data` go through `model` as one batch, in
/// eval mode and without gradients, under an Inspector; `path` is written atomically with the
/// batch's /input, /target and /indices, every record as /records/<name> (float32, the record's
/// shape, batch first), the strings /recipe and /checkpoint for provenance, and with token data
/// /input_vocab and /target_vocab, each token by id as a JSON array, to label the plots
/// (docs/inspect.md).
/// Returns {"file", "samples", "records": {name: shape}}. Throws heed::Error when `indices` is
/// empty or leaves the dataset, or when the model records nothing; the model is back in training
/// mode afterwards.
nlohmann::json write_inspection(const std::string& path, Model& model, const Dataset& data,
                                const DataInfo& info, const std::vector<int64_t>& indices,
                                const std::string& recipe, const std::string& checkpoint);

}  // namespace heed

#include "layers/attention/registry.h"

#include <algorithm>

#include "layers/attention/cosine.h"
#include "layers/attention/entmax.h"
#include "layers/attention/gumbel.h"
#include "layers/attention/hard.h"
#include "layers/attention/linear.h"
#include "layers/attention/reinforce.h"
#include "layers/attention/scaled_dot_product.h"
#include "layers/attention/sparsemax.h"
#include "layers/attention/taylor.h"
#include "layers/attention/topk.h"
#include "layers/attention/tri.h"
#include "layers/attention/windowed.h"

namespace heed::nn {

namespace {

struct Entry {
  RegistryEntry about;
  AttentionFactory (*from_config)(const Config&);
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = {
      {{"attention", "scaled_dot_product",
        "softmax(Q K^T / sqrt(d_k)) V (Vaswani et al. 2017, eq. 1)", ""},
       &ScaledDotProductAttention::from_config},
      {{"attention", "sparsemax", "sparsemax of the scaled scores (Martins & Astudillo 2016)", ""},
       &SparsemaxAttention::from_config},
      {{"attention", "topk", "softmax over each query's top-k scores (Zhao et al. 2019)", ""},
       &TopkAttention::from_config},
      {{"attention", "hard", "one-hot argmax forward, softmax gradient (straight-through)", ""},
       &HardAttention::from_config},
      {{"attention", "gumbel", "Gumbel-softmax of the scores in training (Jang et al. 2017)", ""},
       &GumbelAttention::from_config},
      {{"attention", "reinforce",
        "one key sampled from the softmax, trained by REINFORCE with a moving-average baseline "
        "(Xu et al. 2015)",
        ""},
       &ReinforceAttention::from_config},
      {{"attention", "linear", "elu+1 feature maps, O(seq) (Katharopoulos et al. 2020)", ""},
       &LinearAttention::from_config},
      {{"attention", "cosine", "learned-temperature cosine scores (Swin v2, Liu et al. 2022)", ""},
       &CosineAttention::from_config},
      {{"attention", "windowed", "softmax within +-window keys (Longformer, Beltagy et al. 2020)",
        ""},
       &WindowedAttention::from_config},
      {{"attention", "taylor", "1 + cos(q, k) weights, O(seq) (Li et al. 2020, arXiv 2007.14902)",
        ""},
       &TaylorAttention::from_config},
      {{"attention", "entmax", "alpha-entmax, alpha learned per head (Correia et al. 2019)", ""},
       &EntmaxAttention::from_config},
      {{"attention", "tri",
        "query x key x context scores, the context a third party (Yu et al. 2022, arXiv "
        "2211.02899)",
        ""},
       &TriAttention::from_config},
  };
  return list;
}

// The options each entry's from_config reads, computed once.
const std::vector<std::vector<OptionDoc>>& described() {
  static const std::vector<std::vector<OptionDoc>> docs = [] {
    std::vector<std::vector<OptionDoc>> out;
    for (const Entry& e : entries())
      out.push_back(Config::describe([&](const Config& c) { e.from_config(c); }));
    return out;
  }();
  return docs;
}

// The entries other than `type` whose from_config reads `key`.
std::vector<std::string> owners_of(const std::string& key, const std::string& type) {
  std::vector<std::string> out;
  for (size_t i = 0; i < entries().size(); ++i)
    for (const OptionDoc& d : described()[i])
      if (d.key == key && entries()[i].about.name != type) out.push_back(entries()[i].about.name);
  return out;
}

// Reads a part Config (with "type"): the entry and its checked factory.
AttentionFactory parse(Config& part, std::string& type) {
  type = part.choice("type", "scaled_dot_product", attention_names());
  const Entry& entry = find_entry(entries(), type, "attention", part.path_of("type"));
  part.set_part("attention", type, [type](const std::string& key) { return owners_of(key, type); });
  AttentionFactory factory = entry.from_config(part);
  part.finish();
  return factory;
}

}  // namespace

const std::vector<std::string>& attention_positional_names() {
  static const std::vector<std::string> names = {"none", "rope", "alibi"};
  return names;
}

std::vector<std::string> attention_names() {
  std::vector<std::string> names;
  for (const Entry& e : entries()) names.push_back(e.about.name);
  return names;
}

AttentionVariant attention_from_config(const Config& parent, const std::string& key) {
  Config part = parent.part(key, "scaled_dot_product");
  AttentionVariant variant;
  parse(part, variant.type);
  variant.options = part.json();
  variant.options.erase("type");
  return variant;
}

std::unique_ptr<AttentionMechanism> build_attention(const AttentionVariant& variant,
                                                    const HeadShape& shape) {
  nlohmann::json value = variant.options;
  value["type"] = variant.type;
  Config part(value, "attention");
  std::string type;
  std::unique_ptr<AttentionMechanism> mechanism = parse(part, type)(shape);
  HEED_CHECK(shape.positional != "alibi" || mechanism->takes_score_bias(),
             "MultiheadAttention: positional \"alibi\" adds to dot-product scores, which attention "
             "\"",
             type, "\" does not have");
  return mechanism;
}

std::vector<RegistryEntry> list_attention() {
  std::vector<RegistryEntry> out;
  for (size_t i = 0; i < entries().size(); ++i) {
    RegistryEntry about = entries()[i].about;
    about.options = options_text(described()[i]);
    out.push_back(about);
  }
  return out;
}

}  // namespace heed::nn

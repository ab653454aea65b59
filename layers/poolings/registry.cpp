#include "layers/poolings/attention.h"
#include "layers/poolings/last.h"
#include "layers/poolings/mean.h"
#include "layers/poolings/query.h"

namespace heed::nn {

namespace {

const PartRegistry<PoolingFactory>& registry() {
  static const PartRegistry<PoolingFactory> list({
      {{"pooling", "last",
        "the last step; a bidirectional RNN's reverse half from step 0 (its h_n)", ""},
       &LastPooling::from_config},
      {{"pooling", "mean", "the mean over steps", ""}, &MeanPooling::from_config},
      {{"pooling", "attention",
        "the last step attends over every step through an alignment; [context; query]", ""},
       &AttentionPooling::from_config},
      {{"pooling", "query",
        "a learned query cross-attends through a Transformer decoder layer (transformer only)", ""},
       &QueryPooling::from_config},
  });
  return list;
}

}  // namespace

PoolingFactory pooling_from_config(const Config& parent, const std::string& fallback_type,
                                   const std::string& key, std::string* type) {
  return registry().from_config(parent, key, fallback_type, type);
}

std::vector<std::string> pooling_names() {
  return registry().names();
}

std::vector<RegistryEntry> list_poolings() {
  return registry().list();
}

}  // namespace heed::nn

#include "layers/attention/alignment.h"

#include "layers/attention/additive.h"
#include "layers/attention/luong.h"
#include "layers/attention/monotonic.h"
#include "layers/attention/multihead.h"
#include "layers/part.h"

namespace heed::nn {

namespace {

const PartRegistry<AlignmentFactory>& registry() {
  static const PartRegistry<AlignmentFactory> list({
      {{"alignment", "additive", "v^T tanh(W q + U k) (Bahdanau et al. 2015, eq. 6)", ""},
       &additive_alignment_from_config},
      {{"alignment", "luong_dot", "global, score q . k (Luong et al. 2015, eq. 8)", ""},
       &luong_dot_from_config},
      {{"alignment", "luong_general", "global, score q^T W k (Luong et al. 2015, eq. 8)", ""},
       &luong_general_from_config},
      {{"alignment", "luong_concat", "global, score v^T tanh(W [q; k]) (Luong et al. 2015, eq. 8)",
        ""},
       &luong_concat_from_config},
      {{"alignment", "local_m",
        "softmax within +-window of the query's step (Luong et al. 2015, sec. 3.2)", ""},
       &local_m_from_config},
      {{"alignment", "local_p",
        "predicted centre, Gaussian-weighted window (Luong et al. 2015, eqs. 9-10)", ""},
       &local_p_from_config},
      {{"alignment", "multihead",
        "nn.MultiheadAttention over the keys (Vaswani et al. 2017, sec. 3.2.2), heads averaged "
        "in the weights",
        ""},
       &multihead_alignment_from_config},
      {{"alignment", "monotonic",
        "expected monotonic alignment in training, hard monotonic decoding (Raffel et al. 2017)",
        ""},
       &monotonic_alignment_from_config},
  });
  return list;
}

}  // namespace

BoundAlignment Alignment::bind(const Tensor& keys, const Tensor& values,
                               const Tensor& key_padding_mask) const {
  if (bind_keys) return bind_keys(keys, values, key_padding_mask);
  return [f = forward, keys, values, key_padding_mask](const Tensor& query, int64_t step,
                                                       const Tensor&) {
    const int64_t batch = query.size(0);  // every sequence of a decoder is at the same step
    return f(query, keys, values, key_padding_mask,
             Tensor::from_vector_i64(std::vector<int64_t>(batch, step), {batch}));
  };
}

AlignmentFactory alignment_from_config(const Config& parent, const std::string& key,
                                       std::string* type) {
  return registry().from_config(parent, key, "additive", type);
}

AlignmentFactory alignment_or_none_from_config(const Config& parent, const std::string& key,
                                               std::string* type) {
  return registry().from_config_or_none(parent, key, "additive", type);
}

std::vector<std::string> alignment_names() {
  return registry().names();
}

std::vector<RegistryEntry> list_alignments() {
  return registry().list();
}

}  // namespace heed::nn

#include "layers/decoders/transformer.h"

#include "framework/ops.h"
#include "layers/attention/scaled_dot_product.h"

namespace heed::nn {

DecoderFactory TransformerSeqDecoder::from_config(const Config& c) {
  const TransformerSequenceEncoderOptions o = transformer_encoder_options(c);
  return {o.layer.d_model, [o](const DecoderInput& input, Generator& gen) {
            return std::make_unique<TransformerSeqDecoder>(o, input, gen);
          }};
}

TransformerSeqDecoder::TransformerSeqDecoder(const TransformerSequenceEncoderOptions& options,
                                             const DecoderInput& input, Generator& gen)
    : options_(options) {
  const int64_t d = options.layer.d_model;
  if (input.memory_size != d)
    memory_proj = add_module("memory_proj", std::make_shared<Linear>(input.memory_size, d, gen));
  if (options.positional == "learned")
    pos_embedding = add_module("target_pos_embedding",
                               std::make_shared<LearnedPositionalEmbedding>(kMaxTargetLen, d, gen));
  if (options.positional == "sinusoidal")
    sinusoidal = std::make_shared<SinusoidalPositionalEncoding>(d, kMaxTargetLen);
  decoder =
      add_module("decoder", std::make_shared<TransformerDecoder>(options.layer, options.num_layers,
                                                                 options.layer.norm_first, gen));
  head = add_module("head", std::make_shared<Linear>(d, input.target_vocab, gen));
}

Tensor TransformerSeqDecoder::decode(const Tensor& inputs, const Tensor& memory,
                                     const Tensor& key_padding_mask) const {
  const int64_t len = inputs.size(1);
  HEED_CHECK(len <= kMaxTargetLen || !pos_embedding, "transformer decoder: ", len,
             " output steps, more than its ", kMaxTargetLen, " learned positions");
  Tensor x = inputs;
  if (pos_embedding) x = pos_embedding->forward(x);
  if (sinusoidal) x = sinusoidal->forward(x);
  return decoder->forward(x, memory, causal_mask(len, len), Tensor(), Tensor(), key_padding_mask);
}

Tensor TransformerSeqDecoder::forward(const Tensor& inputs, const Tensor& memory,
                                      const Tensor& key_padding_mask, const EncoderState&) const {
  HEED_CHECK(inputs.dim() == 3 && inputs.size(2) == options_.layer.d_model && memory.dim() == 3 &&
                 memory.size(0) == inputs.size(0),
             "transformer decoder: inputs ", inputs.shape(), " and memory ", memory.shape(),
             " are not [batch, target_len, ", options_.layer.d_model,
             "] and [batch, source_len, memory_size]");
  const Tensor m = memory_proj ? memory_proj->forward(memory) : memory;
  return head->forward(decode(inputs, m, key_padding_mask));
}

// The prefix's inputs so far, each [rows, d_model], and the projected memory.
struct TransformerSeqDecoder::State : DecoderState {
  std::vector<Tensor> inputs;
  Tensor memory, key_padding_mask;
  void reorder(const Tensor& rows) override {
    // Row r takes row rows[r]: the embedding op is exactly that gather.
    for (Tensor& x : inputs) x = ops::embedding(x, rows);
  }
};

std::unique_ptr<DecoderState> TransformerSeqDecoder::start(const Tensor& memory,
                                                           const Tensor& key_padding_mask,
                                                           const EncoderState&) const {
  auto s = std::make_unique<State>();
  s->memory = memory_proj ? memory_proj->forward(memory) : memory;
  s->key_padding_mask = key_padding_mask;
  return s;
}

Tensor TransformerSeqDecoder::step(DecoderState& state, const Tensor& input) const {
  auto& s = dynamic_cast<State&>(state);
  HEED_CHECK(input.dim() == 2 && input.size(0) == s.memory.size(0) &&
                 input.size(1) == options_.layer.d_model,
             "transformer decoder step: input ", input.shape(), " is not [", s.memory.size(0), ", ",
             options_.layer.d_model, "]");
  s.inputs.push_back(input);
  const Tensor out = decode(ops::stack(s.inputs, 1), s.memory, s.key_padding_mask);
  return head->forward(out.select(1, out.size(1) - 1));
}

std::string TransformerSeqDecoder::repr() const {
  return "transformer, d_model=" + std::to_string(options_.layer.d_model) +
         ", num_layers=" + std::to_string(options_.num_layers);
}

}  // namespace heed::nn

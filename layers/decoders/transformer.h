#pragma once
// The decoder "transformer" (Vaswani et al. 2017, section 3.1): the target embeddings plus
// positions ("target_pos_embedding" when learned), through a TransformerDecoder ("decoder":
// num_layers TransformerDecoderLayers, masked self-attention under the causal mask, then
// cross-attention to the encoder's outputs with the padded source steps masked; with norm_first its
// final LayerNorm), then "head", a Linear [target_vocab, d_model]. The encoder's outputs are
// projected to d_model by "memory_proj" (a Linear) when their width differs (a bidirectional LSTM
// encoder's 2 * hidden_size).
//   inputs [batch, target_len, d_model] (the decoder's embedding_size is d_model),
//   memory [batch, source_len, memory_size] -> logits [batch, target_len, target_vocab]
// It needs no encoder state. Step-wise decoding runs the layers over the whole prefix at each
// step (no key-value cache: G2P outputs are ~10 tokens) and keeps the last position's logits.
// Options: the Transformer encoder's (layers/encoders/transformer.h): d_model (64), nhead (4),
// num_layers (2), dim_feedforward (4 d_model), dropout (0.1), activation ("gelu"), norm_first
// (true), attention (the self-attention's mechanism; cross-attention is scaled dot-product with
// its options), positional ("learned": LearnedPositionalEmbedding "target_pos_embedding" of
// kMaxTargetLen positions; "sinusoidal"; "rope" or "alibi" in self-attention; "none").
//
//   {"type": "transformer", "d_model": 128, "nhead": 4, "num_layers": 2}

#include "layers/decoders/decoder.h"
#include "layers/embedding.h"
#include "layers/encoders/transformer.h"
#include "layers/linear.h"
#include "layers/positional.h"
#include "layers/transformer_decoder.h"

namespace heed::nn {

class TransformerSeqDecoder : public Decoder {
 public:
  static constexpr int64_t kMaxTargetLen = 256;  // learned positions: the longest output
  TransformerSeqDecoder(const TransformerSequenceEncoderOptions& options, const DecoderInput& input,
                        Generator& gen);
  static DecoderFactory from_config(const Config& c);
  Tensor forward(const Tensor& inputs, const Tensor& memory, const Tensor& key_padding_mask,
                 const EncoderState& state) const override;
  std::unique_ptr<DecoderState> start(const Tensor& memory, const Tensor& key_padding_mask,
                                      const EncoderState& state) const override;
  Tensor step(DecoderState& state, const Tensor& input) const override;
  std::string repr() const override;

  std::shared_ptr<Linear> memory_proj;                        // memory_size != d_model only
  std::shared_ptr<LearnedPositionalEmbedding> pos_embedding;  // positional "learned"
  std::shared_ptr<SinusoidalPositionalEncoding> sinusoidal;   // positional "sinusoidal"
  std::shared_ptr<TransformerDecoder> decoder;
  std::shared_ptr<Linear> head;

 private:
  struct State;
  // The decoder's output [batch, len, d_model] for inputs [batch, len, d_model] over `memory`
  // (already projected), before the head.
  Tensor decode(const Tensor& inputs, const Tensor& memory, const Tensor& key_padding_mask) const;
  const TransformerSequenceEncoderOptions options_;
};

}  // namespace heed::nn

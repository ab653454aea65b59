#pragma once
// How precisely float32 matrix products are computed: PyTorch's
// torch.set_float32_matmul_precision, with its names.
//
// "highest": every product in float32 (the default).
// "medium":  the recurrent layers' oneDNN primitives (LSTM, GRU, RNN; framework/ops/rnn_dnnl.cpp)
//            compute in bfloat16: inputs, weights and hidden states are rounded to bfloat16
//            (8 bits of mantissa) for the gate GEMMs; the LSTM cell state, the biases, every
//            gradient and the parameters the optimizer updates stay float32. A language model's
//            training step was 1.47x (LSTM 256) to 1.67x (LSTM 512) faster on an AMD EPYC Zen 5
//            with AVX512_BF16 (heed_bench --workload lstm_lm_bf16). Other products stay float32. On
//            a CPU without bfloat16 instructions "medium" runs in float32, as PyTorch does, and
//            says so once on stderr.

#include <string>

namespace heed {

enum class MatmulPrecision { Highest, Medium };

/// Sets the process-wide precision (the trainer sets it from train.float32_matmul_precision).
void set_float32_matmul_precision(MatmulPrecision precision);

/// Whether the recurrent primitives run in bfloat16: "medium" on a CPU with AVX512_BF16.
bool rnn_uses_bfloat16();

/// The precision a recipe names ("highest", "medium"); throws heed::Error naming the valid names.
MatmulPrecision matmul_precision_from_name(const std::string& name);

}  // namespace heed

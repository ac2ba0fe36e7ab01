#pragma once

#include <torch/torch.h>

namespace retort {

/// A weight tensor in symmetric integer form: w ~= codes * scale (per output channel or tensor).
struct QuantizedTensor {
    torch::Tensor codes;     ///< int8 codes in [-(2^(bits-1)-1), 2^(bits-1)-1], the weight's shape
    torch::Tensor scales;    ///< float32: [shape[0]] per channel, [1] per tensor
    int bits = 8;            ///< 8 or 4
    bool perChannel = true;  ///< one scale per output channel (dim 0)

    /// codes * scales, float32, the weight's shape.
    torch::Tensor dequantize() const;
};

/// Symmetric quantization: scale = max|w| / qmax, codes = clamp(round(w / scale)). Zeros stay
/// zero (pruned weights keep their sparsity); the error per element is at most scale / 2.
QuantizedTensor quantizeSymmetric(const torch::Tensor& weight, int bits, bool perChannel);

}  // namespace retort

#pragma once

#include "compress/calibratedpruning.h"

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace retort {

/// A weight tensor in symmetric integer form: w ~= codes * scale, one scale per output channel,
/// per tensor, or per group of @ref groupSize consecutive inputs of each output channel.
struct QuantizedTensor {
    torch::Tensor codes;  ///< int8 codes in [-(2^(bits-1)-1), 2^(bits-1)-1], the weight's shape
    /// float32: [shape[0]] per channel, [1] per tensor, [shape[0], ⌈inputs / groupSize⌉] by group
    torch::Tensor scales;
    int bits = 8;            ///< 8 or 4
    bool perChannel = true;  ///< one scale per output channel (dim 0)
    int64_t groupSize = 0;   ///< > 0: one scale per group of this many inputs of a channel

    /// codes * scales, float32, the weight's shape.
    torch::Tensor dequantize() const;
};

/// Symmetric quantization: scale = max|w| / qmax, codes = clamp(round(w / scale)). Zeros stay
/// zero (pruned weights keep their sparsity); the error per element is at most scale / 2.
QuantizedTensor quantizeSymmetric(const torch::Tensor& weight, int bits, bool perChannel);

/// Group-wise round-to-nearest: the weight viewed as [outputs, inputs] (inputs = all but dim 0)
/// gets one symmetric scale per @p groupSize consecutive inputs of each output.
QuantizedTensor quantizeGroupwise(const torch::Tensor& weight, int bits, int64_t groupSize);

/// Codes times scales with the scales broadcast as @p scales' layout says: [rows], [1] or
/// [rows, groups] of @p groupSize inputs. Used by QuantizedTensor and the compressed file.
torch::Tensor dequantizeCodes(const torch::Tensor& codes, const torch::Tensor& scales,
                              int64_t groupSize);

/// GPTQ (Frantar et al. 2023): group-wise symmetric quantization column by column, each column's
/// rounding error spread over the columns not yet quantized through the Cholesky factor of the
/// damped inverse Hessian H = (2/N) XᵀX of the layer's calibration inputs. A group's scale is
/// taken from the weights as updated when the walk reaches it. Zeros of @p weight (pruning's)
/// stay zero and take no error. @p weight is [outputs, inputs] or a convolution's weight.
QuantizedTensor gptqQuantize(const torch::Tensor& weight, const torch::Tensor& hessian, int bits,
                             int64_t groupSize, const ObsOptions& options = {});

/// Fake quantization for quantization-aware training: the forward value is the weight quantized
/// and dequantized (per channel, or by group when @p groupSize > 0), the gradient passes through
/// unchanged (the straight-through estimator): w + (q(w) − w).detach().
torch::Tensor fakeQuantize(const torch::Tensor& weight, int bits, int64_t groupSize);

/// Quantization-aware training of a network's weights in place: before each forward pass the
/// weights are replaced by their quantized values (the float ones kept aside), after the
/// backward pass the float weights come back and the optimizer applies the gradient taken at
/// the quantized point to them: the straight-through estimator, without touching the modules.
class WeightFakeQuantizer {
public:
    WeightFakeQuantizer(std::vector<std::pair<std::string, torch::Tensor>> weights, int bits,
                        bool perChannel, int64_t groupSize);
    /// Mixed precision: @p bits has one width (8 or 4) per weight.
    WeightFakeQuantizer(std::vector<std::pair<std::string, torch::Tensor>> weights,
                        std::vector<int> bits, bool perChannel, int64_t groupSize);
    /// Keeps the float weights and writes their quantized values (call before the forward).
    void quantize();
    /// Puts the float weights back (call after the backward, before the optimizer step).
    void restore();

private:
    std::vector<std::pair<std::string, torch::Tensor>> m_weights;
    std::vector<torch::Tensor> m_float;
    std::vector<int> m_bits;
    bool m_perChannel;
    int64_t m_groupSize;
};

}  // namespace retort

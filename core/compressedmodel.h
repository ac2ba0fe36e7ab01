#pragma once

#include "experimentspec.h"

#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace retort {

/// A compressed model file that cannot be read: says what is wrong.
class FormatError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// How one tensor is laid out in the file.
enum class SparseIndex : uint8_t {
    None = 0,    ///< every element stored
    Bitmap = 1,  ///< one bit per element, then the nonzero values
    Csr = 2      ///< row pointers and column indices over the [dim0, rest] view, then the values
};

/// One tensor of a compressed model.
struct CompressedTensor {
    std::string name;            ///< state-dict key
    std::vector<int64_t> shape;  ///< dimensions
    int bits = 32;               ///< 32 (fp32 values), 8 or 4 (integer codes with scales)
    torch::Tensor values;        ///< dense: float32 (bits 32) or int8 codes, of @ref shape
    torch::Tensor scales;        ///< float32 scales (quantized only): [shape[0]] or [1]
    SparseIndex index = SparseIndex::None;  ///< chosen when writing: the smallest layout
    int64_t bytes = 0;  ///< bytes this tensor takes in the file (set by write and read)

    /// The float32 tensor it stands for (codes times scales for quantized ones).
    torch::Tensor dequantized() const;
};

/// A whole compressed model: a description of the architecture and its tensors.
struct CompressedModel {
    Json model;                             ///< architecture (zoo options, input shape, classes)
    std::vector<CompressedTensor> tensors;  ///< parameters and buffers
};

/// Serializes @p model, picking per tensor the smallest of dense, bitmap and CSR layouts.
/// Values take their bit width (4-bit codes packed two per byte); scales and indices count.
/// Fills in each tensor's @ref CompressedTensor::index and @ref CompressedTensor::bytes.
std::string writeCompressedModel(CompressedModel& model);

/// What the compressed file of a model will take before it is trained: each Linear/Conv2d
/// weight at @p sparsity (uniform per layer) and @p bits (32: not quantized) in the smallest
/// layout, biases fp32, plus the file's fixed overhead. Exact for dense models; for sparse ones
/// the real file differs only by how unevenly the zeros fall across rows.
int64_t estimateCompressedSize(const std::vector<std::pair<std::vector<int64_t>, bool>>& tensors,
                               double sparsity, int bits, bool perChannel);

/// Parses a file written by writeCompressedModel. Bounds-checks everything and verifies the
/// checksum; throws FormatError on any inconsistency.
CompressedModel readCompressedModel(const std::string& bytes);

}  // namespace retort

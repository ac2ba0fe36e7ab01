#pragma once

#include "spec/experimentspec.h"

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
    Csr = 2,     ///< row pointers and column indices over the [dim0, rest] view, then the values
    NM = 3       ///< n:m: per group of m inputs of a row, n positions (⌈log2 m⌉ bits), n values
};

/// One tensor of a compressed model.
struct CompressedTensor {
    std::string name;            ///< state-dict key
    std::vector<int64_t> shape;  ///< dimensions
    int bits = 32;               ///< 32 (fp32 values), 8 or 4 (integer codes with scales)
    torch::Tensor values;        ///< dense: float32 (bits 32) or int8 codes, of @ref shape
    torch::Tensor scales;        ///< float32 scales (quantized only): [shape[0]], [1] or by group
    int64_t groupSize = 0;       ///< > 0: scales are [shape[0], ⌈inputs / groupSize⌉]
    int nmN = 0, nmM = 0;  ///< > 0: the tensor is n:m sparse; the writer may use SparseIndex::NM
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

/// One tensor of a model as the compressed file will store it.
struct TensorLayout {
    std::string name;            ///< parameter or buffer name
    std::vector<int64_t> shape;  ///< its shape
    bool compressible = false;   ///< pruned and quantized (a weight), else stored fp32
    double sparsity = -1;        ///< ≥ 0: this tensor's own sparsity (per-layer targets)
    int bits = 0;                ///< > 0: this tensor's own bit width (32: fp32)
    int64_t groupSize = 0;       ///< > 0: quantized by groups of this many inputs of a row
    int nmN = 0, nmM = 0;        ///< n:m: stored in the n:m layout (n of every m kept)
};

/// What the compressed file of a model will take, from its description's serialized size and
/// its tensors: each compressible tensor at @p sparsity (uniform) and @p bits (32: not
/// quantized) in the smallest layout, the others fp32, plus the file's header and checksum.
/// Scales as the writer stores them: one per row (per channel), one (per tensor), or one per
/// group of `groupSize` inputs of each row; an n:m tensor whose inputs are a multiple of m in
/// the n:m layout (n values and their positions per group). Exact for a dense fp32 model (a
/// test checks it against the written file); with sparsity or quantization it is an estimate,
/// since the real file depends on where the zeros fall.
int64_t estimateCompressedSize(size_t descriptionBytes, const std::vector<TensorLayout>& tensors,
                               double sparsity, int bits, bool perChannel);

/// Parses a file written by writeCompressedModel. Bounds-checks everything and verifies the
/// checksum; throws FormatError on any inconsistency.
CompressedModel readCompressedModel(const std::string& bytes);

}  // namespace retort

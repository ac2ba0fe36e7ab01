#pragma once

#include "models/modelzoo.h"
#include "spec/experimentspec.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace retort {

/// The model description stored in a compressed file and in results: arch options, input
/// shape and classes.
Json modelDescription(const ZooNet& net);
/// The compressed file's expected size for a zoo model (see estimateCompressedSize: exact for a
/// dense fp32 model). Builds the model to know its tensors' names and shapes.
int64_t expectedCompressedSize(const ModelOptions& model, const DataShape& data, double sparsity,
                               int bits, bool perChannel,
                               const std::map<std::string, double>& layerSparsity = {},
                               const std::map<std::string, int64_t>& layerBits = {});
/// The compressed file's expected size for the student of @p spec, from the real file format:
/// structured pruning (`neurons`, `channels`, `heads`, `ffn`) rebuilds a model whose layers keep
/// 1 − sparsity of their units (not weight sparsity); n:m stores n of every m in its own layout;
/// group-wise quantization stores a scale per group of each row; per-layer targets and widths
/// count. Throws what building the model throws.
int64_t expectedCompressedSize(const ExperimentSpec& spec, const DataShape& data);

/// Builds a zoo network from a model description.
ZooNet buildFromDescription(const Json& description);
/// Reads a compressed model file back into a network with its (dequantized) weights.
ZooNet loadCompressedModel(const std::string& bytes);

}  // namespace retort

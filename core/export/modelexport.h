#pragma once

#include "models/compressedmodel.h"
#include "spec/experimentspec.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace retort {

class ProjectStore;

/// How a trained student is written for use outside Retort.
struct ModelExportOptions {
    /// onnx: an ONNX model (opset 13; image models: Gemm, Conv, Relu, MaxPool, Flatten; text
    /// models: Gather, MatMul, Softmax, Erf, LSTM and the elementwise ops of layer norm and
    /// masking); pt: a PyTorch checkpoint (torch.load) holding the state dict and the layer
    /// list to rebuild the module.
    std::string format = "onnx";
    /// onnx: how quantized weights are stored. false: int8 codes with their scales and a
    /// DequantizeLinear node per weight (the QDQ form; 4-bit codes stored in int8). true: the
    /// same dequantized values as float initializers, for runtimes without weight QDQ (OpenCV 4.6).
    bool onnxFloatWeights = false;
    /// Stored with the model (ONNX metadata_props as JSON strings; the checkpoint's "retort"
    /// entry): run id and name, input normalization, results.
    Json metadata = Json::object();
};

/// The nodes of a model description's graph (ModelGraph::toJson) in evaluation order, each
/// {"name", "type", "inputs"} plus its attributes ("in", "out" for linear and conv2d, "kernel"
/// and "padding" for conv2d) and "params" with their roles: enough to rebuild it in any
/// framework.
Json layerList(const Json& description);

/// Serialized ONNX ModelProto of @p model, validated with the ONNX checker. Input "input"
/// [batch, ...input_shape] float32 (normalized as the metadata says) for image models,
/// "input_ids" [batch, tokens] int64 (right-padded with 0, tokens ≤ input_shape[0]) for text
/// models; output "logits".
/// Throws std::runtime_error when this build has no ONNX support or the checker refuses it.
std::string exportOnnx(const CompressedModel& model, const ModelExportOptions& options);

/// A PyTorch checkpoint (the bytes torch.save writes; torch.load reads them): a dict with
/// "state_dict" (layer-name keys such as "fc1.weight", dequantized float32 tensors; pruned
/// weights are zeros) and "retort" (a JSON string: model description, layers, metadata).
std::string exportCheckpoint(const CompressedModel& model, const ModelExportOptions& options);

/// The SentencePiece model a completed text run's inputs were tokenized with: what goes beside
/// its exported model, whose input is that model's ids ([CLS] = 2 first, cut to max_length,
/// padding 0). nullopt for an image run. Throws std::invalid_argument when the run does not
/// exist, or when its tokenizer is missing from the project.
std::optional<std::string> runTokenizerModel(const ProjectStore& store, int64_t runId);

/// Writes exportRunModel's bytes to @p path and, for a text run, its tokenizer to
/// tokenizerPathBeside(path), each through writeExport (never over the project). Returns the
/// paths written, the model's first.
std::vector<std::string> writeRunModel(const ProjectStore& store, int64_t runId,
                                       const ModelExportOptions& options, const std::string& path);

/// Where the tokenizer of an export to @p modelPath goes: the same path with its extension
/// replaced by ".tokenizer.model" ("student.onnx" -> "student.tokenizer.model").
std::string tokenizerPathBeside(const std::string& modelPath);

/// Whether exportOnnx works in this build (libonnx was found).
bool onnxSupported();

/// Exports the final student of a completed run of @p store (its stored compressed model, so
/// quantized runs export their codes). The metadata gets the run's id, name, input
/// normalization and headline results. Throws std::invalid_argument when the run does not
/// exist or has no model.
std::string exportRunModel(const ProjectStore& store, int64_t runId, ModelExportOptions options);

}  // namespace retort

#pragma once

// What the student and compression stages do with calibration samples (inside core/train only):
// wanda and sparsegpt one-shot pruning, taylor scores for units, GPTQ.

#include "train/pipeline.h"

namespace retort::pipeline {

/// The calibration samples of a run's training split (inputs and labels, on the device).
struct CalibrationSet {
    torch::Tensor x, y;
};
CalibrationSet calibrationSet(const RunContext& ctx, int64_t count);

/// Gives ctx.pruner what its method needs: the calibrated pruning of wanda and sparsegpt, or
/// the calibration gradients of taylor. Nothing for magnitude.
void installPruningHooks(RunContext& ctx);

/// GPTQ of every compressible weight of ctx.student, layer by layer in network order; the
/// weights become their dequantized values and the codes go to ctx.compression.quantized.
void quantizeGptq(RunContext& ctx, const QuantizeOptions& q);

}  // namespace retort::pipeline

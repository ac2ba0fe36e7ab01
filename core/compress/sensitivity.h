#pragma once

// Per-layer sensitivity of a trained model: prune (or quantize) one layer at a time, leave the
// others as they are, and measure validation accuracy. What a researcher reads before choosing
// per-layer targets: layers where the drop stays small take more compression.

#include "models/modelzoo.h"

#include <functional>
#include <string>
#include <vector>

namespace retort {

/// Which levels to try on each layer.
struct SensitivityOptions {
    std::vector<double> sparsities = {0.3, 0.5, 0.7, 0.9};  ///< magnitude pruning of the layer
    std::vector<int> bits = {8, 4};  ///< per-channel round-to-nearest quantization of the layer
};

/// One layer at one level.
struct SensitivityCell {
    std::string layer;    ///< the weight, e.g. "net.fc1.weight"
    std::string level;    ///< "sparsity 0.5" or "int4"
    double accuracy = 0;  ///< validation accuracy with this layer alone compressed
    double drop = 0;      ///< baseline accuracy minus accuracy (points as a fraction)
};

/// A whole sensitivity table.
struct Sensitivity {
    double baseline = 0;                 ///< validation accuracy of the model as it is
    int64_t samples = 0;                 ///< validation samples it was measured on
    std::vector<std::string> layers;     ///< rows, in network order
    std::vector<std::string> levels;     ///< columns: sparsities, then bit widths
    std::vector<SensitivityCell> cells;  ///< layers × levels, row by row

    /// {"baseline", "samples", "layers", "levels", "cells": [{"layer", "level", "accuracy",
    /// "drop"}]}
    Json toJson() const;
    /// Reads toJson's form; throws std::invalid_argument naming what is missing.
    static Sensitivity fromJson(const Json& j);
};

/// Measures @p net's sensitivity on (@p x, @p y), restoring every weight after each cell.
/// @p progress gets (cells done, cells in all); @p cancelled is polled between cells.
Sensitivity layerSensitivity(ZooNet& net, const torch::Tensor& x, const torch::Tensor& y,
                             const SensitivityOptions& options,
                             const std::function<void(int, int)>& progress = {},
                             const std::function<bool()>& cancelled = {});

}  // namespace retort

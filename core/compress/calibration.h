#pragma once

// Layer-by-layer calibration of a feature network (mlp, cnn, lenet5): what SparseGPT, GPTQ and
// Wanda read about each layer's inputs. Text models are not walked yet (their attention and
// recurrent weights need their own input capture); the functions say so.

#include "models/modelzoo.h"

#include <torch/torch.h>

#include <functional>
#include <string>

namespace retort {

/// One compressible layer as the walk reaches it.
struct LayerCalibration {
    std::string name;       ///< the weight's parameter name, e.g. "net.fc1.weight"
    torch::Tensor weight;   ///< the parameter itself (change it in place, under NoGradGuard)
    torch::Tensor hessian;  ///< (2 / N) XᵀX of its inputs, float64 [inputs, inputs]
    int64_t rows = 0;       ///< N: calibration rows (samples, times positions for a convolution)
};

/// Walks @p net's layers in order over @p samples (a batch of the training split): at each
/// Linear and Conv2d it gathers the layer's input statistics, calls @p visit (which may change
/// the weight), then runs the layer, so each layer sees the outputs of those before it as they
/// are after their own compression (SparseGPT's and GPTQ's sequential order). A convolution's
/// inputs are its unfolded patches, matching weight.view({out, -1}). @p cancelled is polled
/// between layers. Throws std::invalid_argument for a text model.
void calibrateLayers(ZooNet& net, const torch::Tensor& samples,
                     const std::function<void(LayerCalibration&)>& visit,
                     const std::function<bool()>& cancelled = {});

/// The indices of the calibration set among @p n training samples: the first @p count of a
/// fixed seeded permutation (all of them, in order, when count is 0 or at least n), so every
/// run of one data split calibrates on the same samples.
torch::Tensor calibrationIndices(int64_t n, int64_t count, uint64_t seed);

}  // namespace retort

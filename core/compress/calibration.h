#pragma once

// Layer-by-layer calibration: what SparseGPT, GPTQ and Wanda read about each layer's inputs, for
// feature networks (mlp, cnn, lenet5) and the text models built of linear layers (transformer,
// embedding_bag). A bilstm's recurrent weights are not walked; the functions say so.

#include "models/modelzoo.h"

#include <torch/torch.h>

#include <functional>
#include <string>

namespace retort {

/// One compressible layer as the walk reaches it.
struct LayerCalibration {
    std::string name;      ///< the weight's parameter name, e.g. "net.fc1.weight"
    torch::Tensor weight;  ///< the parameter itself (change it in place, under NoGradGuard)
    /// (2 / N) XᵀX of its inputs, float64 [inputs, inputs]; undefined for a token embedding
    /// table, whose "inputs" are one-hot ids (compress it by magnitude or round to nearest)
    torch::Tensor hessian;
    int64_t rows = 0;  ///< N: calibration rows (samples; times positions for a convolution,
                       ///< real tokens for a transformer's layers)
};

/// Walks @p net's layers in order over @p samples (a batch of the training split): at each
/// Linear and Conv2d it gathers the layer's input statistics, calls @p visit (which may change
/// the weight), then runs the layer, so each layer sees the outputs of those before it as they
/// are after their own compression (SparseGPT's and GPTQ's sequential order). A convolution's
/// inputs are its unfolded patches, matching weight.view({out, -1}). A transformer's q, k and v
/// share their input (the first norm's output at the real tokens), o reads the heads' context,
/// ff1 the second norm's output, ff2 the GELU's; the token table comes first, without a
/// Hessian. A language model's output layer reads every real token's final state (a tied one
/// adds no layer: its table is the token table). @p cancelled is polled between layers. Returns
/// the logits the walk computed (the network's own, when @p visit changes nothing); for a
/// language model its final token states [B, L, d_model] instead (the logits over the whole
/// vocabulary at every position would be large and nobody reads them). Throws
/// std::invalid_argument for a bilstm.
torch::Tensor calibrateLayers(ZooNet& net, const torch::Tensor& samples,
                              const std::function<void(LayerCalibration&)>& visit,
                              const std::function<bool()>& cancelled = {});

/// The indices of the calibration set among @p n training samples: the first @p count of a
/// fixed seeded permutation (all of them, in order, when count is 0 or at least n), so every
/// run of one data split calibrates on the same samples.
torch::Tensor calibrationIndices(int64_t n, int64_t count, uint64_t seed);

}  // namespace retort

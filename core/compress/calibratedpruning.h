#pragma once

// One-shot pruning of a trained layer from what its inputs look like on a calibration set.
// Every function takes a weight as a matrix [outputs, inputs] (a convolution's weight viewed as
// [out_channels, in_channels * kh * kw], matching the columns of torch::nn::functional::unfold)
// and the layer's input statistics: H = (2 / N) XᵀX over the N calibration rows of X
// [N, inputs] (for a convolution, one row per output position). Wanda needs only its diagonal.

#include <torch/torch.h>

#include <cstdint>

namespace retort {

/// Wanda's score (Sun et al. 2023): |W_ij| · ‖X_j‖₂, the weight's magnitude times the norm of
/// its input feature over the calibration rows. @p inputSquaredNorms holds ‖X_j‖₂² per input j.
torch::Tensor wandaScores(const torch::Tensor& weight, const torch::Tensor& inputSquaredNorms);

/// Keeps, in each output row, the largest scores: exactly round(sparsity · inputs) of each row's
/// smallest go (Wanda compares weights within an output row). true = kept.
torch::Tensor rowwiseMask(const torch::Tensor& scores, double sparsity);

/// N:M: in every group of @p m consecutive inputs of a row, the @p n largest scores are kept
/// (2:4 keeps 2 of every 4). The inputs must be a multiple of m. true = kept.
torch::Tensor nmMask(const torch::Tensor& scores, int64_t n, int64_t m);

/// Options of the Hessian-based layer-wise solvers (SparseGPT, GPTQ).
struct ObsOptions {
    double damp = 0.01;       ///< added to H's diagonal, as a fraction of its mean diagonal
    int64_t blockSize = 128;  ///< columns processed together (the lazy batch update)
};

/// SparseGPT (Frantar & Alistarh 2023): prunes @p weight to @p sparsity (per block of columns,
/// choosing by w² / [H⁻¹]_jj², the OBS saliency) or, when @p n > 0, to n:m, and updates the
/// remaining weights of each row to compensate (the OBS update δ = −w_q / [H⁻¹]_qq · H⁻¹_{q,:}
/// applied column by column through the Cholesky factor of H⁻¹). Inputs that never fire
/// (H_jj = 0) are pruned first. Returns the new weight (float32, pruned entries exactly 0).
torch::Tensor sparseGpt(const torch::Tensor& weight, const torch::Tensor& hessian, double sparsity,
                        int64_t n = 0, int64_t m = 0, const ObsOptions& options = {});

/// The upper Cholesky factor of the damped inverse Hessian that SparseGPT and GPTQ walk:
/// dead inputs get H_jj = 1 (their weights are zeroed by the caller), then
/// H += damp · mean(diag H) · I. Throws std::runtime_error when H is not positive definite
/// even after damping (callers add the layer's name).
torch::Tensor dampedInverseCholesky(torch::Tensor hessian, double damp);

}  // namespace retort

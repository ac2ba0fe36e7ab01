#pragma once

#include "spec/experimentspec.h"

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace retort {

/// Achieved sparsity of one weight tensor.
struct LayerSparsity {
    std::string name;     ///< parameter name, e.g. "net.fc1.weight"
    int64_t numel = 0;    ///< elements
    int64_t nonzero = 0;  ///< elements that are not zero
    double sparsity() const { return numel ? 1.0 - double(nonzero) / double(numel) : 0.0; }
};

/// Zhu & Gupta (2017) automated gradual pruning: s_t = s_f (1 - (1 - progress)^3), with the
/// initial sparsity 0 and progress in [0,1] (clamped).
double agpSparsity(double finalSparsity, double progress);

/// Unstructured magnitude pruning with masks. The pruner decides, for each optimizer step, the
/// target sparsity of its schedule; it re-ranks weights by magnitude when the target changes and
/// re-applies the masks after every optimizer step so that pruned weights stay zero.
class Pruner {
public:
    /// @param weights the tensors to prune (parameters, modified in place under NoGradGuard)
    Pruner(const PruneOptions& options, int64_t endEpoch,
           std::vector<std::pair<std::string, torch::Tensor>> weights, int64_t stepsPerEpoch);

    /// Target sparsity in force for global optimizer step @p step (0-based, before the step).
    double targetSparsity(int64_t step) const;
    /// Called before step @p step: updates the masks when the schedule says so.
    void beforeStep(int64_t step);
    /// Called after every optimizer step: multiplies the weights by their masks.
    void applyMasks();
    /// Restores the state at global step @p step from checkpointed weights: the masks are their
    /// nonzeros, the sparsity in force the schedule's target before that step.
    void restore(int64_t step);
    /// Prunes to @p sparsity now (ranking current magnitudes).
    void pruneTo(double sparsity);

    /// Per tensor: its elements and those its mask keeps.
    std::vector<LayerSparsity> layerSparsity() const;
    /// Zero fraction of the masks over all pruned tensors.
    double overallSparsity() const;
    const std::vector<torch::Tensor>& masks() const { return m_masks; }

private:
    PruneOptions m_options;
    int64_t m_beginStep = 0, m_endStep = 0, m_interval = 1;
    std::vector<std::pair<std::string, torch::Tensor>> m_weights;
    std::vector<torch::Tensor> m_masks;
    double m_current = 0.0;
};

}  // namespace retort

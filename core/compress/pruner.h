#pragma once

#include "spec/experimentspec.h"

#include <torch/torch.h>

#include <functional>
#include <optional>
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

/// Hidden units (or channels) that structured pruning ranks together: the rows of one layer's
/// weight and, for each, the block of inputs of the next layer that reads it.
struct UnitGroup {
    size_t layer = 0;   ///< index of the producing weight among the pruned tensors
    size_t next = 0;    ///< index of the consuming weight (layer + 1)
    int64_t units = 0;  ///< rows of the producing weight
    int64_t block = 1;  ///< inputs of the consuming weight per unit (h·w after a flatten)
};

/// Pruning with masks. For each optimizer step the pruner decides the target sparsity of its
/// schedule; when the target rises it re-ranks (by magnitude, a unit's weight norm or Taylor
/// score, or through a calibrated pruning function for wanda and sparsegpt) and re-applies the
/// masks after every optimizer step so that pruned weights stay zero. Structured pruning masks
/// whole rows of a layer and the matching inputs of the next, so the model can be rebuilt
/// smaller (compress/rebuild.h) with the same outputs.
class Pruner {
public:
    /// @param weights the tensors to prune in network order (parameters, modified in place
    /// under NoGradGuard)
    Pruner(const PruneOptions& options, int64_t endEpoch,
           std::vector<std::pair<std::string, torch::Tensor>> weights, int64_t stepsPerEpoch);

    /// How far the schedule is at global optimizer step @p step (0-based, before the step):
    /// 0 before begin_epoch, 1 once every layer is at its final sparsity.
    double scheduleFraction(int64_t step) const;
    /// The uniform target sparsity in force at step @p step (layers without a per-layer target).
    double targetSparsity(int64_t step) const {
        return scheduleFraction(step) * m_options.finalSparsity();
    }
    /// The sparsity weight @p i (an index into weights()) has at schedule fraction @p fraction.
    double layerTarget(size_t i, double fraction) const;
    /// Called before step @p step: updates the masks when the schedule says so.
    void beforeStep(int64_t step);
    /// Called after every optimizer step: multiplies the weights by their masks.
    void applyMasks();
    /// Restores the state at global step @p step from checkpointed weights: the masks are their
    /// nonzeros, the sparsity in force the schedule's target before that step.
    void restore(int64_t step);
    /// Prunes the layers without a per-layer target to @p sparsity now, and those with one to
    /// the same share of their own final sparsity.
    void pruneTo(double sparsity);
    /// Prunes every layer to its final sparsity.
    void pruneToFinal() { prune(1.0, m_options.finalSparsity()); }
    /// Whether the final sparsities are in force (false when pruning is due after training).
    bool done() const { return m_fraction >= 1.0 - 1e-12; }

    /// The sparsity each layer (by parameter name) is pruned to in one calibrated pass.
    using LayerTargets = std::function<double(const std::string& parameter)>;
    /// wanda and sparsegpt: prunes every layer to its target from calibration activations
    /// (the weights change in place; the masks become their nonzeros).
    void setCalibratedPrune(std::function<void(const LayerTargets& targets)> prune) {
        m_calibrated = std::move(prune);
    }
    /// taylor: fills the weights' .grad() with the loss gradient over the calibration samples.
    void setGradients(std::function<void()> gradients) { m_gradients = std::move(gradients); }

    /// Per tensor: its elements and those its mask keeps.
    std::vector<LayerSparsity> layerSparsity() const;
    /// Zero fraction of the masks over all pruned tensors.
    double overallSparsity() const;
    const std::vector<torch::Tensor>& masks() const { return m_masks; }
    const std::vector<std::pair<std::string, torch::Tensor>>& weights() const { return m_weights; }
    /// Structured: the unit groups, and per group the indices of the units its masks keep.
    const std::vector<UnitGroup>& unitGroups() const { return m_groups; }
    std::vector<torch::Tensor> keptUnits() const;

private:
    /// Prunes at schedule @p fraction: layers without their own target to @p uniform.
    void prune(double fraction, double uniform);
    void pruneUnits(double fraction, double uniform);
    void pruneNM();

    PruneOptions m_options;
    int64_t m_beginStep = 0, m_endStep = 0, m_interval = 1;
    std::vector<std::pair<std::string, torch::Tensor>> m_weights;
    std::vector<torch::Tensor> m_masks;
    std::vector<UnitGroup> m_groups;
    std::vector<std::optional<double>> m_own;  ///< per weight: its per-layer final sparsity
    std::function<void(const LayerTargets&)> m_calibrated;
    std::function<void()> m_gradients;
    double m_fraction = 0.0;  ///< how far the schedule the masks are
};

}  // namespace retort

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

/// One weight's share in a unit group: along its dimension `axis`, laid out as
/// [outer, units, inner], unit u owns every [o, u, i].
struct UnitSlice {
    size_t weight = 0;  ///< the weight's index among the pruned tensors
    int64_t axis =
        0;  ///< 0: the rows the units produce (their bias follows); 1: inputs reading them
    int64_t outer = 1;  ///< blocks outside the units (an LSTM's 4 gates, a bilstm's 2 directions)
    int64_t inner = 1;  ///< entries per unit inside (a head's width, a channel's positions)
};

/// Which width of the architecture a unit group sets when the model is rebuilt.
enum class UnitKind {
    Hidden,    ///< student.hidden[index]: a fully connected layer's units, a bilstm's LSTM units
    Channels,  ///< student.channels[index]: a convolution's output channels
    Heads,     ///< student.layer_heads[index]: a transformer layer's attention heads
    Ffn,       ///< student.layer_ffn[index]: a transformer layer's feed-forward neurons
};

/// Units that structured pruning ranks and removes together (hidden neurons, channels, heads,
/// feed-forward neurons, LSTM units): every weight entry that belongs to one of them, in the
/// layers that produce it and in those that read it.
struct UnitGroup {
    std::string name;  ///< what prune.per_layer calls it: "fc1", "conv2", "layer1.attn", "lstm1"
    UnitKind kind = UnitKind::Hidden;
    size_t index = 0;               ///< which of the architecture's widths of that kind
    int64_t units = 0;              ///< units before pruning
    std::vector<UnitSlice> slices;  ///< producers (axis 0) first, then readers
};

/// @p t (a weight of the slice's shape, contiguous) as [P, outer, units, inner, Q] along the
/// slice's axis: dimension 2 indexes the units.
torch::Tensor unitView(const torch::Tensor& t, const UnitSlice& s, int64_t units);

/// The unit groups of a sequential network (mlp, cnn): each weight of @p dims dimensions (2:
/// fully connected, 4: convolutions) whose rows the next weight reads, as blocks of its inputs.
std::vector<UnitGroup> adjacentUnitGroups(
    const std::vector<std::pair<std::string, torch::Tensor>>& weights, int64_t dims);

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
    /// @param groups structured pruning's unit groups (findUnitGroups in compress/rebuild.h);
    /// empty: those of adjacent layers (adjacentUnitGroups) for neurons and channels
    Pruner(const PruneOptions& options, int64_t endEpoch,
           std::vector<std::pair<std::string, torch::Tensor>> weights, int64_t stepsPerEpoch,
           std::vector<UnitGroup> groups = {});

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
    std::vector<std::optional<double>> m_own;       ///< per weight: its per-layer final sparsity
    std::vector<std::optional<double>> m_groupOwn;  ///< per unit group: its own final sparsity
    std::function<void(const LayerTargets&)> m_calibrated;
    std::function<void()> m_gradients;
    double m_fraction = 0.0;  ///< how far the schedule the masks are
};

}  // namespace retort

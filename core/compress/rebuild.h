#pragma once

#include "compress/pruner.h"
#include "models/modelzoo.h"

namespace retort {

/// What structured pruning removed, per unit group: how many units the layer had and kept.
struct UnitCount {
    std::string layer;  ///< the group's name, e.g. "fc1", "layer1.attn", "lstm1"
    int64_t units = 0;  ///< units before pruning
    int64_t kept = 0;   ///< units the masks keep
};

/// The unit groups that prune.structure @p structure ranks in @p net, over @p weights (its
/// compressibleWeights): neurons of an mlp, cnn or embedding_bag's hidden layers (and a
/// bilstm's LSTM units, both directions of a unit together), channels of a cnn's
/// convolutions, heads (q, k, v rows and o's inputs of each head) and ffn neurons (ff1 rows,
/// ff2 inputs) of a transformer's layers. The output layer's units are the classes: never a
/// group. Throws std::invalid_argument when the model has no units of that kind.
std::vector<UnitGroup> findUnitGroups(
    ZooNetImpl& net, PruneStructure structure,
    const std::vector<std::pair<std::string, torch::Tensor>>& weights);

/// The network without the units that @p pruner's masks removed: its options carry the kept
/// widths (student.hidden, channels, layer_heads, layer_ffn), and every kept entry of the
/// weights, the producers' biases and the readers' inputs is copied, so it gives the masked
/// network's outputs with none of the removed units' parameters. Throws std::invalid_argument
/// when the pruner is not structured.
ZooNet rebuildWithoutPrunedUnits(ZooNet& net, const Pruner& pruner,
                                 std::vector<UnitCount>* counts = nullptr);

}  // namespace retort

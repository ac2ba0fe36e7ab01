#pragma once

#include "compress/pruner.h"
#include "models/modelzoo.h"

namespace retort {

/// What structured pruning removed, per unit group: how many units the layer had and kept.
struct UnitCount {
    std::string layer;  ///< the producing weight, e.g. "net.fc1.weight"
    int64_t units = 0;  ///< rows before pruning
    int64_t kept = 0;   ///< rows the masks keep
};

/// The network without the hidden units (or channels) that @p pruner's masks removed: its
/// options carry the kept widths (student.hidden / student.channels), and every kept row,
/// bias and the next layer's matching inputs are copied, so it gives the masked network's
/// outputs with none of the removed units' parameters. Throws std::invalid_argument when the
/// pruner is not structured or the network is not an mlp or cnn.
ZooNet rebuildWithoutPrunedUnits(ZooNet& net, const Pruner& pruner,
                                 std::vector<UnitCount>* counts = nullptr);

}  // namespace retort

#include "compress/rebuild.h"

#include <map>
#include <stdexcept>

namespace retort {

ZooNet rebuildWithoutPrunedUnits(ZooNet& net, const Pruner& pruner,
                                 std::vector<UnitCount>* counts) {
    torch::NoGradGuard guard;
    const auto& groups = pruner.unitGroups();
    const auto& weights = pruner.weights();
    const ModelOptions& old = net->options();
    if (groups.empty()) throw std::invalid_argument("the pruning is not structured");
    if (old.arch != Arch::Mlp && old.arch != Arch::Cnn)
        throw std::invalid_argument("only mlp and cnn models can be rebuilt smaller");
    const std::vector<torch::Tensor> kept = pruner.keptUnits();
    ModelOptions options = old;
    std::map<size_t, size_t> byLayer, byNext;  // weight index -> group index
    for (size_t g = 0; g < groups.size(); ++g) {
        byLayer[groups[g].layer] = g;
        byNext[groups[g].next] = g;
        // The width this layer sets: the count of same-kind weights before it.
        const int64_t dims = weights[groups[g].layer].second.dim();
        size_t slot = 0;
        for (size_t i = 0; i < groups[g].layer; ++i)
            if (weights[i].second.dim() == dims) ++slot;
        auto& widths = dims == 4 ? options.channels : options.hidden;
        if (slot >= widths.size())
            throw std::invalid_argument("cannot map " + weights[groups[g].layer].first +
                                        " to a width of the architecture");
        widths[slot] = kept[g].numel();
        if (counts)
            counts->push_back({weights[groups[g].layer].first, groups[g].units, kept[g].numel()});
    }
    ZooNet small(options, net->dataShape());
    auto oldParams = net->named_parameters();
    auto newParams = small->named_parameters();
    for (size_t i = 0; i < weights.size(); ++i) {
        const std::string& name = weights[i].first;  // "net.X.weight"
        torch::Tensor w = weights[i].second.detach().cpu();
        torch::Tensor rows;
        if (auto it = byLayer.find(i); it != byLayer.end()) {
            rows = kept[it->second];
            w = w.index_select(0, rows);
        }
        if (auto it = byNext.find(i); it != byNext.end()) {
            const auto& g = groups[it->second];
            const auto shape = w.sizes().vec();
            w = w.reshape({shape[0], g.units, g.block}).index_select(1, kept[it->second]);
            std::vector<int64_t> out = shape;
            out[1] =
                shape.size() == 4 ? kept[it->second].numel() : kept[it->second].numel() * g.block;
            w = w.reshape(out);
        }
        auto* target = newParams.find(name);
        if (!target) throw std::invalid_argument("the rebuilt model has no " + name);
        target->copy_(w.to(target->device()));
        const std::string bias = name.substr(0, name.size() - 6) + "bias";  // "weight" -> "bias"
        if (auto* b = oldParams.find(bias)) {
            torch::Tensor bv = b->detach().cpu();
            if (rows.defined()) bv = bv.index_select(0, rows);
            newParams.find(bias)->copy_(bv);
        }
    }
    small->to(weights.front().second.device());
    small->train(net->is_training());
    return small;
}

}  // namespace retort

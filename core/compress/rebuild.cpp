#include "compress/rebuild.h"

#include <map>
#include <stdexcept>

namespace retort {

namespace {

/// The bias that follows weight @p name's rows: "net.fc1.weight" -> "net.fc1.bias",
/// "net.lstm1.weight_hh_l0_reverse" -> "net.lstm1.bias_hh_l0_reverse".
std::string biasOf(const std::string& name) {
    const size_t at = name.rfind("weight");
    return at == std::string::npos ? std::string()
                                   : name.substr(0, at) + "bias" + name.substr(at + 6);
}

/// @p t with only the units @p kept (of @p units) along the slice's axis.
torch::Tensor keepUnits(const torch::Tensor& t, const UnitSlice& s, int64_t units,
                        const torch::Tensor& kept) {
    auto shape = t.sizes().vec();
    const auto out = unitView(t.contiguous(), s, units).index_select(2, kept.to(t.device()));
    shape[size_t(s.axis)] = s.outer * kept.numel() * s.inner;
    return out.reshape(shape);
}

}  // namespace

std::vector<UnitGroup> findUnitGroups(
    ZooNetImpl& net, PruneStructure structure,
    const std::vector<std::pair<std::string, torch::Tensor>>& weights) {
    const Arch arch = net.options().arch;
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < weights.size(); ++i) index[weights[i].first] = i;
    auto at = [&](const std::string& name) {
        const auto it = index.find(name);
        if (it == index.end())
            throw std::invalid_argument("structured pruning needs the weight " + name +
                                        ", which is not among the compressible weights");
        return it->second;
    };
    const char* what = choiceName(structure);
    std::vector<UnitGroup> groups;
    if (!net.isText()) {
        if (structure != PruneStructure::Neurons && structure != PruneStructure::Channels)
            throw std::invalid_argument(std::string("prune.structure ") + what +
                                        " prunes transformers; a " + choiceName(arch) +
                                        " has neurons or channels");
        groups = adjacentUnitGroups(weights, structure == PruneStructure::Neurons ? 2 : 4);
    } else if (arch == Arch::Transformer &&
               (structure == PruneStructure::Heads || structure == PruneStructure::Ffn)) {
        size_t layer = 0;
        for (const auto& child : net.layers()->named_children()) {
            const auto* block = child.value()->as<TransformerLayerImpl>();
            if (!block) continue;
            const std::string p = "net." + child.key() + ".";
            UnitGroup g;
            g.index = layer++;
            if (structure == PruneStructure::Heads) {
                // Head h: rows h·dh … (h+1)·dh − 1 of q, k and v, and those inputs of o.
                g.name = child.key() + ".attn";
                g.kind = UnitKind::Heads;
                g.units = block->attn->heads();
                const int64_t dh = block->attn->headDim();
                for (const char* w : {"q", "k", "v"})
                    g.slices.push_back({at(p + "attn." + w + ".weight"), 0, 1, dh});
                g.slices.push_back({at(p + "attn.o.weight"), 1, 1, dh});
            } else {
                g.name = child.key() + ".ff1";
                g.kind = UnitKind::Ffn;
                g.units = block->ff1->options.out_features();
                g.slices = {{at(p + "ff1.weight"), 0, 1, 1}, {at(p + "ff2.weight"), 1, 1, 1}};
            }
            groups.push_back(std::move(g));
        }
    } else if (arch == Arch::Bilstm && structure == PruneStructure::Neurons) {
        // Unit j of an LSTM layer: row j of each of the 4 gates in both directions' input and
        // recurrent weights, the recurrent weights' input j, and inputs j and H + j of whatever
        // reads the layer's [forward, backward] output.
        std::vector<std::pair<std::string, int64_t>> lstms;  // name, hidden units
        for (const auto& child : net.layers()->named_children())
            if (const auto* lstm = child.value()->as<torch::nn::LSTMImpl>())
                lstms.emplace_back(child.key(), lstm->options.hidden_size());
        for (size_t l = 0; l < lstms.size(); ++l) {
            const std::string p = "net." + lstms[l].first + ".";
            UnitGroup g;
            g.name = lstms[l].first;
            g.kind = UnitKind::Hidden;
            g.index = l;
            g.units = lstms[l].second;
            for (const char* dir : {"", "_reverse"}) {
                g.slices.push_back({at(p + "weight_ih_l0" + dir), 0, 4, 1});
                g.slices.push_back({at(p + "weight_hh_l0" + dir), 0, 4, 1});
            }
            for (const char* dir : {"", "_reverse"})
                g.slices.push_back({at(p + "weight_hh_l0" + dir), 1, 1, 1});
            if (l + 1 < lstms.size()) {
                for (const char* dir : {"", "_reverse"})
                    g.slices.push_back(
                        {at("net." + lstms[l + 1].first + ".weight_ih_l0" + dir), 1, 2, 1});
            } else {
                g.slices.push_back({at("net.out.weight"), 1, 2, 1});
            }
            groups.push_back(std::move(g));
        }
    } else if (arch == Arch::EmbeddingBag && structure == PruneStructure::Neurons) {
        // The fully connected layers after the pooled embedding, without the table itself.
        std::vector<std::pair<std::string, torch::Tensor>> head;
        for (const auto& w : weights)
            if (w.first.rfind("net.fc", 0) == 0 || w.first == "net.out.weight") head.push_back(w);
        groups = adjacentUnitGroups(head, 2);
        for (auto& g : groups)
            for (auto& sl : g.slices) sl.weight = at(head[sl.weight].first);
    } else {
        throw std::invalid_argument(
            std::string("prune.structure ") + what + " does not apply to a " + choiceName(arch) +
            (arch == Arch::Transformer ? " (its units are heads and ffn)"
             : arch == Arch::Bilstm    ? " (its units are its LSTM units: neurons)"
                                       : " (its units are its hidden neurons)"));
    }
    if (groups.empty())
        throw std::invalid_argument(std::string("prune.structure ") + what +
                                    ": the student has no layer whose units can be removed");
    return groups;
}

ZooNet rebuildWithoutPrunedUnits(ZooNet& net, const Pruner& pruner,
                                 std::vector<UnitCount>* counts) {
    torch::NoGradGuard guard;
    const auto& groups = pruner.unitGroups();
    const auto& weights = pruner.weights();
    if (groups.empty()) throw std::invalid_argument("the pruning is not structured");
    const std::vector<torch::Tensor> kept = pruner.keptUnits();
    ModelOptions options = net->options();
    if (options.arch == Arch::Bilstm && options.hidden.empty())
        options.hidden = {options.embedding};  // the default: one layer of `embedding` units
    if (options.arch == Arch::Transformer) {
        for (int64_t i = 0; i < options.layers; ++i) {
            if (options.layer_heads.size() < size_t(options.layers))
                options.layer_heads.push_back(options.headsOf(size_t(i)));
            if (options.layer_ffn.size() < size_t(options.layers))
                options.layer_ffn.push_back(options.ffnOf(size_t(i)));
        }
    }
    // Per parameter name: the slices that shrink it, with their group.
    std::map<std::string, std::vector<std::pair<const UnitSlice*, size_t>>> cuts;
    for (size_t g = 0; g < groups.size(); ++g) {
        const UnitGroup& group = groups[g];
        auto& widths = group.kind == UnitKind::Channels ? options.channels
                       : group.kind == UnitKind::Heads  ? options.layer_heads
                       : group.kind == UnitKind::Ffn    ? options.layer_ffn
                                                        : options.hidden;
        if (group.index >= widths.size())
            throw std::invalid_argument("cannot map " + group.name +
                                        " to a width of the architecture");
        widths[group.index] = kept[g].numel();
        if (counts) counts->push_back({group.name, group.units, kept[g].numel()});
        for (const auto& sl : group.slices) {
            const std::string& name = weights.at(sl.weight).first;
            cuts[name].emplace_back(&sl, g);
            if (sl.axis == 0) cuts[biasOf(name)].emplace_back(&sl, g);
        }
    }
    // A transformer whose every layer is as wide as the options say needs no per-layer lists.
    if (options.arch == Arch::Transformer) {
        auto uniform = [](std::vector<int64_t>& v, int64_t all) {
            for (int64_t e : v)
                if (e != all) return;
            v.clear();
        };
        uniform(options.layer_heads, options.heads);
        uniform(options.layer_ffn, options.ffn);
    }
    ZooNet small(options, net->dataShape());
    auto newParams = small->named_parameters();
    for (const auto& p : net->named_parameters()) {
        torch::Tensor t = p.value().detach();
        if (auto it = cuts.find(p.key()); it != cuts.end())
            for (const auto& [slice, g] : it->second)
                t = keepUnits(t, *slice, groups[g].units, kept[g]);
        auto* target = newParams.find(p.key());
        if (!target) throw std::invalid_argument("the rebuilt model has no " + p.key());
        if (target->sizes() != t.sizes())
            throw std::invalid_argument("the rebuilt " + p.key() + " has another shape");
        target->copy_(t.to(target->device()));
    }
    auto newBuffers = small->named_buffers();
    for (const auto& b : net->named_buffers())
        if (auto* target = newBuffers.find(b.key()))
            if (target->sizes() == b.value().sizes()) target->copy_(b.value());
    small->to(weights.front().second.device());
    small->train(net->is_training());
    return small;
}

}  // namespace retort

#include "compress/pruner.h"

#include "compress/calibratedpruning.h"
#include "models/modelzoo.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace retort {

double agpSparsity(double finalSparsity, double progress) {
    const double p = std::clamp(progress, 0.0, 1.0);
    return finalSparsity * (1.0 - std::pow(1.0 - p, 3.0));
}

torch::Tensor unitView(const torch::Tensor& t, const UnitSlice& s, int64_t units) {
    int64_t before = 1, after = 1;
    for (int64_t d = 0; d < t.dim(); ++d) {
        if (d < s.axis) before *= t.size(d);
        if (d > s.axis) after *= t.size(d);
    }
    return t.view({before, s.outer, units, s.inner, after});
}

std::vector<UnitGroup> adjacentUnitGroups(
    const std::vector<std::pair<std::string, torch::Tensor>>& weights, int64_t dims) {
    std::vector<UnitGroup> groups;
    size_t slot = 0;  // the width this layer sets: the count of same-kind weights before it
    for (size_t i = 0; i + 1 < weights.size(); ++i) {
        const auto& w = weights[i].second;
        const auto& next = weights[i + 1].second;
        if (w.dim() != dims) continue;
        const size_t index = slot++;
        const int64_t units = w.size(0);
        // The next layer's inputs: channels (a convolution's, kernel positions beyond them) or
        // features (a flattened channel's positions are its block).
        const int64_t inputs = next.dim() > 1 ? next.size(1) : 0;
        if (inputs == 0 || inputs % units != 0) continue;
        UnitGroup g;
        g.name = layerName(weights[i].first);
        g.kind = dims == 4 ? UnitKind::Channels : UnitKind::Hidden;
        g.index = index;
        g.units = units;
        g.slices = {{i, 0, 1, 1}, {i + 1, 1, 1, inputs / units}};
        groups.push_back(std::move(g));
    }
    return groups;
}

namespace {

/// Per unit, every entry of @p t that the producing slice @p s gives it: [units, entries].
torch::Tensor unitRows(const torch::Tensor& t, const UnitSlice& s, int64_t units) {
    return unitView(t.contiguous(), s, units).transpose(0, 2).reshape({units, -1});
}

}  // namespace

Pruner::Pruner(const PruneOptions& options, int64_t endEpoch,
               std::vector<std::pair<std::string, torch::Tensor>> weights, int64_t stepsPerEpoch,
               std::vector<UnitGroup> groups)
    : m_options(options), m_weights(std::move(weights)), m_groups(std::move(groups)) {
    m_beginStep = (options.begin_epoch - 1) * stepsPerEpoch;
    m_endStep = std::max(endEpoch, options.begin_epoch) * stepsPerEpoch;  // exclusive
    m_interval =
        std::max<int64_t>(1, stepsPerEpoch / std::max<int64_t>(1, options.updates_per_epoch));
    for (const auto& w : m_weights) {
        m_masks.push_back(torch::ones_like(w.second, torch::kBool));
        const auto it = options.per_layer.find(layerName(w.first));
        m_own.push_back(it == options.per_layer.end() ? std::nullopt
                                                      : std::optional<double>(it->second));
    }
    // Structured without groups given: each layer whose rows are units (fully connected for
    // neurons, convolutions for channels) and that the next layer reads forms a group.
    if (m_groups.empty() && (options.structure == PruneStructure::Neurons ||
                             options.structure == PruneStructure::Channels))
        m_groups =
            adjacentUnitGroups(m_weights, options.structure == PruneStructure::Neurons ? 2 : 4);
    for (const auto& g : m_groups) {
        if (g.slices.empty() || g.slices.front().axis != 0 || g.units < 1)
            throw std::invalid_argument("unit group " + g.name + " has no producing weight");
        for (const auto& sl : g.slices)
            if (sl.weight >= m_weights.size() ||
                m_weights[sl.weight].second.size(sl.axis) != sl.outer * g.units * sl.inner)
                throw std::invalid_argument("unit group " + g.name +
                                            " does not fit the weights it names");
        const auto it = options.per_layer.find(g.name);
        m_groupOwn.push_back(it == options.per_layer.end() ? std::nullopt
                                                           : std::optional<double>(it->second));
    }
}

double Pruner::scheduleFraction(int64_t step) const {
    if (step < m_beginStep) return 0.0;
    if (m_options.schedule == PruneSchedule::OneShot) return 1.0;
    // Masks change every m_interval steps and at the ramp's last step; in between the target
    // stays at the value of the last update, which is what the masks hold.
    const int64_t last = m_endStep - 1;
    int64_t s = std::min(step, last);
    if (s != last) s = m_beginStep + ((s - m_beginStep) / m_interval) * m_interval;
    const double progress = double(s - m_beginStep + 1) / double(m_endStep - m_beginStep);
    return agpSparsity(1.0, progress);
}

double Pruner::layerTarget(size_t i, double fraction) const {
    return fraction * (m_own.at(i) ? *m_own[i] : m_options.finalSparsity());
}

void Pruner::beforeStep(int64_t step) {
    const double f = scheduleFraction(step);
    if (f > m_fraction + 1e-12) prune(f, targetSparsity(step));
}

void Pruner::pruneTo(double sparsity) {
    const double final = m_options.finalSparsity();
    prune(final > 0 ? std::min(1.0, sparsity / final) : 1.0, sparsity);
}

void Pruner::prune(double fraction, double uniform) {
    torch::NoGradGuard guard;
    if (!m_groups.empty() || removesUnits(m_options.structure)) {
        pruneUnits(fraction, uniform);
        return;
    }
    // Each weight's target: its own share of its per-layer sparsity, else the uniform one.
    auto target = [&](size_t i) { return m_own[i] ? fraction * *m_own[i] : uniform; };
    if (m_calibrated) {
        m_calibrated([&](const std::string& parameter) {
            for (size_t i = 0; i < m_weights.size(); ++i)
                if (m_weights[i].first == parameter) return target(i);
            return uniform;
        });
        for (size_t i = 0; i < m_weights.size(); ++i) m_masks[i] = m_weights[i].second != 0;
        m_fraction = fraction;
        applyMasks();
        return;
    }
    if (m_options.structure == PruneStructure::NM) {
        pruneNM();
        return;
    }
    auto rank = [](const std::vector<torch::Tensor>& tensors, double s) {
        // Exactly round(s * n) of the smallest magnitudes go to zero.
        std::vector<torch::Tensor> flat;
        for (const auto& t : tensors) flat.push_back(t.abs().flatten());
        auto all = torch::cat(flat);
        const int64_t k = std::llround(s * double(all.numel()));
        auto keep = torch::ones({all.numel()},
                                torch::TensorOptions().dtype(torch::kBool).device(all.device()));
        if (k > 0)
            keep.index_fill_(0, std::get<1>(all.topk(k, 0, /*largest=*/false, /*sorted=*/false)),
                             false);
        return keep;
    };
    // Global scope ranks the weights without a target of their own together; a weight with
    // one (and every weight under layer scope) is ranked alone.
    std::vector<size_t> pooled;
    for (size_t i = 0; i < m_weights.size(); ++i) {
        if (m_options.scope == PruneScope::Global && !m_own[i]) {
            pooled.push_back(i);
            continue;
        }
        m_masks[i] = rank({m_weights[i].second}, target(i)).view(m_weights[i].second.sizes());
    }
    if (!pooled.empty()) {
        // Ranked together, weights are compared in units of their own tensor's scale (each
        // divided by its root mean square): a token table and a Linear weight live on scales
        // that differ by their initialisation and training, and raw magnitudes would take
        // nearly everything from the smaller-scaled one (85 % of a language model's token
        // table at 50 % global). Within a tensor the order is the magnitude order.
        std::vector<torch::Tensor> ws;
        for (size_t i : pooled) {
            const auto& w = m_weights[i].second;
            const auto rms = w.square().mean().sqrt().clamp_min(1e-12);
            ws.push_back(w / rms);
        }
        auto keep = rank(ws, uniform);
        int64_t off = 0;
        for (size_t i : pooled) {
            const int64_t n = m_weights[i].second.numel();
            m_masks[i] = keep.slice(0, off, off + n).view(m_weights[i].second.sizes()).clone();
            off += n;
        }
    }
    m_fraction = fraction;
    applyMasks();
}

void Pruner::pruneNM() {
    const int64_t n = m_options.n, m = m_options.m;
    for (size_t i = 0; i < m_weights.size(); ++i) {
        const auto& w = m_weights[i].second;
        const auto w2 = w.reshape({w.size(0), -1});
        // A layer whose inputs are not a multiple of m (a first convolution's 1·3·3) stays dense.
        m_masks[i] = w2.size(1) % m == 0 ? nmMask(w2.abs(), n, m).view(w.sizes())
                                         : torch::ones_like(w, torch::kBool);
    }
    m_fraction = 1.0;
    applyMasks();
}

void Pruner::pruneUnits(double fraction, double uniform) {
    if (m_options.method == PruneMethod::Taylor && m_gradients) m_gradients();
    std::vector<torch::Tensor> scores;
    for (const auto& g : m_groups) {
        // A unit's score reads every entry the unit produces (its rows in each producer).
        std::vector<torch::Tensor> rows;
        bool taylor = m_options.method == PruneMethod::Taylor;
        for (const auto& sl : g.slices)
            if (sl.axis == 0) taylor = taylor && m_weights[sl.weight].second.grad().defined();
        for (const auto& sl : g.slices) {
            if (sl.axis != 0) continue;
            const auto& w = m_weights[sl.weight].second;
            rows.push_back(unitRows(taylor ? w.detach() * w.grad() : w.detach(), sl, g.units));
        }
        const auto all = torch::cat(rows, 1);
        if (m_options.method == PruneMethod::Taylor && !taylor)
            throw std::runtime_error("prune.method taylor: " + g.name +
                                     " has no gradient to score its units with");
        torch::Tensor sc = taylor ? all.sum(1).pow(2) : all.norm(2, 1);
        sc = sc.to(torch::kFloat64).cpu();
        // The ranking below sorts these: a NaN would break its ordering (undefined behaviour).
        if (!torch::isfinite(sc).all().item<bool>())
            throw std::runtime_error("prune: " + g.name + " has unit scores that are not finite");
        // Layers differ in scale: a global ranking compares scores relative to their layer's mean.
        const double mean = sc.mean().item<double>();
        scores.push_back(mean > 0 ? sc / mean : sc);
    }
    // Gradients a frozen weight got only to be scored must not reach a later step's gradient
    // clipping.
    for (auto& [name, w] : m_weights)
        if (!w.requires_grad() && w.grad().defined()) w.mutable_grad() = torch::Tensor();
    // Which units go: each layer keeps at least one. Layer scope, and a layer with a target of
    // its own, drop that layer's share; global scope ranks the other layers' units together.
    std::vector<std::vector<int64_t>> removed(m_groups.size());
    std::vector<std::tuple<double, size_t, int64_t>> pooled;
    int64_t pooledUnits = 0;
    for (size_t gi = 0; gi < m_groups.size(); ++gi) {
        const std::optional<double>& own = m_groupOwn[gi];
        const int64_t units = m_groups[gi].units;
        if (m_options.scope == PruneScope::Global && !own) {
            const auto acc = scores[gi].accessor<double, 1>();
            for (int64_t u = 0; u < units; ++u) pooled.emplace_back(acc[u], gi, u);
            pooledUnits += units;
            continue;
        }
        const double s = own ? fraction * *own : uniform;
        const int64_t k = std::min<int64_t>(units - 1, std::llround(s * double(units)));
        if (k <= 0) continue;
        const auto idx = std::get<1>(scores[gi].topk(k, 0, /*largest=*/false, true));
        for (int64_t j = 0; j < k; ++j) removed[gi].push_back(idx[j].item<int64_t>());
    }
    std::sort(pooled.begin(), pooled.end());
    int64_t k = std::llround(uniform * double(pooledUnits));
    for (const auto& [score, gi, u] : pooled) {
        if (k <= 0) break;
        if (int64_t(removed[gi].size()) + 1 >= m_groups[gi].units) continue;
        removed[gi].push_back(u);
        --k;
    }
    for (auto& m : m_masks) m.fill_(true);
    for (size_t gi = 0; gi < m_groups.size(); ++gi) {
        if (removed[gi].empty()) continue;
        const auto& g = m_groups[gi];
        for (const auto& sl : g.slices) {
            auto& mask = m_masks[sl.weight];
            const auto idx = torch::tensor(removed[gi], torch::kLong).to(mask.device());
            unitView(mask, sl, g.units).index_fill_(2, idx, false);
        }
    }
    m_fraction = fraction;
    applyMasks();
}

std::vector<torch::Tensor> Pruner::keptUnits() const {
    std::vector<torch::Tensor> out;
    for (const auto& g : m_groups)
        out.push_back(unitRows(m_masks[g.slices.front().weight], g.slices.front(), g.units)
                          .any(1)
                          .nonzero()
                          .squeeze(1)
                          .cpu());
    return out;
}

void Pruner::restore(int64_t step) {
    torch::NoGradGuard guard;
    m_fraction = step > 0 ? scheduleFraction(step - 1) : 0.0;
    for (size_t i = 0; i < m_weights.size(); ++i) m_masks[i] = m_weights[i].second != 0;
}

void Pruner::applyMasks() {
    torch::NoGradGuard guard;
    if (m_fraction <= 0.0) return;
    for (size_t i = 0; i < m_weights.size(); ++i) m_weights[i].second.mul_(m_masks[i]);
}

std::vector<LayerSparsity> Pruner::layerSparsity() const {
    std::vector<LayerSparsity> out;
    // From the masks: what pruning removed, whatever later rounding does to the kept weights.
    for (size_t i = 0; i < m_weights.size(); ++i)
        out.push_back({m_weights[i].first, m_weights[i].second.numel(),
                       m_masks[i].count_nonzero().item<int64_t>()});
    return out;
}

double Pruner::overallSparsity() const {
    int64_t n = 0, nz = 0;
    for (const auto& l : layerSparsity()) {
        n += l.numel;
        nz += l.nonzero;
    }
    return n ? 1.0 - double(nz) / double(n) : 0.0;
}

}  // namespace retort

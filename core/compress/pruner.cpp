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

Pruner::Pruner(const PruneOptions& options, int64_t endEpoch,
               std::vector<std::pair<std::string, torch::Tensor>> weights, int64_t stepsPerEpoch)
    : m_options(options), m_weights(std::move(weights)) {
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
    // Structured: each layer whose rows are units (fully connected for neurons, convolutions
    // for channels) and that a later layer reads forms a group with that layer.
    const int64_t dims = options.structure == PruneStructure::Neurons    ? 2
                         : options.structure == PruneStructure::Channels ? 4
                                                                         : 0;
    for (size_t i = 0; dims && i + 1 < m_weights.size(); ++i) {
        const auto& w = m_weights[i].second;
        const auto& next = m_weights[i + 1].second;
        if (w.dim() != dims) continue;
        const int64_t units = w.size(0);
        const int64_t perOut = next.numel() / next.size(0);
        if (perOut % units != 0) continue;
        m_groups.push_back({i, i + 1, units, perOut / units});
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
    if (!m_groups.empty() || m_options.structure == PruneStructure::Neurons ||
        m_options.structure == PruneStructure::Channels) {
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
        std::vector<torch::Tensor> ws;
        for (size_t i : pooled) ws.push_back(m_weights[i].second);
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
        const auto& w = m_weights[g.layer].second;
        torch::Tensor sc;
        if (m_options.method == PruneMethod::Taylor && w.grad().defined())
            sc = (w.detach() * w.grad()).reshape({g.units, -1}).sum(1).pow(2);
        else
            sc = w.detach().reshape({g.units, -1}).norm(2, 1);
        sc = sc.to(torch::kFloat64).cpu();
        // Layers differ in scale: a global ranking compares scores relative to their layer's mean.
        const double mean = sc.mean().item<double>();
        scores.push_back(mean > 0 ? sc / mean : sc);
    }
    // Which units go: each layer keeps at least one. Layer scope, and a layer with a target of
    // its own, drop that layer's share; global scope ranks the other layers' units together.
    std::vector<std::vector<int64_t>> removed(m_groups.size());
    std::vector<std::tuple<double, size_t, int64_t>> pooled;
    int64_t pooledUnits = 0;
    for (size_t gi = 0; gi < m_groups.size(); ++gi) {
        const size_t layer = m_groups[gi].layer;
        const int64_t units = m_groups[gi].units;
        if (m_options.scope == PruneScope::Global && !m_own[layer]) {
            const auto acc = scores[gi].accessor<double, 1>();
            for (int64_t u = 0; u < units; ++u) pooled.emplace_back(acc[u], gi, u);
            pooledUnits += units;
            continue;
        }
        const double s = m_own[layer] ? fraction * *m_own[layer] : uniform;
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
        const auto idx = torch::tensor(removed[gi], torch::kLong).to(m_masks[g.layer].device());
        m_masks[g.layer].reshape({g.units, -1}).index_fill_(0, idx, false);
        auto next = m_masks[g.next].view({m_masks[g.next].size(0), g.units, g.block});
        next.index_fill_(1, idx, false);
    }
    m_fraction = fraction;
    applyMasks();
}

std::vector<torch::Tensor> Pruner::keptUnits() const {
    std::vector<torch::Tensor> out;
    for (const auto& g : m_groups)
        out.push_back(m_masks[g.layer].reshape({g.units, -1}).any(1).nonzero().squeeze(1).cpu());
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

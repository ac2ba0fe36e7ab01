#include "compress/pruner.h"

#include "compress/calibratedpruning.h"

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
    for (const auto& w : m_weights) m_masks.push_back(torch::ones_like(w.second, torch::kBool));
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

double Pruner::targetSparsity(int64_t step) const {
    if (step < m_beginStep) return 0.0;
    if (m_options.schedule == PruneSchedule::OneShot) return m_options.finalSparsity();
    // Masks change every m_interval steps and at the ramp's last step; in between the target
    // stays at the value of the last update, which is what the masks hold.
    const int64_t last = m_endStep - 1;
    int64_t s = std::min(step, last);
    if (s != last) s = m_beginStep + ((s - m_beginStep) / m_interval) * m_interval;
    const double progress = double(s - m_beginStep + 1) / double(m_endStep - m_beginStep);
    return agpSparsity(m_options.sparsity, progress);
}

void Pruner::beforeStep(int64_t step) {
    const double target = targetSparsity(step);
    if (target > m_current + 1e-12) pruneTo(target);
}

void Pruner::pruneTo(double sparsity) {
    torch::NoGradGuard guard;
    if (!m_groups.empty() || m_options.structure == PruneStructure::Neurons ||
        m_options.structure == PruneStructure::Channels) {
        pruneUnits(sparsity);
        return;
    }
    if (m_calibrated) {
        m_calibrated(sparsity);
        for (size_t i = 0; i < m_weights.size(); ++i) m_masks[i] = m_weights[i].second != 0;
        m_current = sparsity;
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
    if (m_options.scope == PruneScope::Global) {
        std::vector<torch::Tensor> ws;
        for (const auto& w : m_weights) ws.push_back(w.second);
        auto keep = rank(ws, sparsity);
        int64_t off = 0;
        for (size_t i = 0; i < m_weights.size(); ++i) {
            const int64_t n = m_weights[i].second.numel();
            m_masks[i] = keep.slice(0, off, off + n).view(m_weights[i].second.sizes()).clone();
            off += n;
        }
    } else {
        for (size_t i = 0; i < m_weights.size(); ++i)
            m_masks[i] = rank({m_weights[i].second}, sparsity).view(m_weights[i].second.sizes());
    }
    m_current = sparsity;
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
    m_current = m_options.finalSparsity();
    applyMasks();
}

void Pruner::pruneUnits(double sparsity) {
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
    // Which units go: each layer keeps at least one.
    std::vector<std::vector<int64_t>> removed(m_groups.size());
    if (m_options.scope == PruneScope::Layer) {
        for (size_t gi = 0; gi < m_groups.size(); ++gi) {
            const int64_t units = m_groups[gi].units;
            const int64_t k = std::min<int64_t>(units - 1, std::llround(sparsity * double(units)));
            if (k <= 0) continue;
            const auto idx = std::get<1>(scores[gi].topk(k, 0, /*largest=*/false, true));
            for (int64_t j = 0; j < k; ++j) removed[gi].push_back(idx[j].item<int64_t>());
        }
    } else {
        std::vector<std::tuple<double, size_t, int64_t>> all;
        int64_t total = 0;
        for (size_t gi = 0; gi < m_groups.size(); ++gi) {
            const auto acc = scores[gi].accessor<double, 1>();
            for (int64_t u = 0; u < m_groups[gi].units; ++u) all.emplace_back(acc[u], gi, u);
            total += m_groups[gi].units;
        }
        std::sort(all.begin(), all.end());
        int64_t k = std::llround(sparsity * double(total));
        for (const auto& [score, gi, u] : all) {
            if (k <= 0) break;
            if (int64_t(removed[gi].size()) + 1 >= m_groups[gi].units) continue;
            removed[gi].push_back(u);
            --k;
        }
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
    m_current = sparsity;
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
    m_current = step > 0 ? targetSparsity(step - 1) : 0.0;
    for (size_t i = 0; i < m_weights.size(); ++i) m_masks[i] = m_weights[i].second != 0;
}

void Pruner::applyMasks() {
    torch::NoGradGuard guard;
    if (m_current <= 0.0) return;
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

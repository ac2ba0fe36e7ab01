#include "compress/pruner.h"

#include <algorithm>
#include <cmath>

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
}

double Pruner::targetSparsity(int64_t step) const {
    if (step < m_beginStep) return 0.0;
    if (m_options.schedule == PruneSchedule::OneShot) return m_options.sparsity;
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

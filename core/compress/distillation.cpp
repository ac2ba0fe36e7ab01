#include "compress/distillation.h"

#include <algorithm>
#include <cmath>

namespace retort {

DistillLoss hintonLoss(const torch::Tensor& studentLogits, const torch::Tensor& teacherLogits,
                       const torch::Tensor& labels, double temperature, double lambda) {
    DistillLoss l;
    l.hard = torch::nn::functional::cross_entropy(studentLogits, labels);
    if (!teacherLogits.defined() || lambda == 0.0) {
        l.soft = torch::zeros({}, studentLogits.options());
        l.total = l.hard;
        return l;
    }
    const double t = temperature;
    auto logPs = torch::log_softmax(studentLogits / t, 1);
    auto logPt = torch::log_softmax(teacherLogits / t, 1);
    // KL(p_t || p_s) = sum p_t (log p_t - log p_s), averaged over the batch, scaled by T^2 so the
    // soft gradients keep their magnitude as T grows.
    l.soft = (logPt.exp() * (logPt - logPs)).sum(1).mean() * (t * t);
    l.total = lambda * l.soft + (1.0 - lambda) * l.hard;
    return l;
}

namespace {

/// Where a masked tail is empty: exp() of it is 0 while sums and gradients stay finite (-inf
/// would turn 0 · (−inf − −inf) into NaN).
constexpr double kNoMass = -1e30;

/// log Σ exp over the entries of @p logProbs [N, V] not in @p index [N, k].
torch::Tensor logTailOf(const torch::Tensor& logProbs, const torch::Tensor& index) {
    const auto inTop = torch::zeros_like(logProbs, logProbs.options().dtype(torch::kBool))
                           .scatter_(1, index.to(torch::kInt64), true);
    return torch::logsumexp(logProbs.masked_fill(inTop, kNoMass), 1);
}

/// Σ a (log a − log b) over the k columns and the tail: KL(a ‖ b) of collapsed distributions.
torch::Tensor collapsedKl(const torch::Tensor& logA, const torch::Tensor& logATail,
                          const torch::Tensor& logB, const torch::Tensor& logBTail) {
    return (logA.exp() * (logA - logB)).sum(1) + logATail.exp() * (logATail - logBTail);
}

}  // namespace

TopKTargets TopKTargets::select(const torch::Tensor& rows, const torch::Device& device) const {
    const auto r = rows.to(logProbs.device());
    return {logProbs.index_select(0, r).to(device), index.index_select(0, r).to(device),
            logTail.index_select(0, r).to(device)};
}

TopKTargets topKTargets(const torch::Tensor& teacherLogits, double temperature, int64_t k) {
    torch::NoGradGuard guard;
    const auto logQ = torch::log_softmax(teacherLogits.to(torch::kFloat32) / temperature, 1);
    auto top = logQ.topk(std::min<int64_t>(k, logQ.size(1)), 1);
    const auto idx = std::get<1>(top);
    return {std::get<0>(top), idx.to(torch::kInt32), logTailOf(logQ, idx)};
}

namespace {

/// log(1 − exp(x)) for x ≤ 0 (Mächler's log1mexp), with x held at most −1e−7: the student's
/// tail mass from the log of its top-k mass, never quite 0 where rounding made the k sum to 1.
torch::Tensor log1mexp(const torch::Tensor& x) {
    const auto y = x.clamp_max(-1e-7);
    return torch::where(y.gt(-std::log(2.0)), torch::log(-torch::expm1(y)),
                        torch::log1p(-torch::exp(y)));
}

/// The collapsed divergence from the student's log-probabilities @p logP [N, V].
torch::Tensor collapsedFromLogProbs(const torch::Tensor& logP, const TopKTargets& teacher,
                                    Divergence divergence) {
    const auto idx = teacher.index.to(torch::kInt64);
    const auto& logQk = teacher.logProbs;
    const auto logPk = logP.gather(1, idx);
    if (idx.size(1) >= logP.size(1)) {
        // k covers the vocabulary: no tail, the full divergence.
        auto kl = [](const torch::Tensor& a, const torch::Tensor& b) {
            return (a.exp() * (a - b)).sum(1);
        };
        if (divergence == Divergence::ForwardKl) return kl(logQk, logPk);
        if (divergence == Divergence::ReverseKl) return kl(logPk, logQk);
        const auto logMk = torch::logaddexp(logQk, logPk) - std::log(2.0);
        return 0.5 * kl(logQk, logMk) + 0.5 * kl(logPk, logMk);
    }
    // The rest of the vocabulary: 1 − the k tokens' probability, from k numbers, not V.
    const auto logPTail = log1mexp(torch::logsumexp(logPk, 1));
    const auto& logQTail = teacher.logTail;
    switch (divergence) {
        case Divergence::ReverseKl:
            return collapsedKl(logPk, logPTail, logQk, logQTail);
        case Divergence::Jsd: {
            const double ln2 = std::log(2.0);
            const auto logMk = torch::logaddexp(logQk, logPk) - ln2,
                       logMTail = torch::logaddexp(logQTail, logPTail) - ln2;
            return 0.5 * collapsedKl(logQk, logQTail, logMk, logMTail) +
                   0.5 * collapsedKl(logPk, logPTail, logMk, logMTail);
        }
        case Divergence::ForwardKl:
        default:
            return collapsedKl(logQk, logQTail, logPk, logPTail);
    }
}

}  // namespace

torch::Tensor collapsedDivergence(const torch::Tensor& studentLogits, const TopKTargets& teacher,
                                  double temperature, Divergence divergence) {
    return collapsedFromLogProbs(torch::log_softmax(studentLogits / temperature, 1), teacher,
                                 divergence);
}

DistillLoss tokenDistillLoss(const torch::Tensor& studentLogits, const TopKTargets* teacher,
                             const torch::Tensor& targets, double temperature, double lambda,
                             Divergence divergence) {
    DistillLoss l;
    // One log-softmax over the vocabulary serves the cross-entropy and, at T = 1, the soft loss.
    const auto logP = torch::log_softmax(studentLogits, 1);
    l.hard = torch::nn::functional::nll_loss(logP, targets);
    if (!teacher || lambda == 0.0) {
        l.soft = torch::zeros({}, studentLogits.options());
        l.total = l.hard;
        return l;
    }
    const double t = temperature;
    const auto logPT = t == 1.0 ? logP : torch::log_softmax(studentLogits / t, 1);
    l.soft = collapsedFromLogProbs(logPT, *teacher, divergence).mean() * (t * t);
    l.total = lambda * l.soft + (1.0 - lambda) * l.hard;
    return l;
}

}  // namespace retort

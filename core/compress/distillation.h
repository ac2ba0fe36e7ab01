#pragma once

#include "spec/specchoices.h"

#include <torch/torch.h>

namespace retort {

/// The three parts of the distillation objective for one batch.
struct DistillLoss {
    torch::Tensor total;  ///< lambda * soft + (1 - lambda) * hard
    torch::Tensor soft;   ///< T^2 * KL(softmax(t/T) || softmax(s/T)), batch mean
    torch::Tensor hard;   ///< cross-entropy with the labels, batch mean
};

/// Hinton et al. (2015) knowledge distillation. @p teacherLogits must not require grad and must
/// not be inference tensors (compute them under NoGradGuard). Undefined teacher logits or
/// lambda = 0 give the label-only loss (soft is then 0).
DistillLoss hintonLoss(const torch::Tensor& studentLogits, const torch::Tensor& teacherLogits,
                       const torch::Tensor& labels, double temperature, double lambda);

/// A teacher's next-token distributions at temperature T, each kept as its k most likely tokens
/// and one bucket for the rest of the vocabulary (what a cache of a language model's teacher
/// holds: k + 1 numbers per position instead of the vocabulary).
struct TopKTargets {
    torch::Tensor logProbs;  ///< [N, k] the teacher's log-probabilities of its top-k tokens
    torch::Tensor index;     ///< [N, k] those tokens' ids (int32 to halve the cache)
    torch::Tensor logTail;   ///< [N] the log of the probability of every other token together
    /// Rows @p rows (int64, [M]) of each tensor, on @p device.
    TopKTargets select(const torch::Tensor& rows, const torch::Device& device) const;
};

/// The top-k targets of @p teacherLogits [N, V] at temperature @p temperature.
TopKTargets topKTargets(const torch::Tensor& teacherLogits, double temperature, int64_t k);

/// Per row, the divergence between the teacher's distribution (@p teacher) and the student's
/// (softmax(studentLogits / T), [N, V]), both collapsed onto the teacher's k tokens plus one
/// bucket for the rest: forward KL(q ‖ p), reverse KL(p ‖ q) or JS(q, p) with the mean
/// m = (q + p) / 2. Collapsing never raises a divergence (the log-sum inequality): the bucket
/// matches the two tails' masses, not their shapes, and with k = V it is the full divergence.
torch::Tensor collapsedDivergence(const torch::Tensor& studentLogits, const TopKTargets& teacher,
                                  double temperature, Divergence divergence);

/// Token-level distillation of a language model over the positions that have a next token:
/// @p studentLogits [M, V], @p targets [M] (the next tokens), @p teacher its top-k targets for
/// the same rows (null: next-token cross-entropy only). soft = T² · mean collapsedDivergence;
/// total = λ · soft + (1 − λ) · hard.
DistillLoss tokenDistillLoss(const torch::Tensor& studentLogits, const TopKTargets* teacher,
                             const torch::Tensor& targets, double temperature, double lambda,
                             Divergence divergence);

}  // namespace retort

#pragma once

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

}  // namespace retort

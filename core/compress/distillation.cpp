#include "compress/distillation.h"

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

}  // namespace retort

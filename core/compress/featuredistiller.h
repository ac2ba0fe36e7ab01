#pragma once

// Intermediate-layer distillation between two Transformers (TinyBERT, Jiao et al. 2020): each
// student layer's hidden states, projected to the teacher's width by a learned linear map, are
// pulled towards its teacher layer's by MSE, and its attention maps towards the teacher layer's
// by KL divergence, both over the real tokens only. The projections train with the student and
// are dropped with the distiller: they are no part of the student model.

#include "models/modelzoo.h"
#include "spec/experimentspec.h"

#include <torch/torch.h>

#include <vector>

namespace retort {

/// For each of @p studentLayers layers, the 0-based teacher layer it learns from: uniform maps
/// student layer i (1-based) to teacher layer round(i·T/S).
std::vector<int64_t> uniformLayerMap(int64_t studentLayers, int64_t teacherLayers);

/// Mean over real tokens and width of (student − teacher)²; @p real [B, L] bool.
torch::Tensor hiddenMse(const torch::Tensor& student, const torch::Tensor& teacher,
                        const torch::Tensor& real);

/// KL(teacher ‖ student) of attention rows [B, H, L, L], summed over keys and averaged over
/// heads and real query tokens; keys the teacher gives no weight (padding) add nothing.
torch::Tensor attentionKl(const torch::Tensor& student, const torch::Tensor& teacher,
                          const torch::Tensor& real);

/// The feature losses of a batch and the projections they train.
class FeatureDistillerImpl : public torch::nn::Module {
public:
    /// @p teacher is frozen; both networks must be transformers (std::invalid_argument else,
    /// naming what differs).
    FeatureDistillerImpl(const FeatureOptions& options, ZooNet teacher,
                         const ModelOptions& student);

    struct Terms {
        torch::Tensor hidden;     ///< mean hidden-state MSE over the mapped layers
        torch::Tensor attention;  ///< mean attention KL over the mapped layers
        torch::Tensor total;      ///< hidden·w_h + attention·w_a
    };
    /// Runs the frozen teacher on @p ids and compares its features with @p student's.
    Terms loss(const TextFeatures& student, const torch::Tensor& ids);

private:
    FeatureOptions m_options;
    ZooNet m_teacher;
    std::vector<int64_t> m_map;
    std::vector<torch::nn::Linear> m_proj;  // empty when the widths are equal
};
TORCH_MODULE(FeatureDistiller);

/// DistilBERT's initialization: the student's embeddings, final norm and head from the
/// teacher's, each student layer from its uniformly mapped teacher layer. Throws
/// std::invalid_argument naming a tensor whose shape differs.
void initFromTeacherLayers(ZooNetImpl& student, ZooNetImpl& teacher);

}  // namespace retort

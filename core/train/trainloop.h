#pragma once

// The training loop the teacher and student stages share (inside core/train only).

#include "compress/featuredistiller.h"
#include "compress/quantizer.h"
#include "spec/experimentspec.h"
#include "train/pipeline.h"

#include <string>
#include <vector>

namespace retort::pipeline {

/// One epoch's mean losses and its training time.
struct EpochStats {
    double loss = 0, soft = 0, hard = 0, seconds = 0;
    double hidden = 0, attention = 0;  ///< feature terms (distill.features)
    int64_t samples = 0;
};

/// How many batches of a shuffled text epoch are sorted by length together (bucketing).
constexpr int64_t kBucketBatches = 50;

/// The batches of one epoch, as index tensors on the data's device: a shuffle of the training
/// set; for text, bucketed by length within windows of kBucketBatches batches, the batches then
/// shuffled.
std::vector<torch::Tensor> batchOrder(const Dataset& d, int64_t batchSize, at::Generator& gen);

/// One pass over the training set in the order @p orderSeed gives (with @p features, the
/// feature losses join the loss and train its projections, which @p opt must hold). Teacher logits
/// (optional) are indexed with the same batch indices as the samples. Next-token data
/// (language_model): the loss is over every position with a target, distilled from
/// @p tokenTeacher's top-k rows when it is given (tokenDistillLoss). Reports batches as @p stage,
/// checks the cancel flag before every batch, and throws when the loss stops being finite.
EpochStats trainEpoch(ZooNet& net, torch::optim::Optimizer& opt, const Dataset& d,
                      const torch::Tensor& teacherLogits, const TrainOptions& train,
                      const DistillOptions& distill, Pruner* pruner, FeatureDistillerImpl* features,
                      uint64_t orderSeed, int64_t epoch, int64_t& step, int64_t runId,
                      const std::string& stage, const StageServices& services,
                      WeightFakeQuantizer* qat = nullptr,
                      const TeacherTokenTargets* tokenTeacher = nullptr);

}  // namespace retort::pipeline

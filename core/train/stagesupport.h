#pragma once

// What the runner's training stages share (inside core/train only): the optimizer and its
// schedule, batched evaluation, a TorchScript teacher's input, freezing, latency.

#include "data/dataset.h"
#include "models/modelzoo.h"
#include "spec/experimentspec.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <memory>

namespace retort::stagesupport {

using Clock = std::chrono::steady_clock;
using Forward = std::function<torch::Tensor(const torch::Tensor&)>;

double secondsSince(Clock::time_point t0);

/// Logits of @p fwd over @p x in batches, under NoGradGuard (not InferenceMode: these tensors
/// become KL targets in autograd graphs, which refuses inference tensors).
torch::Tensor batchedLogits(const Forward& fwd, const torch::Tensor& x,
                            int64_t batch = kInferenceBatch);

/// Accuracy and macro-F1 of one split (NaN for an empty one). For next-token data (y [n, tokens],
/// language_model): accuracy is next-token accuracy over every position with a target, macro-F1
/// is NaN, and perplexity is exp of the mean next-token cross-entropy over those positions.
struct ClassScores {
    double accuracy = std::nan("");
    double macro_f1 = std::nan("");
    double perplexity = std::nan("");  ///< language_model only
    int64_t tokens = 0;                ///< language_model: positions scored
};

/// Next-token scores of @p fwd on token ids @p x and their next tokens @p y ([n, tokens], 0: no
/// target), computed batch by batch (a split's logits over the vocabulary would not fit).
ClassScores nextTokenScores(const Forward& fwd, const torch::Tensor& x, const torch::Tensor& y,
                            int64_t batch = 64);

/// How far @p student's predictions are from @p teacher's on (x, y): the mean KL(teacher ‖
/// student) of their softmax outputs at temperature 1, in nats, per sample (next-token data: per
/// position with a target). What distillation moves; NaN for an empty split.
double teacherDivergence(const Forward& student, const Forward& teacher, const torch::Tensor& x,
                         const torch::Tensor& y, int64_t batch = 64);

/// Top-1 accuracy of @p fwd on (x, y); NaN for an empty split. Next-token data: next-token
/// accuracy.
double accuracy(const Forward& fwd, const torch::Tensor& x, const torch::Tensor& y);

/// Macro-averaged F1 of @p predicted against @p y over the classes either holds (sklearn's
/// f1_score(average="macro") on those labels); NaN for an empty split.
double macroF1(const torch::Tensor& predicted, const torch::Tensor& y, int64_t classes);

ClassScores scores(const Forward& fwd, const torch::Tensor& x, const torch::Tensor& y,
                   int64_t classes);

/// The optimizer train.optimizer names, over @p params (what the stage trains).
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const TrainOptions& t,
                                                       std::vector<torch::Tensor> params);

/// The learning rate of a 1-based epoch under train.lr_schedule.
double epochLr(const TrainOptions& t, int64_t epoch);

/// What a TorchScript teacher is fed, from Retort's normalized features: those (`normalized`),
/// the raw features undone from the training split's statistics (`raw`), or the raw features
/// normalized as the teacher expects (`explicit` mean and std, per channel or for all).
Forward teacherInput(const TeacherOptions& o, const Dataset& d);

/// Evaluation mode and no gradients, for a frozen teacher.
void freeze(torch::nn::Module& m);

/// The one test sample latency is timed on: the first, or for text the sample whose length is
/// nearest the training mean, without its padding ([1, ...]).
torch::Tensor latencySample(const Dataset& d);

/// Median of 100 batch-1 forward passes after 10 warm-up passes, on the run's device.
double latencyMs(ZooNet& net, const torch::Tensor& one, const torch::Device& device);
/// The same for any CPU forward function (the int8 form).
double latencyMs(const Forward& forward, const torch::Tensor& one);

}  // namespace retort::stagesupport

#include "train/trainloop.h"

#include "compress/distillation.h"
#include "compress/pruner.h"
#include "compress/quantizer.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace retort::pipeline {

using namespace stagesupport;

std::vector<torch::Tensor> batchOrder(const Dataset& d, int64_t bs, at::Generator& gen) {
    const int64_t n = d.train_x.size(0);
    const auto dev = d.train_x.device();
    auto order = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64));
    std::vector<torch::Tensor> out;
    if (d.shape.vocab == 0) {
        order = order.to(dev);
        for (int64_t i = 0; i < n; i += bs) out.push_back(order.slice(0, i, std::min(i + bs, n)));
        return out;
    }
    // Text: within each window of kBucketBatches batches of the shuffled order, samples are
    // sorted by length, so a batch pads to little more than its own samples; the batches are
    // then shuffled, so lengths do not come in order.
    const auto lengths = d.train_x.ne(0).sum(1).to(torch::kCPU).index_select(0, order);
    const int64_t window = bs * kBucketBatches;
    for (int64_t w = 0; w < n; w += window) {
        const int64_t end = std::min(w + window, n);
        const auto sorted =
            std::get<1>(lengths.slice(0, w, end).sort(c10::optional<bool>(true), 0, false));
        const auto part = order.slice(0, w, end).index_select(0, sorted);
        for (int64_t i = 0; i < end - w; i += bs)
            out.push_back(part.slice(0, i, std::min(i + bs, end - w)));
    }
    const auto shuffled = torch::randperm(int64_t(out.size()), gen, torch::kInt64);
    const auto pick = shuffled.accessor<int64_t, 1>();
    std::vector<torch::Tensor> batches;
    batches.reserve(out.size());
    for (int64_t i = 0; i < pick.size(0); ++i) batches.push_back(out[size_t(pick[i])].to(dev));
    return batches;
}

torch::Tensor teacherTokenRows(const TeacherTokenTargets& targets, const torch::Tensor& idx,
                               const torch::Tensor& mask) {
    // Sample i's target positions are 0 .. its last: rows offsets[i] + position.
    return (targets.offsets.index_select(0, idx.cpu()).unsqueeze(1) +
            torch::arange(mask.size(1), torch::kInt64).unsqueeze(0))
        .index({mask.cpu()});
}

EpochStats trainEpoch(ZooNet& net, torch::optim::Optimizer& opt, const Dataset& d,
                      const torch::Tensor& teacherLogits, const TrainOptions& train,
                      const DistillOptions& distill, Pruner* pruner, FeatureDistillerImpl* features,
                      uint64_t orderSeed, int64_t epoch, int64_t& step, int64_t runId,
                      const std::string& stage, const StageServices& services,
                      WeightFakeQuantizer* qat, const TeacherTokenTargets* tokenTeacher) {
    // Head-only training reads a frozen encoder: in eval mode, as it will be used (no dropout
    // noise in the features the head learns from; the head itself has no dropout).
    if (train.finetune == Finetune::Head)
        net->eval();
    else
        net->train();
    const int64_t n = d.train_x.size(0);
    const int64_t bs = std::min(train.batch_size, n);
    const int64_t batches = (n + bs - 1) / bs;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(orderSeed);
    const std::vector<torch::Tensor> batchIdx = batchOrder(d, bs, gen);
    const auto t0 = Clock::now();
    torch::Tensor sumLoss = torch::zeros({}, d.train_x.options().dtype(torch::kFloat32)),
                  sumSoft = sumLoss.clone(), sumHard = sumLoss.clone(), sumHidden = sumLoss.clone(),
                  sumAttention = sumLoss.clone();
    // What each batch's mean loss is weighed by: its samples, or a language model's predicted
    // tokens (a length-bucketed batch of short texts holds fewer), so that a language model's
    // epoch loss is the token NLL. A tensor, so no batch waits for the device to count.
    torch::Tensor sumUnits = sumLoss.clone();
    EpochStats s;
    for (int64_t b = 0; b < batches; ++b) {
        services.checkCancel(stage + " epoch " + std::to_string(epoch) + ", batch " +
                             std::to_string(b + 1));
        const auto& idx = batchIdx[size_t(b)];
        auto x = trimPadding(d.train_x.index_select(0, idx));
        auto y = d.train_y.index_select(0, idx);
        const bool nextToken = y.dim() == 2;  // language_model: y holds each position's next id
        if (nextToken) y = y.slice(1, 0, x.size(1));
        torch::Tensor tl =
            teacherLogits.defined() ? teacherLogits.index_select(0, idx) : torch::Tensor();
        if (pruner) pruner->beforeStep(step);
        if (qat) qat->quantize();  // the forward and backward see the quantized weights
        opt.zero_grad();
        TextFeatures studentFeatures;
        auto logits = features ? net->forwardText(x, &studentFeatures) : net->forward(x);
        const torch::Tensor mask = nextToken ? y.ne(0) : torch::Tensor();
        const torch::Tensor units = nextToken
                                        ? mask.sum().to(sumLoss.scalar_type())
                                        : torch::full({}, double(idx.size(0)), sumLoss.options());
        DistillLoss l;
        if (nextToken) {
            std::optional<TopKTargets> t;
            if (tokenTeacher)
                t = tokenTeacher->topk.select(teacherTokenRows(*tokenTeacher, idx, mask),
                                              logits.device());
            l = tokenDistillLoss(logits.index({mask}), t ? &*t : nullptr, y.index({mask}),
                                 distill.temperature, t ? distill.lambda : 0.0, distill.divergence);
        } else {
            l = hintonLoss(logits, tl, y, distill.temperature, tl.defined() ? distill.lambda : 0.0);
        }
        if (features) {
            const FeatureDistillerImpl::Terms f = features->loss(studentFeatures, x);
            l.total = l.total + f.total;
            sumHidden += f.hidden.detach() * units;
            sumAttention += f.attention.detach() * units;
        }
        l.total.backward();
        if (train.grad_clip > 0) {
            std::vector<torch::Tensor> params = net->parameters();
            if (features)
                for (const auto& p : features->parameters()) params.push_back(p);
            torch::nn::utils::clip_grad_norm_(params, train.grad_clip);
        }
        if (qat) qat->restore();  // the step updates the float weights (straight through)
        opt.step();
        if (pruner) pruner->applyMasks();
        ++step;
        sumLoss += l.total.detach() * units;
        sumSoft += l.soft.detach() * units;
        sumHard += l.hard.detach() * units;
        sumUnits += units;
        s.samples += idx.size(0);
        if (services.progress && (b % 20 == 19 || b + 1 == batches)) {
            const double mean = sumLoss.item<double>() / sumUnits.item<double>();
            if (!std::isfinite(mean))
                throw std::runtime_error("diverged: the training loss is not finite at " + stage +
                                         " epoch " + std::to_string(epoch) + ", batch " +
                                         std::to_string(b + 1));
            Progress p;
            p.kind = Progress::Kind::Batch;
            p.run_id = runId;
            p.stage = stage;
            p.epoch = epoch;
            p.epochs = train.epochs;
            p.batch = b + 1;
            p.batches = batches;
            p.loss = mean;
            p.elapsed_s = secondsSince(t0);
            // What is left of this epoch and of the epochs after it (before: this epoch only, so
            // the status bar read "0 s left" at the end of every epoch).
            p.eta_s = p.elapsed_s / double(b + 1) *
                      double(batches - b - 1 + batches * (train.epochs - epoch));
            services.report(p);
        }
    }
    s.seconds = secondsSince(t0);
    const double total = std::max(sumUnits.item<double>(), 1.0);
    s.loss = sumLoss.item<double>() / total;
    s.soft = sumSoft.item<double>() / total;
    s.hard = sumHard.item<double>() / total;
    s.hidden = sumHidden.item<double>() / total;
    s.attention = sumAttention.item<double>() / total;
    if (!std::isfinite(s.loss))
        throw std::runtime_error("diverged: the training loss is not finite at " + stage +
                                 " epoch " + std::to_string(epoch));
    return s;
}

}  // namespace retort::pipeline

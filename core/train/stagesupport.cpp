#include "train/stagesupport.h"

#include <torch/cuda.h>

#include <algorithm>
#include <cmath>

namespace retort::stagesupport {

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Logits of @p fwd over @p x in batches, under NoGradGuard (not InferenceMode: these tensors
/// become KL targets in autograd graphs, which refuses inference tensors).
torch::Tensor batchedLogits(const Forward& fwd, const torch::Tensor& x, int64_t batch) {
    torch::NoGradGuard guard;
    // Token ids go in order of length, so each batch is padded to little more than its
    // samples (in stored order a batch of 1024 almost always holds one of the longest); the
    // logits are put back in the samples' order.
    const bool text = x.defined() && x.dim() == 2 && !x.is_floating_point() && x.size(0) > 1;
    torch::Tensor order;
    if (text) order = std::get<1>(x.ne(0).sum(1).sort(c10::optional<bool>(true), 0, false));
    const torch::Tensor in = text ? x.index_select(0, order) : x;
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < in.size(0); i += batch)
        parts.push_back(fwd(trimPadding(in.slice(0, i, std::min(i + batch, in.size(0))))));
    if (parts.empty()) return torch::Tensor();
    torch::Tensor logits = torch::cat(parts);
    if (!text) return logits;
    return torch::empty_like(logits).index_copy_(0, order.to(logits.device()), logits);
}

ClassScores nextTokenScores(const Forward& fwd, const torch::Tensor& x, const torch::Tensor& y,
                            int64_t batch) {
    torch::NoGradGuard guard;
    ClassScores s;
    if (!x.defined() || x.size(0) == 0) return s;
    double nll = 0;
    int64_t right = 0, tokens = 0;
    for (int64_t i = 0; i < x.size(0); i += batch) {
        const auto xb = trimPadding(x.slice(0, i, std::min(i + batch, x.size(0))));
        const auto yb = y.slice(0, i, i + xb.size(0)).slice(1, 0, xb.size(1));
        const auto mask = yb.ne(0);
        const auto logits = fwd(xb).index({mask});  // [positions with a target, vocab]
        const auto targets = yb.index({mask});
        if (targets.numel() == 0) continue;
        nll += torch::nn::functional::cross_entropy(
                   logits.to(torch::kFloat32), targets,
                   torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                   .item<double>();
        right += logits.argmax(1).eq(targets).sum().item<int64_t>();
        tokens += targets.numel();
    }
    if (tokens == 0) return s;
    s.accuracy = double(right) / double(tokens);
    s.perplexity = std::exp(nll / double(tokens));
    s.tokens = tokens;
    return s;
}

double teacherDivergence(const Forward& student, const Forward& teacher, const torch::Tensor& x,
                         const torch::Tensor& y, int64_t batch) {
    torch::NoGradGuard guard;
    if (!x.defined() || x.size(0) == 0) return std::nan("");
    double sum = 0;
    int64_t count = 0;
    for (int64_t i = 0; i < x.size(0); i += batch) {
        auto xb = x.slice(0, i, std::min(i + batch, x.size(0)));
        torch::Tensor mask;
        if (y.dim() == 2) {
            xb = trimPadding(xb);
            mask = y.slice(0, i, i + xb.size(0)).slice(1, 0, xb.size(1)).ne(0);
        }
        auto s = student(xb).to(torch::kFloat64), t = teacher(xb).to(torch::kFloat64);
        if (mask.defined()) {
            s = s.index({mask});
            t = t.index({mask});
        }
        if (s.size(0) == 0) continue;
        // A metric of two models' outputs (no layer of either): their softmax distributions.
        const auto logQ = torch::log_softmax(t, 1), logP = torch::log_softmax(s, 1);
        sum += (logQ.exp() * (logQ - logP)).sum().item<double>();
        count += s.size(0);
    }
    return count > 0 ? sum / double(count) : std::nan("");
}

double accuracy(const Forward& fwd, const torch::Tensor& x, const torch::Tensor& y) {
    if (!x.defined() || x.size(0) == 0) return std::nan("");
    if (y.dim() == 2) return nextTokenScores(fwd, x, y).accuracy;
    auto logits = batchedLogits(fwd, x);
    return logits.argmax(1).eq(y).to(torch::kFloat64).mean().item<double>();
}

double macroF1(const torch::Tensor& predicted, const torch::Tensor& y, int64_t classes) {
    if (!y.defined() || y.size(0) == 0 || classes < 1) return std::nan("");
    const auto p = predicted.to(torch::kCPU, torch::kInt64), t = y.to(torch::kCPU, torch::kInt64);
    const auto ones = torch::ones({t.size(0)}, torch::kFloat64);
    auto count = [&](const torch::Tensor& ids, const torch::Tensor& w) {
        return torch::zeros({classes}, torch::kFloat64).index_add_(0, ids, w);
    };
    const auto tp = count(t, p.eq(t).to(torch::kFloat64)), predictedN = count(p, ones),
               actualN = count(t, ones);
    // Over the classes that occur in the labels or the predictions (sklearn's convention: a
    // class in neither is no class of this split).
    const auto present = (predictedN + actualN).gt(0);
    const auto f1 = (2 * tp / (predictedN + actualN).clamp_min(1)).masked_select(present);
    return f1.numel() ? f1.mean().item<double>() : std::nan("");
}

ClassScores scores(const Forward& fwd, const torch::Tensor& x, const torch::Tensor& y,
                   int64_t classes) {
    ClassScores s;
    if (!x.defined() || x.size(0) == 0) return s;
    if (y.dim() == 2) return nextTokenScores(fwd, x, y);
    const auto predicted = batchedLogits(fwd, x).argmax(1);
    s.accuracy = predicted.eq(y).to(torch::kFloat64).mean().item<double>();
    s.macro_f1 = macroF1(predicted, y, classes);
    return s;
}

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const TrainOptions& t,
                                                       std::vector<torch::Tensor> params) {
    if (t.optimizer == OptimizerKind::Sgd)
        return std::make_unique<torch::optim::SGD>(
            params,
            torch::optim::SGDOptions(t.lr).momentum(t.momentum).weight_decay(t.weight_decay));
    if (t.optimizer == OptimizerKind::AdamW)
        return std::make_unique<torch::optim::AdamW>(
            params, torch::optim::AdamWOptions(t.lr).weight_decay(t.weight_decay));
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(t.lr).weight_decay(t.weight_decay));
}

double epochLr(const TrainOptions& t, int64_t epoch) {
    if (t.lr_schedule == LrSchedule::Cosine)
        return t.lr * 0.5 * (1.0 + std::cos(M_PI * double(epoch - 1) / double(t.epochs)));
    return t.lr;
}

/// What a TorchScript teacher is fed, from Retort's normalized features: those (`normalized`),
/// the raw features undone from the training split's statistics (`raw`), or the raw features
/// normalized as the teacher expects (`explicit` mean and std, per channel or for all).
Forward teacherInput(const TeacherOptions& o, const Dataset& d) {
    if (o.input == TeacherInput::Normalized) return [](const torch::Tensor& x) { return x; };
    const auto opts = d.train_x.options();
    const std::vector<int64_t>& shape = d.shape.sample_shape;
    // The training split's statistics as a tensor that broadcasts over [batch, ...shape].
    auto stat = [&](const Json& v) {
        if (v.is_number()) return torch::full({}, v.get<double>(), opts);
        std::vector<int64_t> full{1};
        full.insert(full.end(), shape.begin(), shape.end());
        return torch::tensor(v.get<std::vector<double>>(), opts.dtype(torch::kFloat64))
            .to(opts)
            .reshape(full);
    };
    torch::Tensor mean = torch::zeros({}, opts), std = torch::ones({}, opts);
    if (d.normalization.contains("mean")) {
        mean = stat(d.normalization["mean"]);
        std = stat(d.normalization["std"]);
    }
    if (o.input == TeacherInput::Raw)
        return [mean, std](const torch::Tensor& x) { return x * std + mean; };
    // explicit: per channel (dim 1) when a list, else one value for all features.
    auto channel = [&](const std::vector<double>& v) {
        torch::Tensor t = torch::tensor(v, opts.dtype(torch::kFloat64)).to(opts);
        if (v.size() == 1) return t.reshape({});
        std::vector<int64_t> s(shape.size() + 1, 1);
        s[1] = int64_t(v.size());
        return t.reshape(s);
    };
    const torch::Tensor m = channel(o.input_mean), sd = channel(o.input_std);
    return [mean, std, m, sd](const torch::Tensor& x) { return (x * std + mean - m) / sd; };
}

void freeze(torch::nn::Module& m) {
    m.eval();
    for (auto& p : m.parameters()) p.set_requires_grad(false);
}

/// Median of 100 batch-1 forward passes after 10 warm-up passes, on the run's device.
namespace {

/// Median milliseconds of 100 calls after 10 warm-up ones; @p sync waits for the device.
double timedMedian(const std::function<void()>& call, const std::function<void()>& sync) {
    torch::NoGradGuard guard;
    for (int i = 0; i < 10; ++i) call();
    sync();
    std::vector<double> ms;
    for (int i = 0; i < 100; ++i) {
        const auto t0 = Clock::now();
        call();
        sync();
        ms.push_back(secondsSince(t0) * 1e3);
    }
    std::nth_element(ms.begin(), ms.begin() + 50, ms.end());
    return ms[50];
}

}  // namespace

torch::Tensor latencySample(const Dataset& d) {
    int64_t one = 0;
    if (d.shape.vocab > 0 && d.test_x.size(0) > 0) {
        const auto lengths = d.test_x.ne(0).sum(1).to(torch::kFloat64);
        one = (lengths - d.shape.mean_tokens).abs().argmin().item<int64_t>();
    }
    return trimPadding(d.test_x.slice(0, one, one + 1));
}

double latencyMs(ZooNet& net, const torch::Tensor& one, const torch::Device& device) {
    net->eval();
    return timedMedian([&] { net->forward(one); },
                       [&] {
                           if (device.is_cuda()) torch::cuda::synchronize(device.index());
                       });
}

double latencyMs(const Forward& forward, const torch::Tensor& one) {
    return timedMedian([&] { forward(one); }, [] {});
}

}  // namespace retort::stagesupport

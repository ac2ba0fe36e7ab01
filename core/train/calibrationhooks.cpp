#include "train/calibrationhooks.h"

#include "compress/calibratedpruning.h"
#include "compress/calibration.h"
#include "compress/pruner.h"
#include "compress/quantizer.h"

namespace retort::pipeline {

CalibrationSet calibrationSet(const RunContext& ctx, int64_t count) {
    const Dataset& d = *ctx.data;
    // Seeded by the data's seed: the same samples for every student seed of one split.
    const auto idx = calibrationIndices(d.train_x.size(0), count,
                                        static_cast<uint64_t>(ctx.spec.data.seed) * 7919ULL + 17ULL)
                         .to(d.train_x.device());
    return {d.train_x.index_select(0, idx), d.train_y.index_select(0, idx)};
}

void installPruningHooks(RunContext& ctx) {
    if (!ctx.pruner || !ctx.spec.prune) return;
    const PruneOptions p = *ctx.spec.prune;
    if (p.method == PruneMethod::Wanda || p.method == PruneMethod::SparseGpt) {
        ctx.pruner->setCalibratedPrune([&ctx, p](const Pruner::LayerTargets& targets) {
            const CalibrationSet cal = calibrationSet(ctx, p.calibration_samples);
            const bool nm = p.structure == PruneStructure::NM;
            calibrateLayers(ctx.student, cal.x, [&](LayerCalibration& layer) {
                auto w = layer.weight;
                const auto w2 = w.detach().reshape({w.size(0), -1});
                // A layer whose inputs are not a multiple of m stays dense under n:m.
                if (nm && w2.size(1) % p.m != 0) return;
                const double sparsity = targets(layer.name);
                if (!nm && sparsity <= 0) return;  // a layer a per-layer target keeps dense
                try {
                    if (!layer.hessian.defined()) {
                        // A token table: no input activations to weigh by, so by magnitude.
                        const auto keep =
                            nm ? nmMask(w2.abs(), p.n, p.m) : rowwiseMask(w2.abs(), sparsity);
                        w.mul_(keep.view(w.sizes()).to(w.dtype()));
                    } else if (p.method == PruneMethod::Wanda) {
                        const auto norms = layer.hessian.diagonal() * (double(layer.rows) / 2.0);
                        const auto scores = wandaScores(w2, norms);
                        const auto keep =
                            nm ? nmMask(scores, p.n, p.m) : rowwiseMask(scores, sparsity);
                        w.mul_(keep.view(w.sizes()).to(w.dtype()));
                    } else {
                        const auto pruned =
                            sparseGpt(w2, layer.hessian, sparsity, nm ? p.n : 0, nm ? p.m : 0);
                        w.copy_(pruned.view(w.sizes()).to(w.device()));
                    }
                } catch (const std::exception& e) {
                    throw std::runtime_error(layer.name + ": " + e.what());
                }
            });
        });
    } else if (p.method == PruneMethod::Taylor) {
        ctx.pruner->setGradients([&ctx, p] {
            torch::AutoGradMode grad(true);
            const CalibrationSet cal = calibrationSet(ctx, p.calibration_samples);
            ZooNet& net = ctx.student;
            // Scores are the loss's first-order change: in eval mode (no dropout noise), and
            // with a gradient for every weight scored, frozen ones (head-only, BitFit) too,
            // else they would fall back to magnitudes without a word.
            const bool wasTraining = net->is_training();
            net->eval();
            std::vector<torch::Tensor> frozen;
            for (const auto& [name, w] : ctx.pruner->weights())
                if (!w.requires_grad()) {
                    frozen.push_back(w);  // the same tensor: its flag is the weight's
                    frozen.back().set_requires_grad(true);
                }
            struct Restore {
                ZooNet& net;
                bool training;
                std::vector<torch::Tensor>& frozen;
                ~Restore() {
                    // Their gradients stay for the scores; the pruner drops them after use.
                    for (auto& w : frozen) w.set_requires_grad(false);
                    net->train(training);
                }
            } restore{net, wasTraining, frozen};
            net->zero_grad();
            const int64_t n = cal.x.size(0);
            for (int64_t i = 0; i < n; i += 128) {
                const auto x = cal.x.slice(0, i, i + 128), y = cal.y.slice(0, i, i + 128);
                const auto loss =
                    torch::nn::functional::cross_entropy(
                        net->forward(x), y,
                        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
                    double(n);
                loss.backward();
            }
        });
    }
}

void quantizeGptq(RunContext& ctx, const QuantizeOptions& q) {
    const CalibrationSet cal = calibrationSet(ctx, q.calibration_samples);
    calibrateLayers(ctx.student, cal.x, [&](LayerCalibration& layer) {
        const int bits = static_cast<int>(q.bitsFor(layerName(layer.name)));
        if (bits == 32) return;  // kept fp32 by quantize.per_layer
        try {
            // A token table has no input activations: round to nearest, as ptq would.
            QuantizedTensor qt = layer.hessian.defined()
                                     ? gptqQuantize(layer.weight, layer.hessian, bits, q.group_size)
                                 : q.group_size > 0
                                     ? quantizeGroupwise(layer.weight, bits, q.group_size)
                                     : quantizeSymmetric(layer.weight, bits, true);
            layer.weight.copy_(qt.dequantize().to(layer.weight.device()));
            ctx.compression.quantized.emplace(layer.name, std::move(qt));
        } catch (const std::exception& e) {
            throw std::runtime_error(layer.name + ": " + e.what());
        }
    });
}

}  // namespace retort::pipeline

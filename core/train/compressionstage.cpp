#include "train/stages.h"

#include "compress/pruner.h"
#include "compress/quantizer.h"
#include "compress/rebuild.h"
#include "models/modelgraph.h"
#include "train/calibrationhooks.h"

namespace retort::pipeline {

using namespace stagesupport;

void CompressionStage::run(RunContext& ctx, StageServices& services) {
    services.message(ctx.runId, "evaluate", "evaluating, compressing and timing the student");
    ctx.trainedAt = Clock::now();  // what wall_seconds adds to the epochs' time
    const ExperimentSpec& spec = ctx.spec;
    const Dataset& d = *ctx.data;
    ZooNet& student = ctx.student;
    Compression& c = ctx.compression;
    student->eval();
    // Pruning due after training (one_shot at train.epochs + 1: no fine-tuning after it).
    if (ctx.pruner && !ctx.pruner->done()) {
        services.message(ctx.runId, "evaluate", "pruning the trained student");
        ctx.pruner->pruneToFinal();
    }
    // Structured pruning: time the masked model at its full width (the dense form), then rebuild
    // it without the removed units; everything after this sees the smaller model.
    const bool structured = ctx.pruner && !ctx.pruner->unitGroups().empty();
    if (structured) {
        for (const auto& p : student->parameters()) c.denseParamCount += p.numel();
        c.denseLatencyMs = latencyMs(student, latencySample(d), ctx.device);
        try {
            student = rebuildWithoutPrunedUnits(student, *ctx.pruner, &c.units);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(std::string("structured pruning: ") + e.what());
        }
        student->eval();
        std::string kept;
        for (const auto& u : c.units)
            kept += (kept.empty() ? "" : ", ") + u.layer + " " + std::to_string(u.kept) + "/" +
                    std::to_string(u.units);
        services.message(ctx.runId, "evaluate", "rebuilt without the pruned units: " + kept);
    }
    auto studentFwd = [&](const torch::Tensor& x) { return student->forward(x); };
    // The trained model before quantization: both splits, so that validation and test figures
    // always describe the same model. Without quantization it is the model the evaluation
    // scores next, which fills these (two passes over both splits fewer: a language model's
    // evaluation was most of a short run).
    if (spec.quantize) {
        c.testAccuracyFp32 = accuracy(studentFwd, d.test_x, d.test_y);
        c.valAccuracyFp32 = accuracy(studentFwd, d.val_x, d.val_y);
    }

    // Pruning's figures come from its masks, before quantization can add zeros of its own.
    if (ctx.pruner && !structured) {
        for (const auto& l : ctx.pruner->layerSparsity())
            c.layers.push_back({l.name, l.numel, l.nonzero});
    } else {
        for (const auto& [name, w] : compressibleWeights(*student))
            c.layers.push_back({name, w.numel(), w.numel()});
    }
    for (const auto& l : c.layers) {
        c.prunable += l.numel;
        c.prunableNonzero += l.nonzero;
    }

    // Weight quantization (zeros stay zero): GPTQ layer by layer from calibration activations,
    // else round to nearest per channel, tensor or group (after QAT too: its weights were
    // trained to sit well on this grid).
    if (spec.quantize) {
        torch::NoGradGuard guard;
        const QuantizeOptions& q = *spec.quantize;
        if (q.mode == QuantMode::Gptq) {
            services.message(ctx.runId, "evaluate", "GPTQ from calibration activations");
            quantizeGptq(ctx, q);
        } else {
            for (auto& [name, w] : compressibleWeights(*student)) {
                const int bits = static_cast<int>(q.bitsFor(layerName(name)));
                if (bits == 32) continue;  // kept fp32 by quantize.per_layer
                QuantizedTensor qt =
                    q.group_size > 0
                        ? quantizeGroupwise(w, bits, q.group_size)
                        : quantizeSymmetric(w, bits, q.granularity == QuantGranularity::PerChannel);
                w.copy_(qt.dequantize().to(w.device()));
                c.quantized.emplace(name, std::move(qt));
            }
        }
    }
}

}  // namespace retort::pipeline

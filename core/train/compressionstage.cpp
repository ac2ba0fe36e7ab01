#include "train/stages.h"

#include "compress/pruner.h"
#include "compress/quantizer.h"
#include "models/modelgraph.h"

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
    auto studentFwd = [&](const torch::Tensor& x) { return student->forward(x); };
    // The trained model before quantization: both splits, so that validation and test figures
    // always describe the same model.
    c.testAccuracyFp32 = accuracy(studentFwd, d.test_x, d.test_y);
    c.valAccuracyFp32 = accuracy(studentFwd, d.val_x, d.val_y);

    // Pruning's figures come from its masks, before quantization can add zeros of its own.
    if (ctx.pruner) {
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

    // Post-training quantization of the compressible weights (zeros stay zero).
    if (spec.quantize) {
        torch::NoGradGuard guard;
        for (auto& [name, w] : compressibleWeights(*student)) {
            QuantizedTensor q =
                quantizeSymmetric(w, static_cast<int>(spec.quantize->bits),
                                  spec.quantize->granularity == QuantGranularity::PerChannel);
            w.copy_(q.dequantize().to(w.device()));
            c.quantized.emplace(name, std::move(q));
        }
    }
}

}  // namespace retort::pipeline

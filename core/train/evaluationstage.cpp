#include "train/stages.h"

#include "models/modelgraph.h"

namespace retort::pipeline {

using namespace stagesupport;

namespace {

/// A few test samples spread over the test split, with their label and the student's (and the
/// teacher's) prediction by name: what the run's detail view shows of a text run.
Json sampleTable(const Dataset& d, const Forward& student, const Teacher* teacher) {
    constexpr int64_t kSamples = 8;
    const int64_t n = d.test_x.size(0);
    Json out = Json::array();
    if (n == 0 || d.test_texts.size() != size_t(n)) return out;
    std::vector<int64_t> picked;
    for (int64_t i = 0; i < std::min(n, kSamples); ++i)
        picked.push_back(i * n / std::min(n, kSamples));
    const auto idx = torch::tensor(picked, torch::kInt64).to(d.test_x.device());
    const auto x = d.test_x.index_select(0, idx);
    const auto ps = batchedLogits(student, x).argmax(1).to(torch::kCPU);
    torch::Tensor pt;
    if (teacher && teacher->forward)
        pt = batchedLogits(teacher->forward, x).argmax(1).to(torch::kCPU);
    const auto y = d.test_y.index_select(0, idx).to(torch::kCPU);
    auto name = [&](int64_t c) {
        return c >= 0 && size_t(c) < d.label_names.size() ? d.label_names[size_t(c)]
                                                          : std::to_string(c);
    };
    for (size_t i = 0; i < picked.size(); ++i) {
        Json row = {{"text", d.test_texts[size_t(picked[i])]},
                    {"label", name(y[int64_t(i)].item<int64_t>())},
                    {"student", name(ps[int64_t(i)].item<int64_t>())}};
        if (pt.defined()) row["teacher"] = name(pt[int64_t(i)].item<int64_t>());
        out.push_back(row);
    }
    return out;
}

}  // namespace

void EvaluationStage::run(RunContext& ctx, StageServices& services) {
    const ExperimentSpec& spec = ctx.spec;
    const Dataset& d = *ctx.data;
    ZooNet& student = ctx.student;
    const Compression& c = ctx.compression;
    Json& results = ctx.results;
    auto studentFwd = [&](const torch::Tensor& x) { return student->forward(x); };
    const ClassScores test = scores(studentFwd, d.test_x, d.test_y, d.shape.classes);
    const ClassScores val = scores(studentFwd, d.val_x, d.val_y, d.shape.classes);
    const double testAcc = test.accuracy, valAcc = val.accuracy;
    // Weights that pruning kept but quantization rounded to zero: a figure of its own.
    int64_t quantZeros = 0;
    if (spec.quantize) {
        int64_t zerosAfter = 0;
        for (const auto& [name, w] : compressibleWeights(*student))
            zerosAfter += w.numel() - w.count_nonzero().item<int64_t>();
        quantZeros = zerosAfter - (c.prunable - c.prunableNonzero);
    }
    int64_t params = 0;
    for (const auto& p : student->parameters()) params += p.numel();

    // Times over every epoch of the run, those before a resume included (per-epoch figures are
    // stored with each epoch).
    double trainSeconds = 0;
    for (const auto& mp : services.store.metrics(ctx.runId))
        if (mp.name == "epoch_seconds") trainSeconds += mp.value;
    const double samples = double(d.train_x.size(0)) * double(spec.train.epochs);

    const ModelSummary& sum = student->summary();
    results["test_accuracy_fp32"] = c.testAccuracyFp32;
    results["val_accuracy_fp32"] =
        std::isfinite(c.valAccuracyFp32) ? Json(c.valAccuracyFp32) : Json();
    results["test_accuracy"] = testAcc;
    results["val_accuracy"] = std::isfinite(valAcc) ? Json(valAcc) : Json();
    results["param_count"] = params;
    results["nonzero_params"] = params - (c.prunable - c.prunableNonzero);
    results["quantization_zero_params"] = quantZeros;
    results["sparsity"] = c.prunable ? 1.0 - double(c.prunableNonzero) / double(c.prunable) : 0.0;
    results["size_bytes"] = sum.size_bytes;
    results["flops"] = sum.flops;
    results["test_macro_f1"] = std::isfinite(test.macro_f1) ? Json(test.macro_f1) : Json();
    results["val_macro_f1"] = std::isfinite(val.macro_f1) ? Json(val.macro_f1) : Json();
    // One sample: for text, the test sample whose length is nearest the training mean.
    int64_t one = 0;
    if (d.shape.vocab > 0 && d.test_x.size(0) > 0) {
        const auto lengths = d.test_x.ne(0).sum(1).to(torch::kFloat64);
        one = (lengths - d.shape.mean_tokens).abs().argmin().item<int64_t>();
    }
    results["latency_ms"] =
        latencyMs(student, trimPadding(d.test_x.slice(0, one, one + 1)), ctx.device);
    results["train_samples_per_s"] = trainSeconds > 0 ? samples / trainSeconds : 0.0;
    results["train_seconds"] = trainSeconds;
    results["classes"] = d.shape.classes;
    results["input_shape"] = d.shape.sample_shape;
    results["input_normalization"] = d.normalization;
    results["train_samples"] = d.train_x.size(0);
    if (d.shape.vocab > 0) {
        results["vocab_size"] = d.shape.vocab;
        results["mean_tokens"] = d.shape.mean_tokens;
        results["tokenizer_key"] = d.tokenizer_key;
        results["embedding_params"] = sum.embedding_params;
        results["labels"] = d.label_names;
        results["test_samples"] = sampleTable(d, studentFwd, ctx.teacher.get());
    }
}

}  // namespace retort::pipeline

#include "train/stages.h"

#include "compress/int8kernels.h"
#include "models/modelgraph.h"
#include "train/generation.h"

#include <sstream>

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

/// A language model's continuations of three test prompts (the first four words of test texts
/// spread over the split), greedy and top-10 sampled (seed 1), by the student and the teacher:
/// what the run's details and the report show.
Json generatedSamples(const ExperimentSpec& spec, const Dataset& d, ZooNet& student,
                      Teacher* teacher) {
    Json out = Json::array();
    const size_t n = d.test_texts.size();
    if (n == 0 || d.tokenizer_model.empty()) return out;
    const Tokenizer tok = Tokenizer::fromModel(d.tokenizer_model, spec.data.tokenizer);
    const std::vector<std::string> vocabulary = tok.vocabulary();
    constexpr int64_t kNewTokens = 24, kTopK = 10;
    for (size_t i = 0; i < std::min<size_t>(3, n); ++i) {
        const std::string prompt = firstWords(d.test_texts[i * n / std::min<size_t>(3, n)], 4);
        const std::vector<int64_t> ids = tok.encode({prompt}).front();
        Json row = {{"prompt", prompt}};
        const GeneratedText s = continueText(student, ids, vocabulary, kNewTokens, kTopK, 1);
        row["student_greedy"] = s.greedy;
        row["student_greedy_stop"] = s.greedyStop.text();
        row["student_sampled_stop"] = s.sampledStop.text();
        row["student_sampled"] = s.sampled;
        if (teacher && teacher->zoo) {
            const GeneratedText t =
                continueText(teacher->zoo, ids, vocabulary, kNewTokens, kTopK, 1);
            row["teacher_greedy"] = t.greedy;
            row["teacher_greedy_stop"] = t.greedyStop.text();
            row["teacher_sampled_stop"] = t.sampledStop.text();
            row["teacher_sampled"] = t.sampled;
        }
        out.push_back(row);
    }
    return out;
}

/// One line: why the deployed form is or is not smaller and faster than dense fp32.
std::string deploymentNote(const ExperimentSpec& spec, const Compression& c, double denseMs,
                           double deployedMs, int64_t params, const std::string& int8) {
    std::ostringstream o;
    o.precision(3);
    const double speed = deployedMs > 0 ? denseMs / deployedMs : 1.0;
    if (!c.units.empty()) {
        o << "rebuilt without the pruned units: " << params << " of " << c.denseParamCount
          << " parameters, " << speed << "x the dense speed at batch 1";
        // The widths the kernels see: a kept head is d_model/heads wide.
        const ModelOptions& m = spec.student;
        const bool heads = spec.prune && spec.prune->structure == PruneStructure::Heads;
        const int64_t unitWidth = heads && m.heads > 0 ? m.d_model / m.heads : 1;
        bool odd = false;
        for (const auto& u : c.units) odd = odd || (u.kept * unitWidth) % 8 != 0;
        if (odd) o << "; a width that is not a multiple of 8 can defeat vectorization";
        if (speed < 1.2) o << "; at this size call overhead, not arithmetic, sets the time";
        if (!int8.empty()) o << "; " << int8;
        return o.str();
    }
    const bool pruned = c.prunable > c.prunableNonzero;
    if (pruned && spec.prune && spec.prune->structure == PruneStructure::NM)
        o << spec.prune->n << ":" << spec.prune->m
          << " sparsity runs at dense speed here: only sparse tensor cores (GPU) use it; the "
             "file stores it as values plus positions";
    else if (pruned)
        o << "unstructured sparsity runs at dense speed: no kernel here skips zeros; only the "
             "compressed file is smaller (its index counts)";
    if (spec.quantize && !int8.empty()) {
        if (pruned) o << "; ";
        o << int8;
    } else if (spec.quantize) {
        if (pruned) o << "; ";
        o << "int" << spec.quantize->bits
          << " weights are dequantized to fp32 to run, so they save storage, not time";
    }
    if (!pruned && !spec.quantize) o << "dense fp32: the form that runs is the trained model";
    return o.str();
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
    if (!spec.quantize) {  // nothing changed the trained weights since (CompressionStage)
        ctx.compression.testAccuracyFp32 = testAcc;
        ctx.compression.valAccuracyFp32 = valAcc;
    }
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
    // Distillation's own figure: how close the student's predictions are to its teacher's.
    if (ctx.teacher && ctx.teacher->forward) {
        const double kl = teacherDivergence(studentFwd, ctx.teacher->forward, d.test_x, d.test_y);
        results["test_teacher_kl"] = std::isfinite(kl) ? Json(kl) : Json();
    }
    if (d.shape.language_model) {
        // Next-token figures: accuracy is the share of positions whose most likely next token
        // is the right one; perplexity is exp of the mean next-token cross-entropy.
        results["task"] = "language_model";
        results["test_perplexity"] = test.perplexity;
        results["val_perplexity"] = std::isfinite(val.perplexity) ? Json(val.perplexity) : Json();
        results["test_tokens"] = test.tokens;
        results.erase("test_macro_f1");
        results.erase("val_macro_f1");
    }
    const torch::Tensor sample = latencySample(d);
    // The dense form (fp32, full width) and the form a user would deploy: the rebuilt smaller
    // model for structured pruning, int8 kernels for int8 weights where every layer has one
    // (below); otherwise the same dense fp32 computation, since no kernel here skips zeros or
    // multiplies int4 weights (the note says so).
    const double deployed = latencyMs(student, sample, ctx.device);
    const bool structured = !c.units.empty();
    results["latency_ms"] = structured ? c.denseLatencyMs : deployed;
    results["latency_ms_deployed"] = deployed;
    results["deployed_form"] = structured ? "rebuilt smaller (fp32)" : "dense fp32";
    // What the latency measures: a language model's is one forward pass over a context of the
    // test texts' typical length at batch 1, which is what one generated token costs without a
    // key/value cache (Retort's generation has none yet), not a cached next-token step.
    results["latency_measures"] =
        d.shape.language_model
            ? "one forward pass over a " + std::to_string(sample.size(-1)) +
                  "-token context at batch 1 (a generated token without a key/value cache)"
            : std::string("one sample at batch 1");
    if (structured) {
        Json units = Json::array();
        for (const auto& u : c.units)
            units.push_back({{"layer", u.layer}, {"units", u.units}, {"kept", u.kept}});
        results["units"] = units;
        results["dense_param_count"] = c.denseParamCount;
        // The dense fp32 student before the rebuild: what compression_ratio is measured against.
        results["dense_size_bytes"] = sum.size_bytes + (c.denseParamCount - params) * 4;
    }
    // int8 weights: LibTorch's int8 kernels where every layer has one (fully connected nets on
    // fbgemm), timed and scored as they run (activations are quantized too, so the accuracy
    // can differ a little from the dequantized model's).
    std::string int8Note;
    if (spec.quantize && ctx.device.is_cpu()) {
        torch::NoGradGuard guard;
        // Every engine this LibTorch has, the fastest at batch 1 kept: what a user would pick.
        std::string why, engine;
        Int8Forward int8;
        double ms = 0;
        const auto one1 = sample;
        for (const auto& e : int8Engines()) {
            Int8Forward f = int8Forward(student, c.quantized, &why, e);
            if (!f) break;  // a layer without an int8 kernel has none on any engine
            const double t = latencyMs(f, one1);
            if (!int8 || t < ms) {
                int8 = f;
                ms = t;
                engine = e;
            }
        }
        if (int8) {
            const double acc = accuracy(int8, d.test_x, d.test_y);
            results["latency_ms_deployed"] = ms;
            results["deployed_form"] =
                (structured ? "rebuilt smaller, int8 kernels (" : "int8 kernels (") + engine + ")";
            results["test_accuracy_deployed"] = acc;
            std::ostringstream o;
            o.precision(3);
            o << "int8 weights run on " << engine
              << "'s int8 kernels (activations quantized per call): "
              << (ms > 0 ? deployed / ms : 1.0) << "x the speed of the same model in fp32 at "
              << "batch 1, test accuracy " << 100.0 * acc << " % as run (" << 100.0 * testAcc
              << " % dequantized)";
            int8Note = o.str();
        } else {
            int8Note =
                "int" + std::to_string(spec.quantize->bits) +
                " weights are dequantized to fp32 to run, so they save storage, not time: " + why;
        }
    }
    results["deployed_note"] =
        deploymentNote(spec, c, structured ? c.denseLatencyMs : deployed,
                       results["latency_ms_deployed"].get<double>(), params, int8Note);
    results["train_samples_per_s"] = trainSeconds > 0 ? samples / trainSeconds : 0.0;
    results["train_seconds"] = trainSeconds;
    results["classes"] = d.shape.classes;
    results["input_shape"] = d.shape.sample_shape;
    results["input_normalization"] = d.normalization;
    results["train_samples"] = d.train_x.size(0);
    // Which data and which split the figures are on: runs of two split versions were tested on
    // two test sets (configurations never pool them), and a changed fingerprint means changed
    // data (the teacher is trained and scored again).
    for (const auto& w : d.warnings) results["warnings"].push_back(w);
    results["data_fingerprint"] = d.fingerprint;
    results["data_split_version"] = d.split_version;
    if (d.shape.vocab > 0) {
        results["vocab_size"] = d.shape.vocab;
        results["mean_tokens"] = d.shape.mean_tokens;
        results["tokenizer_key"] = d.tokenizer_key;
        results["embedding_params"] = sum.embedding_params;
        if (!d.shape.language_model) {
            results["labels"] = d.label_names;
            results["test_samples"] = sampleTable(d, studentFwd, ctx.teacher.get());
        } else {
            try {
                results["generated_samples"] =
                    generatedSamples(spec, d, student, ctx.teacher.get());
            } catch (const std::exception& e) {
                services.message(ctx.runId, "evaluation",
                                 std::string("no generated samples: ") + e.what());
            }
        }
    }
}

}  // namespace retort::pipeline

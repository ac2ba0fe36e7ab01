#include "train/stages.h"

#include <sstream>

namespace retort::pipeline {

using namespace stagesupport;

namespace {

/// What every teacher ends its outputs with: the random-network warning, its warnings said,
/// a new teacher stored with its figures, and the teacher kept in memory for later runs.
void finishTeacher(RunContext& ctx, StageServices& services) {
    Teacher* t = ctx.teacher.get();
    const TeacherOptions& o = *ctx.spec.teacher;
    if (o.kind == TeacherOptions::Kind::Zoo && !o.train)
        t->warnings.push_back("the teacher has no train section: a random network");
    for (const auto& w : t->warnings) services.message(ctx.runId, "teacher", "warning: " + w);
    if (t->unsaved) {
        TeacherRecord& record = *t->unsaved;
        record.summary["test_accuracy"] = t->testAccuracy;
        if (std::isfinite(t->testPerplexity)) record.summary["test_perplexity"] = t->testPerplexity;
        record.summary["param_count"] = t->paramCount;
        record.summary["flops"] = t->flops;
        services.store.saveTeacher(record);
        t->unsaved.reset();
    }
    t->outputsReady = true;
    services.teachers[t->cacheKey] = ctx.teacher;
}

/// A language model teacher: its next-token scores, and for distillation its top-k next-token
/// distributions at the run's temperature over the training set, built once per teacher,
/// temperature and k and kept in memory with the teacher (rows of k + 1 numbers per position;
/// a stored copy would be as large as the training set times k).
void languageModelOutputs(RunContext& ctx, StageServices& services) {
    Teacher* t = ctx.teacher.get();
    const ExperimentSpec& spec = ctx.spec;
    const Dataset& d = *ctx.data;
    const int64_t runId = ctx.runId;
    if (!t->outputsReady) {
        const ClassScores test = scores(t->forward, d.test_x, d.test_y, d.shape.classes),
                          val = scores(t->forward, d.val_x, d.val_y, d.shape.classes);
        t->testAccuracy = test.accuracy;
        t->testPerplexity = test.perplexity;
        t->valAccuracy = val.accuracy;
        t->valPerplexity = val.perplexity;
        finishTeacher(ctx, services);
    }
    if (spec.distill.lambda <= 0) return;
    const DistillOptions& dist = spec.distill;
    const std::string key = tokenTargetsKey(dist);
    if (t->tokenTargets.count(key)) {
        services.message(runId, "teacher_outputs",
                         "reusing the teacher's top-" + std::to_string(dist.top_k) +
                             " next-token distributions for the training set");
        return;
    }
    services.message(runId, "teacher_outputs",
                     "computing the frozen teacher's top-" + std::to_string(dist.top_k) +
                         " next-token distributions once for the training set");
    TeacherTokenTargets targets = teacherTokenTargets(
        t->forward, d, dist.temperature, dist.top_k,
        [&] { services.checkCancel("the teacher's next-token distributions"); });
    const int64_t rows = targets.topk.logTail.size(0);
    const double mb = double(rows) * double(targets.topk.logProbs.size(1) * 8 + 4) / 1e6;
    std::ostringstream m;
    m.precision(3);
    m << "teacher targets: " << rows << " positions × (top " << targets.topk.logProbs.size(1)
      << " + the rest), " << mb << " MB in memory";
    services.message(runId, "teacher_outputs", m.str());
    t->tokenTargets[key] = std::move(targets);
}

}  // namespace

TeacherTokenTargets teacherTokenTargets(const Forward& teacher, const Dataset& d,
                                        double temperature, int64_t k,
                                        const std::function<void()>& checkCancel) {
    torch::NoGradGuard guard;
    std::vector<torch::Tensor> logProbs, index, logTail;
    const int64_t n = d.train_x.size(0), batch = 64;
    torch::Tensor counts = torch::zeros({n}, torch::kInt64);
    for (int64_t i = 0; i < n; i += batch) {
        if (checkCancel) checkCancel();
        const auto x = trimPadding(d.train_x.slice(0, i, std::min(i + batch, n)));
        const auto y = d.train_y.slice(0, i, i + x.size(0)).slice(1, 0, x.size(1));
        const auto mask = y.ne(0);
        counts.slice(0, i, i + x.size(0)).copy_(mask.sum(1).cpu());
        // Rows in the order a batch's mask selects them: sample by sample, position by position.
        const TopKTargets part = topKTargets(teacher(x).index({mask}), temperature, k);
        logProbs.push_back(part.logProbs.cpu());
        index.push_back(part.index.cpu());
        logTail.push_back(part.logTail.cpu());
    }
    TeacherTokenTargets targets;
    targets.topk = {torch::cat(logProbs), torch::cat(index), torch::cat(logTail)};
    targets.offsets = counts.cumsum(0) - counts;
    return targets;
}

void TeacherOutputsStage::run(RunContext& ctx, StageServices& services) {
    Teacher* t = ctx.teacher.get();
    if (ctx.data->shape.language_model) return languageModelOutputs(ctx, services);
    if (t->outputsReady) return;  // the teacher came from the cache with them
    const TeacherOptions& o = *ctx.spec.teacher;
    const Dataset& d = *ctx.data;
    const int64_t runId = ctx.runId;
    // The outputs over the training set: from the project when an earlier run or process
    // computed them for this teacher and data, else computed once now and stored.
    std::optional<ProjectStore::TeacherOutputs> cached;
    try {
        cached = services.store.teacherOutputs(t->key);
    } catch (const CorruptArtifactError& e) {
        // A cache: recomputed from the teacher and replaced, never loaded corrupt.
        services.message(runId, "teacher_outputs", std::string(e.what()) + "; recomputing them");
    }
    if (cached) {
        try {
            torch::Tensor logits = deserializeTensor(cached->logits);
            if (logits.dim() == 2 && logits.size(0) == d.train_x.size(0) &&
                logits.size(1) == d.shape.classes && logits.is_floating_point()) {
                t->trainLogits = logits.to(d.train_x.device());
                t->testAccuracy = cached->test_accuracy;
                services.message(runId, "teacher_outputs",
                                 "reusing the teacher's stored outputs for the training set");
            }
        } catch (const std::exception&) {
            // An unreadable cache entry is recomputed and replaced below.
        }
    }
    if (!t->trainLogits.defined()) {
        services.message(runId, "teacher_outputs",
                         "computing the frozen teacher's outputs once for the training set");
        t->testAccuracy = accuracy(t->forward, d.test_x, d.test_y);
        t->trainLogits = batchedLogits(t->forward, d.train_x);
        services.store.saveTeacherOutputs(t->key,
                                          {serializeTensor(t->trainLogits.cpu()), t->testAccuracy});
    }
    t->valAccuracy = accuracy(t->forward, d.val_x, d.val_y);
    {
        // A teacher near chance was almost always fed the wrong input (teacher.input) or
        // never trained: say so rather than distil noise in silence.
        const bool onVal = std::isfinite(t->valAccuracy);
        const torch::Tensor ys = (onVal ? d.val_y : d.test_y).cpu();
        const double acc = onVal ? t->valAccuracy : t->testAccuracy;
        if (ys.numel() > 0 && std::isfinite(acc)) {
            const double chance = torch::bincount(ys).max().item<double>() / double(ys.numel());
            if (acc < chance + 0.05) {
                std::ostringstream w;
                w.precision(3);
                w << "the teacher scores " << acc * 100 << " % on "
                  << (onVal ? "validation" : "test") << ", near chance (" << chance * 100
                  << " %, the largest class)"
                  << (o.kind == TeacherOptions::Kind::TorchScript
                          ? ": check teacher.input (what the module expects)"
                      : o.kind == TeacherOptions::Kind::Zoo && !o.train ? ": it was never trained"
                                                                        : "");
                t->warnings.push_back(w.str());
            }
        }
    }
    finishTeacher(ctx, services);
}

}  // namespace retort::pipeline

#include "train/stages.h"

#include <sstream>

namespace retort::pipeline {

using namespace stagesupport;

void TeacherOutputsStage::run(RunContext& ctx, StageServices& services) {
    Teacher* t = ctx.teacher.get();
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
        if (o.kind == TeacherOptions::Kind::Zoo && !o.train)
            t->warnings.push_back("the teacher has no train section: a random network");
        for (const auto& w : t->warnings) services.message(runId, "teacher", "warning: " + w);
    }
    if (t->unsaved) {
        TeacherRecord& record = *t->unsaved;
        record.summary["test_accuracy"] = t->testAccuracy;
        record.summary["param_count"] = t->paramCount;
        record.summary["flops"] = t->flops;
        services.store.saveTeacher(record);
        t->unsaved.reset();
    }
    t->outputsReady = true;
    services.teachers[t->cacheKey] = ctx.teacher;
}

}  // namespace retort::pipeline

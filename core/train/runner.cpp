#include "train/runner.h"

#include "train/environment.h"
#include "train/pipeline.h"

#include <algorithm>

namespace retort {

using namespace pipeline;

struct Runner::Impl {
    StageServices services;
    const Pipeline stages = standardPipeline();
    const Pipeline teacherStages = teacherPipeline();

    Impl(ProjectStore& s, ProgressFn p, const std::atomic<bool>* c)
        : services(s, std::move(p), c) {}

    RunOutcome resume(int64_t runId) {
        const auto r = services.store.run(runId);
        if (!r) throw std::invalid_argument("the project has no run " + std::to_string(runId));
        if (!canResume(r->status))
            throw std::invalid_argument("run " + std::to_string(runId) + " is " +
                                        statusName(r->status) +
                                        "; only interrupted, cancelled or queued runs resume");
        std::vector<SpecIssue> issues;
        ExperimentSpec spec = ExperimentSpec::fromJson(r->spec, issues);
        if (!issues.empty()) throw SpecError(issues);
        Checkpoint cp;
        auto student = services.store.artifact(runId, "checkpoint_student");
        auto optimizer = services.store.artifact(runId, "checkpoint_optimizer");
        if (student && optimizer) {
            for (const auto& m : services.store.metrics(runId))
                cp.epoch = std::max(cp.epoch, m.epoch);
            cp.student = *student;
            cp.optimizer = *optimizer;
        }
        return run(runId, spec, cp.epoch > 0 ? &cp : nullptr);
    }

    /// Ends a run that did not complete: stored with its status and why, and returned so.
    RunOutcome endRun(int64_t runId, RunStatus status, const std::string& why) {
        services.store.finishRun(runId, status, Json::object(), {}, {}, why);
        return {status, why, Json::object()};
    }

    RunOutcome run(int64_t runId, const ExperimentSpec& spec,
                   const Checkpoint* resumeFrom = nullptr) {
        const int threads = applyThreads(spec.threads);
        (void)threads;
        torch::Device device = torch::kCPU;
        try {
            device = resolveDevice(spec.device);
        } catch (const std::exception& e) {
            services.store.startRun(runId, environmentInfo(torch::kCPU));
            return endRun(runId, RunStatus::Failed, e.what());
        }
        services.store.startRun(runId, environmentInfo(device));
        int64_t epoch = 0;
        try {
            RunContext ctx(runId, spec, device);
            ctx.resumeFrom = resumeFrom;
            try {
                stages.run(ctx, services);
            } catch (...) {
                epoch = ctx.epoch;
                throw;
            }
            return {RunStatus::Completed, "", ctx.results};
        } catch (const Cancelled& c) {
            return endRun(runId, RunStatus::Cancelled, "cancelled by the user at " + c.where);
        } catch (const CorruptArtifactError& e) {
            // A corrupt stored teacher (a StoreError, but of one artifact): the run fails
            // naming it, and nothing corrupt is loaded.
            return endRun(runId, RunStatus::Failed, e.what());
        } catch (const StoreError&) {
            throw;  // nothing can be recorded
        } catch (const c10::Error& e) {
            return endRun(runId, RunStatus::Failed, e.what_without_backtrace());
        } catch (const std::bad_alloc&) {
            return endRun(runId, RunStatus::Failed,
                          "out of memory at epoch " + std::to_string(epoch) +
                              " (try a smaller batch size, model or data.limit_train)");
        } catch (const std::exception& e) {
            return endRun(runId, RunStatus::Failed, e.what());
        }
    }
};

Runner::Runner(ProjectStore& store, ProgressFn progress, const std::atomic<bool>* cancel)
    : m_impl(std::make_unique<Impl>(store, std::move(progress), cancel)) {}

Runner::~Runner() = default;

RunOutcome Runner::run(int64_t runId, const ExperimentSpec& spec) {
    return m_impl->run(runId, spec);
}

RunOutcome Runner::resume(int64_t runId) {
    return m_impl->resume(runId);
}

bool Runner::prepareTeacher(const ExperimentSpec& spec) {
    if (!spec.teacher) return false;
    applyThreads(spec.threads);
    RunContext ctx(0, spec, resolveDevice(spec.device));
    m_impl->teacherStages.run(ctx, m_impl->services);
    return true;
}

void Runner::prepareData(const ExperimentSpec& spec) {
    applyThreads(spec.threads);  // the data is prepared exactly as the run will prepare it
    m_impl->services.dataset(spec);
}

}  // namespace retort

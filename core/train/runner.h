#pragma once

#include "models/modeldescription.h"
#include "models/modelzoo.h"
#include "spec/experimentspec.h"
#include "train/progress.h"

#include <atomic>
#include <memory>
#include <string>

namespace retort {

class ProjectStore;

/// Runs experiments into a project. Keeps the loaded data and the frozen teacher's outputs of
/// the last runs in memory, so a sweep loads its data once and runs its teacher once.
/// Not thread-safe: one Runner per worker thread, with that thread's ProjectStore.
class Runner {
public:
    /// @param cancel checked before every batch; when it becomes true the run ends `cancelled`
    Runner(ProjectStore& store, ProgressFn progress = {},
           const std::atomic<bool>* cancel = nullptr);
    ~Runner();

    /// Runs the queued run @p runId with @p spec (one expanded, validated point) to its end and
    /// stores everything. Errors of the run itself end it `failed`; only errors of the project
    /// store propagate as exceptions.
    RunOutcome run(int64_t runId, const ExperimentSpec& spec);

    /// Loads (and keeps) the data of @p spec now, so that a bad data file is reported before any
    /// run is created. Throws DataError naming the file and the problem.
    void prepareData(const ExperimentSpec& spec);

    /// Continues an `interrupted`, `cancelled` or `queued` run with its stored spec from its last
    /// checkpointed epoch (student and optimizer state, pruning masks, the seeded data order), to
    /// the same final results as an uninterrupted run with the same device and threads. Throws
    /// std::invalid_argument when the run does not exist or cannot resume.
    RunOutcome resume(int64_t runId);

    /// Trains (or loads) the teacher of @p spec and stores it and its outputs in the project, as
    /// the first run of the sweep would, so that later runs (other processes too) reuse it.
    /// Returns false when the spec has no teacher. Throws on errors (data, device, training).
    bool prepareTeacher(const ExperimentSpec& spec);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace retort

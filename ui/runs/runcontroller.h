#pragma once

#include "runs/metatypes.h"
#include "spec/experimentspec.h"

#include <QObject>
#include <QPair>
#include <QQueue>
#include <QThread>

#include <optional>

namespace retort {
class ProjectStore;
}

namespace retort::ui {

class TrainingWorker;

/// The queue of runs and the worker thread that runs them, one at a time.
class RunController : public QObject {
    Q_OBJECT
public:
    /// @param store the GUI thread's connection (creates runs, marks cancelled queued runs)
    RunController(ProjectStore& store, QObject* parent = nullptr);
    ~RunController() override;

    /// Stores each point as a queued run and queues it. Returns the new run ids.
    QList<qint64> enqueue(const std::vector<RunPoint>& points);
    /// Queues existing interrupted/cancelled runs to continue from their last completed epoch.
    void resume(const QList<qint64>& runIds);
    /// Cancels the run in progress (it ends `cancelled` at the next batch).
    void cancelCurrent();
    /// Cancels the run in progress and every queued one.
    void cancelAll();

    bool busy() const { return m_current >= 0 || !m_queue.isEmpty(); }
    qint64 currentRun() const { return m_current; }
    int queued() const { return int(m_queue.size()); }
    /// Position of the current run in this batch of runs, and the batch size.
    QPair<int, int> batchPosition() const { return {m_doneInBatch + 1, m_batchSize}; }

Q_SIGNALS:
    void runStarted(qint64 runId);
    void progress(const retort::Progress& progress);
    void runFinished(qint64 runId, retort::RunStatus status, const QString& error);
    /// The queue ran dry.
    void idle();
    /// Requests the worker to run one queued run with its expanded spec (queued connection into
    /// the worker thread: the struct is copied, no JSON on the way).
    void startRun(qint64 runId, const retort::ExperimentSpec& spec);
    /// Requests the worker to continue a run with its stored spec.
    void startResume(qint64 runId);

private:
    void dispatch();
    void onFinished(qint64 runId, retort::RunStatus status, const QString& error);

    ProjectStore& m_store;
    QThread m_thread;
    TrainingWorker* m_worker = nullptr;
    /// A run waiting for the worker: a new one with its spec, or one to resume (no spec).
    struct QueuedRun {
        qint64 id = 0;
        std::optional<ExperimentSpec> spec;
    };
    QQueue<QueuedRun> m_queue;
    qint64 m_current = -1;
    int m_batchSize = 0, m_doneInBatch = 0;
};

}  // namespace retort::ui

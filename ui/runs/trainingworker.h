#pragma once

#include "runs/metatypes.h"

#include <QObject>
#include <QString>

#include <atomic>
#include <memory>

namespace retort {
class ProjectStore;
class Runner;
}  // namespace retort

namespace retort::ui {

/// Runs the engine on a worker thread. Lives on a QThread (moveToThread); opens its own
/// connection to the project there. Cancel is the atomic flag, set directly from any thread.
/// Every slot catches exceptions and reports them as a signal.
class TrainingWorker : public QObject {
    Q_OBJECT
public:
    explicit TrainingWorker(QString projectPath);
    ~TrainingWorker() override;

    /// The flag the engine checks before every batch.
    std::atomic<bool>& cancelFlag() { return m_cancel; }

public Q_SLOTS:
    /// Runs one queued run of the project with its expanded, validated spec.
    void runOne(qint64 runId, const retort::ExperimentSpec& spec);
    /// Continues a run from its last checkpointed epoch with its stored spec.
    void resumeOne(qint64 runId);

Q_SIGNALS:
    void runStarted(qint64 runId);
    void progress(const retort::Progress& progress);
    /// status: completed | failed | cancelled
    void runFinished(qint64 runId, retort::RunStatus status, const QString& error);

private:
    void ensureRunner();
    QString m_path;
    std::unique_ptr<ProjectStore> m_store;
    std::unique_ptr<Runner> m_runner;  // kept across runs: data and teacher outputs stay cached
    std::atomic<bool> m_cancel{false};
};

}  // namespace retort::ui

#pragma once

#include "cluster/slurm.h"

#include <QObject>
#include <QTimer>

#include <atomic>
#include <memory>

namespace retort::ui {

/// The workbench's side of Slurm: submits the editor's sweep and keeps the project in step
/// with the cluster by a periodic sync. Each sync runs on the thread pool with a connection of
/// its own (the project is WAL, one connection per thread) and reports back with synced().
class SlurmController : public QObject {
    Q_OBJECT
public:
    /// @p project: the open project's path.
    explicit SlurmController(const QString& project, QObject* parent = nullptr);
    ~SlurmController() override;

    /// Submits @p spec (throws SpecError / SlurmError / StoreError like submitSweep) and starts
    /// the periodic sync.
    SubmitResult submit(ProjectStore& store, const Json& spec, const SlurmOptions& options);
    /// Starts a sync now unless one is under way.
    void syncNow();
    /// Periodic sync while tasks are unfinished (started by submit and by a project that has
    /// unsynced tasks when opened).
    void startPolling();
    bool polling() const { return m_timer.isActive(); }
    void setInterval(int ms) { m_timer.setInterval(ms); }

    /// The retort-cli that tasks run: next to this program (installed or in the build tree).
    static QString defaultCli();

Q_SIGNALS:
    /// A sync finished: what it did, in a line for the status bar.
    void synced(const retort::SyncReport& report, const QString& summary);
    void syncFailed(const QString& error);

private:
    QString m_project;
    QTimer m_timer;
    std::shared_ptr<std::atomic<bool>> m_busy;
};

}  // namespace retort::ui

#include "slurm/slurmcontroller.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QPointer>
#include <QThreadPool>

namespace retort::ui {

SlurmController::SlurmController(const QString& project, QObject* parent)
    : QObject(parent), m_project(project), m_busy(std::make_shared<std::atomic<bool>>(false)) {
    m_timer.setInterval(10000);
    connect(&m_timer, &QTimer::timeout, this, &SlurmController::syncNow);
    connect(this, &SlurmController::synced, this, [this](const SyncReport& r, const QString&) {
        if (r.done()) m_timer.stop();
    });
}

SlurmController::~SlurmController() = default;

QString SlurmController::defaultCli() {
    const QString beside = QDir(QCoreApplication::applicationDirPath()).filePath("retort-cli");
    if (QFileInfo(beside).isExecutable()) return beside;
    const QString inBuild =
        QDir(QCoreApplication::applicationDirPath()).filePath("../app/retort-cli");
    if (QFileInfo(inBuild).isExecutable()) return QFileInfo(inBuild).canonicalFilePath();
    return QStringLiteral("retort-cli");
}

SubmitResult SlurmController::submit(ProjectStore& store, const Json& spec,
                                     const SlurmOptions& options) {
    SubmitResult r = submitSweep(store, spec, options, defaultCli().toStdString(), false);
    startPolling();
    return r;
}

void SlurmController::startPolling() {
    if (!m_timer.isActive()) m_timer.start();
}

void SlurmController::syncNow() {
    if (m_busy->exchange(true)) return;
    QPointer<SlurmController> self(this);
    const std::string path = m_project.toStdString();
    auto busy = m_busy;
    QThreadPool::globalInstance()->start([self, path, busy] {
        SyncReport report;
        QString error;
        try {
            ProjectStore store(path);  // this thread's own connection
            report = syncSlurm(store);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        busy->store(false);
        QMetaObject::invokeMethod(
            qApp,
            [self, report, error] {
                if (!self) return;
                if (!error.isEmpty()) {
                    Q_EMIT self->syncFailed(error);
                    return;
                }
                const QString summary =
                    tr("Slurm: %1 merged, %2 running, %3 pending%4")
                        .arg(report.merged)
                        .arg(report.running)
                        .arg(report.pending)
                        .arg(report.failed + report.cancelled + report.interrupted > 0
                                 ? tr(", %1 ended without a result")
                                       .arg(report.failed + report.cancelled + report.interrupted)
                                 : QString());
                Q_EMIT self->synced(report, summary);
            },
            Qt::QueuedConnection);
    });
}

}  // namespace retort::ui

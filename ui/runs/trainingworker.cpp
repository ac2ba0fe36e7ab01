#include "runs/trainingworker.h"

#include "spec/experimentspec.h"
#include "store/projectstore.h"
#include "train/runner.h"

namespace retort::ui {

TrainingWorker::TrainingWorker(QString projectPath) : m_path(std::move(projectPath)) {
    qRegisterMetaType<retort::Progress>("retort::Progress");
    qRegisterMetaType<retort::ExperimentSpec>("retort::ExperimentSpec");
    qRegisterMetaType<retort::RunStatus>("retort::RunStatus");
}

TrainingWorker::~TrainingWorker() = default;

void TrainingWorker::ensureRunner() {
    if (m_store) return;
    m_store = std::make_unique<ProjectStore>(m_path.toStdString());
    m_runner = std::make_unique<Runner>(
        *m_store, [this](const Progress& p) { Q_EMIT progress(p); }, &m_cancel);
}

void TrainingWorker::resumeOne(qint64 runId) {
    Q_EMIT runStarted(runId);
    try {
        ensureRunner();
        RunOutcome o = m_runner->resume(runId);
        Q_EMIT runFinished(runId, o.status, QString::fromStdString(o.error));
    } catch (const std::exception& e) {
        Q_EMIT runFinished(runId, RunStatus::Failed, QString::fromUtf8(e.what()));
    }
}

void TrainingWorker::runOne(qint64 runId, const ExperimentSpec& spec) {
    Q_EMIT runStarted(runId);
    try {
        ensureRunner();
        RunOutcome o = m_runner->run(runId, spec);
        Q_EMIT runFinished(runId, o.status, QString::fromStdString(o.error));
    } catch (const std::exception& e) {
        // The run could not even be recorded (e.g. the project became unwritable): say so, and
        // try to leave the run marked failed rather than running.
        try {
            if (m_store) m_store->setStatus(runId, RunStatus::Failed, e.what());
        } catch (...) {
        }
        Q_EMIT runFinished(runId, RunStatus::Failed, QString::fromUtf8(e.what()));
    }
}

}  // namespace retort::ui

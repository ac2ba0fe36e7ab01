#include "runs/runcontroller.h"

#include "runs/trainingworker.h"
#include "store/projectstore.h"

namespace retort::ui {

RunController::RunController(ProjectStore& store, QObject* parent)
    : QObject(parent), m_store(store) {
    m_worker = new TrainingWorker(QString::fromStdString(store.path()));
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    connect(this, &RunController::startRun, m_worker, &TrainingWorker::runOne);
    connect(this, &RunController::startResume, m_worker, &TrainingWorker::resumeOne);
    connect(m_worker, &TrainingWorker::runStarted, this, &RunController::runStarted);
    connect(m_worker, &TrainingWorker::progress, this, &RunController::progress);
    connect(m_worker, &TrainingWorker::runFinished, this, &RunController::onFinished);
    m_thread.setObjectName(QStringLiteral("retort-training"));
    m_thread.start();
}

RunController::~RunController() {
    // Shutdown: cancel what runs, then stop the thread and wait for it.
    m_queue.clear();
    m_worker->cancelFlag().store(true);
    m_thread.requestInterruption();
    m_thread.quit();
    m_thread.wait();
}

QList<qint64> RunController::enqueue(const std::vector<RunPoint>& points) {
    QList<qint64> ids;
    if (!busy()) {
        m_batchSize = 0;
        m_doneInBatch = 0;
    }
    try {
        for (const auto& p : points) {
            const qint64 id = m_store.createRun(p.name, p.spec.toJson(), p.params);
            m_queue.enqueue({id, p.spec});
            ids << id;
        }
    } catch (...) {
        // The project refused a run (read-only, disk full): those recorded still run.
        m_batchSize += int(ids.size());
        dispatch();
        throw;
    }
    m_batchSize += int(points.size());
    dispatch();
    return ids;
}

void RunController::resume(const QList<qint64>& runIds) {
    if (!busy()) {
        m_batchSize = 0;
        m_doneInBatch = 0;
    }
    for (qint64 id : runIds) m_queue.enqueue({id, std::nullopt});  // resume the stored spec
    m_batchSize += int(runIds.size());
    dispatch();
}

void RunController::dispatch() {
    if (m_current >= 0 || m_queue.isEmpty()) return;
    const QueuedRun next = m_queue.dequeue();
    m_current = next.id;
    m_worker->cancelFlag().store(false);
    if (next.spec)
        Q_EMIT startRun(next.id, *next.spec);
    else
        Q_EMIT startResume(next.id);
}

void RunController::cancelCurrent() {
    if (m_current >= 0) m_worker->cancelFlag().store(true);
}

void RunController::cancelAll() {
    while (!m_queue.isEmpty()) {
        const qint64 id = m_queue.dequeue().id;
        m_store.setStatus(id, RunStatus::Cancelled, "not started: cancelled from the queue");
        Q_EMIT runFinished(id, RunStatus::Cancelled, QStringLiteral("not started"));
    }
    cancelCurrent();
    if (m_current < 0) Q_EMIT idle();
}

void RunController::onFinished(qint64 runId, RunStatus status, const QString& error) {
    m_current = -1;
    ++m_doneInBatch;
    Q_EMIT runFinished(runId, status, error);
    if (m_queue.isEmpty())
        Q_EMIT idle();
    else
        dispatch();
}

}  // namespace retort::ui

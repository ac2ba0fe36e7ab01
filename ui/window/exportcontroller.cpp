#include "window/exportcontroller.h"

#include "export/dataexport.h"
#include "export/modelexport.h"
#include "report/reportwriter.h"
#include "store/projectstore.h"

#include <QApplication>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QSettings>

namespace retort::ui {

ExportController::ExportController(QWidget* window, std::function<ProjectStore*()> store)
    : QObject(window), m_window(window), m_store(std::move(store)) {}

QList<QAction*> ExportController::addFileActions(QMenu* menu) {
    return {menu->addAction(tr("Export &Report…"), QKeySequence(tr("Ctrl+Shift+R")), this,
                            [this] { exportReport(); }),
            menu->addAction(tr("Export R&uns…"), this, [this] { exportRuns(); }),
            menu->addAction(tr("Export &Metrics…"), this, [this] { exportMetrics(); })};
}

void ExportController::addModelActions(QMenu* menu, qint64 runId, bool completed) {
    QAction* onnx = menu->addAction(tr("Export Model as &ONNX…"), this,
                                    [this, runId] { exportModel(runId, QStringLiteral("onnx")); });
    QAction* pt = menu->addAction(tr("Export Model as &PyTorch…"), this,
                                  [this, runId] { exportModel(runId, QStringLiteral("pt")); });
    for (QAction* a : {onnx, pt}) {
        a->setEnabled(completed);
        if (!completed) a->setToolTip(tr("Only a completed run has a final model"));
    }
    if (!onnxSupported()) {
        onnx->setEnabled(false);
        onnx->setToolTip(tr("This build has no ONNX support (libonnx-dev)"));
    }
}

QString ExportController::askPath(const QString& title, const QString& name,
                                  const QString& filters) {
    QSettings settings;
    const QString folder =
        settings
            .value(QStringLiteral("exportFolder"),
                   settings.value(QStringLiteral("lastFolder"), QDir::homePath()))
            .toString();
    const QString path =
        QFileDialog::getSaveFileName(m_window, title, folder + "/" + name, filters);
    if (!path.isEmpty())
        settings.setValue(QStringLiteral("exportFolder"), QFileInfo(path).absolutePath());
    return path;
}

bool ExportController::attempt(const QString& path, const std::function<void()>& write) {
    if (!m_store()) return false;
    QApplication::setOverrideCursor(Qt::WaitCursor);
    try {
        write();
        QApplication::restoreOverrideCursor();
        m_message = tr("Wrote %1").arg(QDir::toNativeSeparators(path));
        Q_EMIT message(m_message);
        return true;
    } catch (const std::exception& e) {
        QApplication::restoreOverrideCursor();
        m_message = tr("Could not export: %1").arg(QString::fromStdString(e.what()));
        Q_EMIT message(m_message);
        if (m_interactive) QMessageBox::warning(m_window, tr("Export"), m_message);
        return false;
    }
}

namespace {
QString baseName(const ProjectStore& store) {
    return QFileInfo(QString::fromStdString(store.path())).completeBaseName();
}
}  // namespace

bool ExportController::exportReport(QString path) {
    ProjectStore* store = m_store();
    if (!store) return false;
    if (path.isEmpty())
        path = askPath(tr("Export Report"), baseName(*store) + "-report.html",
                       tr("HTML report (*.html);;PDF report (*.pdf)"));
    if (path.isEmpty()) return false;
    return attempt(path, [&] { ReportWriter(*store, m_baseline).write(path); });
}

bool ExportController::exportTable(QString path, const QString& title, const QString& suffix,
                                   const QString& csvFilter, bool metrics) {
    ProjectStore* store = m_store();
    if (!store) return false;
    if (path.isEmpty())
        path = askPath(title, baseName(*store) + suffix, csvFilter + tr(";;JSON (*.json)"));
    if (path.isEmpty()) return false;
    return attempt(path, [&] {
        const auto runs = store->runs();
        const bool json = path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive);
        std::string text;
        if (metrics)
            text = json ? metricsJson(*store, runs).dump(2) + "\n" : metricsCsv(*store, runs);
        else
            text = json ? runsJson(store->path(), runs).dump(2) + "\n" : runsCsv(runs);
        writeExport(path.toStdString(), text, store->path());
    });
}

bool ExportController::exportRuns(QString path) {
    return exportTable(path, tr("Export Runs"), QStringLiteral("-runs.csv"), tr("CSV (*.csv)"),
                       false);
}

bool ExportController::exportMetrics(QString path) {
    return exportTable(path, tr("Export Metrics"), QStringLiteral("-metrics.csv"),
                       tr("CSV, long form (*.csv)"), true);
}

bool ExportController::exportModel(qint64 runId, const QString& format, QString path) {
    ProjectStore* store = m_store();
    if (!store) return false;
    const bool onnx = format == QLatin1String("onnx");
    if (path.isEmpty())
        path = askPath(onnx ? tr("Export Model as ONNX") : tr("Export Model as PyTorch"),
                       QStringLiteral("%1-run%2.%3").arg(baseName(*store)).arg(runId).arg(format),
                       onnx ? tr("ONNX model (*.onnx)") : tr("PyTorch checkpoint (*.pt)"));
    if (path.isEmpty()) return false;
    return attempt(path, [&] {
        ModelExportOptions options;
        options.format = format.toStdString();
        writeRunModel(*store, runId, options, path.toStdString());
    });
}

}  // namespace retort::ui

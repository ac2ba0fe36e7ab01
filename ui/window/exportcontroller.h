#pragma once

#include <QObject>
#include <QString>

#include <functional>
#include <string>

class QAction;
class QMenu;
class QWidget;

namespace retort {
class ProjectStore;
}

namespace retort::ui {

/// The workbench's exports: the report (HTML/PDF), runs and metrics (CSV/JSON) and a run's
/// student (ONNX/PyTorch). Asks for a file, writes it with the same core and report code as
/// retort-cli, and says what it wrote or why it could not. MainWindow only adds its menus.
class ExportController : public QObject {
    Q_OBJECT
public:
    /// @p store returns the open project (nullptr when none).
    ExportController(QWidget* window, std::function<ProjectStore*()> store);

    /// Adds Export Report, Export Runs and Export Metrics to @p menu; returns them.
    QList<QAction*> addFileActions(QMenu* menu);
    /// Adds Export Model as ONNX / as PyTorch for @p runId to @p menu (disabled when the run
    /// has no final model).
    void addModelActions(QMenu* menu, qint64 runId, bool completed);

    /// Each writes to @p path; with an empty path it asks for one first. Returns true on success.
    bool exportReport(QString path = {});
    bool exportRuns(QString path = {});
    bool exportMetrics(QString path = {});
    bool exportModel(qint64 runId, const QString& format, QString path = {});

    /// The baseline configuration the report compares with (a label or run id; "" for the
    /// default, label-only): the one chosen in the grouped runs view.
    void setReportBaseline(const std::string& baseline) { m_baseline = baseline; }

    /// When false, failures are only reported by message(), not in a dialog (tests).
    void setInteractive(bool on) { m_interactive = on; }

    /// What the last export wrote or why it failed (status bar text, tests).
    QString lastMessage() const { return m_message; }

Q_SIGNALS:
    void message(const QString& text);

private:
    QString askPath(const QString& title, const QString& name, const QString& filters);
    bool attempt(const QString& path, const std::function<void()>& write);
    /// Runs (or, with @p metrics, per-epoch metrics) as CSV or JSON, by the file's suffix.
    bool exportTable(QString path, const QString& title, const QString& suffix,
                     const QString& csvFilter, bool metrics);

    QWidget* m_window;
    std::function<ProjectStore*()> m_store;
    QString m_message;
    bool m_interactive = true;
    std::string m_baseline;
};

}  // namespace retort::ui

#pragma once

#include "runs/metatypes.h"

#include <QMainWindow>
#include <QTimer>

#include "cluster/slurm.h"
#include "store/projectstore.h"

#include <memory>

class QTableView;
class QProgressBar;
class QLabel;
class QMenu;
class QAction;

namespace retort {
class ProjectStore;
}

namespace retort::ui {

class ExperimentEditor;
class ExportController;
class RunController;
class SlurmController;
class RunsModel;
class LossCurvesPlot;
class ParetoPlot;
class ConfigurationsView;
class RunsPanel;

/// The workbench window. Menus, docks and the status bar; the work is delegated to the editor,
/// the run controller (queue + worker thread), the runs model and the plots.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Opens (or creates) a project file. Shows an error and returns false when it cannot.
    /// Opens @p path; read-only when this user cannot write it (or @p readOnly): the project
    /// can be browsed and exported, the title says "[read-only]", and nothing writes to it.
    bool openProject(const QString& path, bool readOnly = false);
    bool isReadOnly() const { return m_readOnly; }
    void closeProject();
    /// Loads a spec file into the editor; shows an error and returns false when it cannot.
    bool importSpecFile(const QString& path);
    /// Validates the editor's spec and queues its runs. Returns the number queued.
    int runExperiment();
    void cancelRuns();
    /// Resumes the selected interrupted or cancelled runs. Returns how many were queued.
    /// Each run's status is read again first (another process may have changed it).
    int resumeSelected();
    /// Deletes the selected runs (asks first unless confirmations are off). Returns how many.
    int deleteSelected();
    /// Loads a run's spec (its sweep point) into the editor.
    bool loadRunSpec(qint64 runId);
    /// Sets one layer's entry of a per-layer map (prune.per_layer or quantize.per_layer) in
    /// the editor, as one undoable edit; what a sensitivity cell's click does.
    void setPerLayerTarget(const QString& key, const QString& layer, const Json& value);
    /// Looks for commits by other writers (retort-cli, a cluster sync) now instead of at the
    /// next poll; refreshes the table and plots when there were any. Returns whether there were.
    bool checkForOtherWriters();

    ExperimentEditor* editor() const { return m_editor; }
    RunsModel* runsModel() const { return m_model; }
    /// The runs: the table, or grouped by configuration (with the plots showing means).
    RunsPanel* runsPanel() const { return m_runs; }
    QTableView* runsView() const;
    LossCurvesPlot* lossPlot() const { return m_loss; }
    ParetoPlot* paretoPlot() const { return m_pareto; }
    RunController* controller() const { return m_controller.get(); }
    ExportController* exports() const { return m_exports; }
    SlurmController* slurm() const { return m_slurm.get(); }
    /// Run ▸ Submit to Slurm without the dialog: submits the editor's sweep with @p options.
    /// Returns the queued run ids (empty, with the reason in the status bar, on failure).
    QList<qint64> submitToSlurm(const retort::SlurmOptions& options);
    QAction* runAction() const { return m_runAction; }
    QString projectPath() const { return m_path; }
    /// When false, closing with runs in progress does not ask (tests).
    void setConfirmClose(bool confirm);

Q_SIGNALS:
    /// A queued run finished (any status); the table and plots are up to date.
    void runFinished(qint64 runId, retort::RunStatus status);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void createActions();
    void createDocks();
    void newProject();
    void openProjectDialog();
    void saveProjectAs();
    void importSpec();
    void exportSpec();
    void about();
    void updateRecentMenu();
    void addRecent(const QString& path);
    void refreshFromStore();
    void scheduleRefresh();
    void updatePlots();
    QList<qint64> selectedRunIds() const;
    void onProgress(const retort::Progress& p);
    void onRunFinished(qint64 runId, retort::RunStatus status, const QString& error);
    void updateActions();
    void showRunDetail(qint64 runId);
    /// A run's actions (details, its spec, model exports, delete), added to @p menu.
    void addRunActions(qint64 runId, QMenu* menu);
    void submitToSlurmDialog();
    void selectRun(qint64 runId);
    bool confirmStop(const QString& what);

    std::unique_ptr<ProjectStore> m_store;
    std::unique_ptr<RunController> m_controller;
    std::unique_ptr<SlurmController> m_slurm;
    QString m_path;
    ExperimentEditor* m_editor = nullptr;
    RunsPanel* m_runs = nullptr;
    RunsModel* m_model = nullptr;  // m_runs's
    LossCurvesPlot* m_loss = nullptr;
    ParetoPlot* m_pareto = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_progressText = nullptr;
    QMenu* m_recentMenu = nullptr;
    QAction *m_runAction = nullptr, *m_cancelAction = nullptr, *m_cancelAllAction = nullptr;
    QAction* m_slurmAction = nullptr;
    QAction *m_saveAsAction = nullptr, *m_closeAction = nullptr, *m_resumeAction = nullptr;
    QAction* m_deleteAction = nullptr;
    ExportController* m_exports = nullptr;
    QList<QAction*> m_exportActions;
    QTimer m_refresh;
    QTimer m_watch;  // polls the project's data_version for other writers
    int64_t m_dataVersion = -1;
    bool m_confirmClose = true;
    bool m_readOnly = false;
};

}  // namespace retort::ui

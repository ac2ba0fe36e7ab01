#include "window/mainwindow.h"

#include "slurm/slurmcontroller.h"
#include "slurm/slurmdialog.h"
#include "window/exportcontroller.h"

#include "editor/experimenteditor.h"
#include "plots/losscurvesplot.h"
#include "plots/paretoplot.h"
#include "runs/configurationsview.h"
#include "runs/runcontroller.h"
#include "runs/rundetaildialog.h"
#include "runs/runsmodel.h"
#include "runs/runspanel.h"
#include "store/projectstore.h"
#include "train/environment.h"

#include "plots/qcustomplotinclude.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QSaveFile>
#include <QSettings>
#include <QStatusBar>
#include <QTableView>
#include <QToolBar>
#include <QUndoStack>

// retort_ui is a static library: its Qt resources (the icon) must be registered by hand.
static void initResources() {
    Q_INIT_RESOURCE(resources);
}

namespace retort::ui {

namespace {
constexpr int kMaxRecent = 8;
QString lastFolder() {
    return QSettings().value(QStringLiteral("lastFolder"), QDir::homePath()).toString();
}
void rememberFolder(const QString& file) {
    QSettings().setValue(QStringLiteral("lastFolder"), QFileInfo(file).absolutePath());
}
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    initResources();
    setWindowIcon(QIcon(QStringLiteral(":/retort.svg")));
    m_runs = new RunsPanel(this);
    m_model = m_runs->model();
    connect(m_runs, &RunsPanel::filterChanged, this, &MainWindow::updatePlots);
    connect(m_runs, &RunsPanel::selectionChanged, this, [this](const QList<qint64>& ids) {
        m_pareto->setSelectedRuns(ids);
        m_loss->setFocusRuns(ids);
    });
    connect(m_runs, &RunsPanel::groupedChanged, this, [this](bool on) {
        m_pareto->setGrouped(on);
        m_loss->setGrouped(on);
    });
    connect(m_runs, &RunsPanel::runActivated, this, &MainWindow::showRunDetail);
    connect(m_runs, &RunsPanel::runMenuRequested, this, &MainWindow::addRunActions);
    setCentralWidget(m_runs);

    m_progress = new QProgressBar(this);
    m_progress->setMaximumWidth(240);
    m_progress->setTextVisible(true);
    m_progress->hide();
    m_progressText = new QLabel(this);
    statusBar()->addPermanentWidget(m_progressText);
    statusBar()->addPermanentWidget(m_progress);

    m_exports = new ExportController(this, [this] { return m_store.get(); });
    connect(m_exports, &ExportController::message, this,
            [this](const QString& text) { statusBar()->showMessage(text, 8000); });
    createDocks();
    createActions();
    m_refresh.setSingleShot(true);
    m_refresh.setInterval(100);
    connect(&m_refresh, &QTimer::timeout, this, &MainWindow::refreshFromStore);
    // Other writers (retort-cli, a Slurm sync, another workbench) commit to the project file;
    // SQLite's data_version says so cheaply, so a poll once a second is enough.
    m_watch.setInterval(1000);
    connect(&m_watch, &QTimer::timeout, this, [this] { checkForOtherWriters(); });

    QSettings s;
    if (!restoreGeometry(s.value(QStringLiteral("geometry")).toByteArray())) resize(1280, 800);
    restoreState(s.value(QStringLiteral("windowState")).toByteArray());
    m_pareto->setGrouped(m_runs->isGrouped());
    m_loss->setGrouped(m_runs->isGrouped());
    connect(m_runs->grouped(), &ConfigurationsView::baselineChanged, this,
            [this] { m_exports->setReportBaseline(m_runs->grouped()->baseline()); });
    updateRecentMenu();
    updateActions();
    setWindowTitle(tr("Retort"));
}

MainWindow::~MainWindow() {
    m_controller.reset();  // stops the worker thread before the store goes
}

void MainWindow::createDocks() {
    m_editor = new ExperimentEditor(this);
    auto* editorDock = new QDockWidget(tr("Experiment"), this);
    editorDock->setObjectName(QStringLiteral("experimentDock"));
    editorDock->setWidget(m_editor);
    editorDock->setMinimumWidth(380);
    addDockWidget(Qt::LeftDockWidgetArea, editorDock);
    connect(m_editor, &ExperimentEditor::validityChanged, this, [this] { updateActions(); });

    m_loss = new LossCurvesPlot(this);
    auto* lossDock = new QDockWidget(tr("Training Curves"), this);
    lossDock->setObjectName(QStringLiteral("lossDock"));
    lossDock->setWidget(m_loss);
    addDockWidget(Qt::BottomDockWidgetArea, lossDock);

    m_pareto = new ParetoPlot(this);
    auto* paretoDock = new QDockWidget(tr("Accuracy vs Size"), this);
    paretoDock->setObjectName(QStringLiteral("paretoDock"));
    paretoDock->setWidget(m_pareto);
    addDockWidget(Qt::BottomDockWidgetArea, paretoDock);
    splitDockWidget(lossDock, paretoDock, Qt::Horizontal);
    connect(m_pareto, &ParetoPlot::runClicked, this, &MainWindow::selectRun);
}

void MainWindow::createActions() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&New Project…"), QKeySequence::New, this, &MainWindow::newProject);
    file->addAction(tr("&Open Project…"), QKeySequence::Open, this, &MainWindow::openProjectDialog);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    m_saveAsAction = file->addAction(tr("Save Project &As…"), QKeySequence::SaveAs, this,
                                     &MainWindow::saveProjectAs);
    m_closeAction = file->addAction(tr("&Close Project"), QKeySequence::Close, this, [this] {
        if (confirmStop(tr("Close the project?"))) closeProject();
    });
    file->addSeparator();
    file->addAction(tr("&Import Spec…"), this, &MainWindow::importSpec);
    file->addAction(tr("&Export Spec…"), this, &MainWindow::exportSpec);
    file->addSeparator();
    m_exportActions = m_exports->addFileActions(file);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = m_editor->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction* redo = m_editor->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcut(QKeySequence::Redo);
    edit->addAction(undo);
    edit->addAction(redo);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    m_runAction = run->addAction(tr("&Run Experiment"), this, [this] { runExperiment(); });
    m_runAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_cancelAction = run->addAction(tr("&Cancel Current Run"), this, [this] {
        if (m_controller) m_controller->cancelCurrent();
    });
    m_cancelAction->setShortcut(QKeySequence(Qt::Key_Escape));
    m_cancelAllAction = run->addAction(tr("Cancel &All Runs"), this, &MainWindow::cancelRuns);
    run->addSeparator();
    m_slurmAction = run->addAction(tr("Submit to &Slurm…"), this, &MainWindow::submitToSlurmDialog);
    m_slurmAction->setToolTip(tr("Run the sweep on a cluster as a Slurm job array"));
    run->addSeparator();
    m_resumeAction = run->addAction(tr("Re&sume Selected Runs"), this, &MainWindow::resumeSelected);
    m_deleteAction =
        run->addAction(tr("&Delete Selected Runs…"), this, &MainWindow::deleteSelected);
    m_deleteAction->setShortcut(QKeySequence::Delete);
    m_deleteAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    // Delete in the runs' views only, not in the editor.
    m_runs->table()->addAction(m_deleteAction);
    m_runs->grouped()->view()->addAction(m_deleteAction);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* d : findChildren<QDockWidget*>()) view->addAction(d->toggleViewAction());

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Retort"), this, &MainWindow::about);

    QToolBar* bar = addToolBar(tr("Main"));
    bar->setObjectName(QStringLiteral("mainToolBar"));
    bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    bar->addAction(m_runAction);
    bar->addAction(m_cancelAction);
    bar->addSeparator();
    bar->addAction(undo);
    bar->addAction(redo);
}

bool MainWindow::openProject(const QString& path, bool readOnly) {
    std::unique_ptr<ProjectStore> store;
    readOnly = readOnly || (QFileInfo::exists(path) && !ProjectStore::writable(path.toStdString()));
    try {
        store = std::make_unique<ProjectStore>(
            path.toStdString(),
            readOnly ? ProjectStore::Access::ReadOnly : ProjectStore::Access::ReadWrite);
    } catch (const std::exception& e) {
        showError(this, tr("Open Project"), QString::fromUtf8(e.what()));
        return false;
    }
    closeProject();
    m_store = std::move(store);
    m_readOnly = readOnly;
    m_path = QFileInfo(path).absoluteFilePath();
    // A read-only project has no worker and no Slurm follower: nothing may write to it.
    if (!m_readOnly) m_controller = std::make_unique<RunController>(*m_store);
    if (m_controller) {
        connect(m_controller.get(), &RunController::progress, this, &MainWindow::onProgress);
        connect(m_controller.get(), &RunController::runStarted, this,
                [this] { scheduleRefresh(); });
        connect(m_controller.get(), &RunController::runFinished, this, &MainWindow::onRunFinished);
        connect(m_controller.get(), &RunController::idle, this, [this] {
            m_progress->hide();
            m_progressText->clear();
            updateActions();
        });
    }
    m_editor->setStore(m_store.get());
    if (!m_readOnly) m_slurm = std::make_unique<SlurmController>(m_path);
    if (m_slurm) {
        connect(m_slurm.get(), &SlurmController::synced, this,
                [this](const SyncReport&, const QString& summary) {
                    statusBar()->showMessage(summary, 9000);
                    scheduleRefresh();  // Slurm states change even when nothing was merged
                });
        connect(m_slurm.get(), &SlurmController::syncFailed, this, [this](const QString& e) {
            statusBar()->showMessage(tr("Slurm sync failed: %1").arg(e), 15000);
        });
        for (const SlurmTask& t : m_store->slurmTasks())
            if (!t.synced) {  // runs still out on the cluster: keep following them
                m_slurm->startPolling();
                m_slurm->syncNow();
                break;
            }
    }
    setWindowTitle(m_readOnly
                       ? tr("%1 [read-only] — Retort").arg(QFileInfo(path).completeBaseName())
                       : tr("%1 — Retort").arg(QFileInfo(path).completeBaseName()));
    if (m_readOnly)
        statusBar()->showMessage(
            tr("%1 is read-only for you: browse and export its runs; to add runs, save a copy "
               "(File ▸ Save Project As) somewhere writable.")
                .arg(m_path),
            20000);
    setWindowFilePath(m_path);
    addRecent(m_path);
    rememberFolder(m_path);
    refreshFromStore();
    m_dataVersion = m_store->dataVersion();
    m_watch.start();
    // The editor shows the project's last spec, unless the user has edited it since it opened.
    if (m_editor->undoStack()->isClean() && !m_model->runs().empty()) {
        const RunRecord& last = m_model->runs().back();
        loadRunSpec(last.id);
    }
    if (m_store->recoveredRuns() > 0)
        statusBar()->showMessage(
            tr("%n run(s) were interrupted by a crash or kill; they are marked interrupted.", "",
               m_store->recoveredRuns()),
            15000);
    updateActions();
    return true;
}

void MainWindow::closeProject() {
    m_watch.stop();
    m_dataVersion = -1;
    m_slurm.reset();
    if (m_controller) m_controller->cancelAll();
    m_controller.reset();
    m_editor->setStore(nullptr);
    m_store.reset();
    m_readOnly = false;
    m_path.clear();
    m_runs->clear();
    m_loss->clear();
    m_pareto->setRuns({});
    setWindowTitle(tr("Retort"));
    setWindowFilePath({});
    updateActions();
}

void MainWindow::newProject() {
    const QString path =
        QFileDialog::getSaveFileName(this, tr("New Project"), lastFolder() + "/untitled.retort",
                                     tr("Retort projects (*.retort)"));
    if (path.isEmpty()) return;
    const QString target = path.endsWith(QLatin1String(".retort")) ? path : path + ".retort";
    if (m_store && QFileInfo(target).canonicalFilePath() ==
                       QFileInfo(QString::fromStdString(m_store->path())).canonicalFilePath()) {
        showError(this, tr("New Project"),
                  tr("%1 is the open project; close it first to replace it.").arg(target));
        return;
    }
    try {
        // The file the user chose to replace, and its SQLite side files: left behind, SQLite
        // would replay an old -wal into the new project.
        ProjectStore::removeProjectFiles(target.toStdString());
    } catch (const std::exception& e) {
        showError(this, tr("New Project"), QString::fromUtf8(e.what()));
        return;
    }
    openProject(target);
}

void MainWindow::openProjectDialog() {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open Project"), lastFolder(), tr("Retort projects (*.retort);;All files (*)"));
    if (!path.isEmpty() && confirmStop(tr("Open another project?"))) openProject(path);
}

void MainWindow::saveProjectAs() {
    if (!m_store) return;
    const QString path = QFileDialog::getSaveFileName(this, tr("Save Project As"), lastFolder(),
                                                      tr("Retort projects (*.retort)"));
    if (path.isEmpty() ||
        !confirmStop(tr("Runs in progress stop when the project is saved under a new name.")))
        return;
    if (QFileInfo(path).canonicalFilePath() ==
        QFileInfo(QString::fromStdString(m_store->path())).canonicalFilePath()) {
        showError(this, tr("Save Project As"), tr("%1 is the open project.").arg(path));
        return;
    }
    try {
        ProjectStore::removeProjectFiles(path.toStdString());
        m_store->saveCopy(path.toStdString());
    } catch (const std::exception& e) {
        showError(this, tr("Save Project As"), QString::fromUtf8(e.what()));
        return;
    }
    openProject(path);
}

void MainWindow::importSpec() {
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Import Spec"), lastFolder(), tr("Spec (*.json)"));
    if (!path.isEmpty()) importSpecFile(path);
}

bool MainWindow::importSpecFile(const QString& path) {
    Json j;
    try {
        j = readSpecFile(path.toStdString());
    } catch (const SpecError& e) {
        QStringList lines;
        for (const auto& i : e.issues())
            lines << QString::fromStdString(i.key.empty() ? i.message : i.key + ": " + i.message);
        showError(this, tr("Import Spec"), lines.join('\n'));
        return false;
    }
    if (!j.is_object()) {
        showError(this, tr("Import Spec"), tr("%1 is not a JSON object.").arg(path));
        return false;
    }
    m_editor->setSpec(j);
    return true;
}

void MainWindow::exportSpec() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export Spec"), lastFolder() + "/spec.json", tr("Spec (*.json)"));
    if (path.isEmpty()) return;
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) ||
        f.write(QByteArray::fromStdString(m_editor->spec().dump(2) + "\n")) < 0 || !f.commit())
        showError(this, tr("Export Spec"), tr("Could not write %1.").arg(path));
}

void MainWindow::about() {
    const Json env = environmentInfo(torch::kCPU);
    auto text = [&](const char* key) {
        return QString::fromStdString(env[key].get<std::string>()).toHtmlEscaped();
    };
    QMessageBox::about(
        this, tr("About Retort"),
        tr("<h3>Retort %1</h3><p>A workbench for neural-network compression experiments: "
           "distillation, pruning and quantization.</p>"
           "<p>Retort %1 (revision %2)<br>Qt %3<br>LibTorch %4<br>QCustomPlot %5<br>BLAS: %6</p>")
            .arg(text("retort_version"), text("git_revision"), QString::fromLatin1(qVersion()),
                 text("libtorch"), QString::fromLatin1(QCUSTOMPLOT_VERSION_STR), text("blas")));
}

void MainWindow::addRecent(const QString& path) {
    QSettings s;
    QStringList recent = s.value(QStringLiteral("recentProjects")).toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > kMaxRecent) recent.removeLast();
    s.setValue(QStringLiteral("recentProjects"), recent);
    updateRecentMenu();
}

void MainWindow::updateRecentMenu() {
    m_recentMenu->clear();
    const QStringList recent = QSettings().value(QStringLiteral("recentProjects")).toStringList();
    for (const QString& p : recent)
        m_recentMenu->addAction(QFileInfo(p).fileName() + "  —  " + QFileInfo(p).absolutePath(),
                                this, [this, p] {
                                    if (confirmStop(tr("Open another project?"))) openProject(p);
                                });
    m_recentMenu->setEnabled(!recent.isEmpty());
}

int MainWindow::runExperiment() {
    if (m_store && m_readOnly) {
        statusBar()->showMessage(
            tr("%1 is read-only: save a copy somewhere writable to add runs.").arg(m_path), 15000);
        return 0;
    }
    if (!m_store || !m_controller) {
        QMessageBox::information(this, tr("Run"),
                                 tr("Create or open a project first (File ▸ New Project)."));
        return 0;
    }
    m_editor->validateNow();
    if (!m_editor->isValid()) {
        statusBar()->showMessage(m_editor->invalidReason(), 10000);
        return 0;
    }
    QList<qint64> ids;
    try {
        ids = m_controller->enqueue(m_editor->points());
    } catch (const std::exception& e) {
        showError(this, tr("Run"), QString::fromUtf8(e.what()));
        return 0;
    }
    m_progress->setRange(0, 0);
    m_progress->show();
    refreshFromStore();
    updateActions();
    return int(ids.size());
}

QList<qint64> MainWindow::submitToSlurm(const SlurmOptions& options) {
    QList<qint64> ids;
    if (!m_store || !m_slurm || m_readOnly) return ids;
    m_editor->validateNow();
    if (!m_editor->isValid()) {
        statusBar()->showMessage(m_editor->invalidReason(), 10000);
        return ids;
    }
    try {
        const SubmitResult r = m_slurm->submit(*m_store, m_editor->spec(), options);
        for (int64_t id : r.runs) ids << id;
        statusBar()->showMessage(
            tr("Submitted %n run(s) as Slurm job %1%2", "", int(ids.size()))
                .arg(QString::fromStdString(r.job_id))
                .arg(r.teacher_job.empty()
                         ? QString()
                         : tr(" after teacher job %1").arg(QString::fromStdString(r.teacher_job))),
            15000);
    } catch (const SpecError& e) {
        statusBar()->showMessage(
            tr("Cannot submit: %1").arg(QString::fromStdString(e.issues().front().message)), 15000);
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Cannot submit: %1").arg(QString::fromUtf8(e.what())), 15000);
        if (m_confirmClose) showError(this, tr("Submit to Slurm"), QString::fromUtf8(e.what()));
    }
    refreshFromStore();
    return ids;
}

void MainWindow::submitToSlurmDialog() {
    if (!m_store) return;
    m_editor->validateNow();
    if (!m_editor->isValid()) {
        statusBar()->showMessage(m_editor->invalidReason(), 10000);
        return;
    }
    const Json spec = m_editor->spec();
    const std::string project = m_store->path();
    SlurmDialog dialog(
        [spec, project](const SlurmOptions& o) {
            ProjectStore store(project, ProjectStore::Access::ReadOnly);
            return submitSweep(store, spec, o, SlurmController::defaultCli().toStdString(), true)
                .script;
        },
        this);
    if (dialog.exec() == QDialog::Accepted) submitToSlurm(dialog.options());
}

QList<qint64> MainWindow::selectedRunIds() const {
    return m_runs->selectedRunIds();
}

int MainWindow::resumeSelected() {
    if (!m_controller) return 0;
    QList<qint64> ids;
    QStringList changed;  // rows another writer changed since the table was read
    for (qint64 id : selectedRunIds()) {
        const int row = m_model->rowOf(id);
        const std::optional<RunStatus> shown =
            row >= 0 ? std::optional(m_model->run(row).status) : std::nullopt;
        std::optional<RunRecord> now;
        try {
            now = m_store->run(id);
        } catch (const std::exception& e) {
            statusBar()->showMessage(tr("Could not read run %1: %2").arg(id).arg(e.what()), 15000);
            return 0;
        }
        if (!now) {
            changed << tr("run %1 was deleted").arg(id);
            continue;
        }
        if (now->status != shown)
            changed
                << tr("run %1 is now %2").arg(id).arg(QString::fromUtf8(statusName(now->status)));
        if (now->status == RunStatus::Interrupted || now->status == RunStatus::Cancelled) ids << id;
    }
    if (!changed.isEmpty()) refreshFromStore();
    if (ids.isEmpty()) {
        statusBar()->showMessage(
            changed.isEmpty()
                ? tr("Select interrupted or cancelled runs to resume them.")
                : tr("Nothing to resume: %1 (changed by another process).").arg(changed.join(", ")),
            12000);
        return 0;
    }
    m_controller->resume(ids);
    if (!changed.isEmpty())
        statusBar()->showMessage(
            tr("Resuming %n run(s); %1 (changed by another process).", "", int(ids.size()))
                .arg(changed.join(", ")),
            12000);
    m_progress->setRange(0, 0);
    m_progress->show();
    updateActions();
    return int(ids.size());
}

int MainWindow::deleteSelected() {
    if (!m_store || m_readOnly) return 0;
    const QList<qint64> ids = selectedRunIds();
    if (ids.isEmpty()) return 0;
    if (m_confirmClose &&
        QMessageBox::question(this, tr("Delete Runs"),
                              tr("Delete %n run(s) with their curves, results and models? This "
                                 "cannot be undone.",
                                 "", int(ids.size()))) != QMessageBox::Yes)
        return 0;
    std::vector<int64_t> v(ids.begin(), ids.end());
    try {
        m_store->deleteRuns(v);
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Nothing deleted: %1").arg(QString::fromUtf8(e.what())), 15000);
        return 0;
    }
    statusBar()->showMessage(tr("Deleted %n run(s).", "", int(ids.size())), 8000);
    refreshFromStore();
    return int(ids.size());
}

bool MainWindow::loadRunSpec(qint64 runId) {
    std::optional<RunRecord> r;
    try {
        r = m_store ? m_store->run(runId) : std::nullopt;
    } catch (const std::exception&) {
    }
    if (!r || !r->spec.is_object()) return false;
    m_editor->setSpec(r->spec);
    statusBar()->showMessage(tr("The editor holds the spec of run %1 (%2).")
                                 .arg(runId)
                                 .arg(QString::fromStdString(r->name)),
                             8000);
    return true;
}

bool MainWindow::checkForOtherWriters() {
    if (!m_store) return false;
    try {
        const int64_t v = m_store->dataVersion();
        if (v == m_dataVersion) return false;
        m_dataVersion = v;
    } catch (const std::exception&) {
        return false;
    }
    refreshFromStore();
    return true;
}

void MainWindow::cancelRuns() {
    if (m_controller) m_controller->cancelAll();
}

void MainWindow::onProgress(const retort::Progress& p) {
    const auto [index, total] = m_controller->batchPosition();
    QString text = tr("Run %1/%2 · %3").arg(index).arg(total).arg(QString::fromStdString(p.stage));
    if (p.kind == Progress::Kind::Message) {
        text += QStringLiteral(": ") + QString::fromStdString(p.message);
    } else {
        text += tr(" · epoch %1/%2").arg(p.epoch).arg(p.epochs);
        if (p.kind == Progress::Kind::Batch)
            text += tr(" · batch %1/%2").arg(p.batch).arg(p.batches);
        text += tr(" · %1 s left").arg(qRound(p.eta_s));
        if (p.batches > 0 && p.epochs > 0) {
            m_progress->setRange(0, 1000);
            m_progress->setValue(
                int(1000.0 * (double(p.epoch - 1) + double(p.batch) / double(p.batches)) /
                    double(p.epochs)));
        }
    }
    m_progressText->setText(text);
    const int row = m_model->rowOf(p.run_id);
    const QString name =
        row >= 0 ? QString::fromStdString(m_model->run(row).name) : QString::number(p.run_id);
    if (p.stage == "student") {
        if (p.kind == Progress::Kind::Epoch) {
            m_loss->appendEpoch(p.run_id, name, int(p.epoch), p.metrics);
            m_model->setLiveStatus(p.run_id,
                                   tr("running · epoch %1/%2").arg(p.epoch).arg(p.epochs));
        } else if (p.kind == Progress::Kind::Batch) {
            m_loss->updateLive(p.run_id, double(p.epoch - 1) + double(p.batch) / double(p.batches),
                               p.loss);
            m_model->setLiveStatus(p.run_id,
                                   tr("running · epoch %1/%2").arg(p.epoch).arg(p.epochs));
        }
    } else if (p.stage == "teacher") {
        // What the teacher stage says it does (reusing a stored teacher is not training one).
        if (p.kind != Progress::Kind::Message)
            m_model->setLiveStatus(p.run_id,
                                   tr("training teacher · epoch %1/%2").arg(p.epoch).arg(p.epochs));
        else if (p.message.rfind("warning:", 0) != 0)
            m_model->setLiveStatus(p.run_id, QString::fromStdString(p.message));
    } else if (p.stage == "teacher_pretrain" || p.stage == "student_pretrain") {
        if (p.kind == Progress::Kind::Epoch)
            m_loss->appendPretrainingEpoch(p.run_id, name, p.stage, int(p.epoch), p.metrics);
        else if (p.kind == Progress::Kind::Batch && p.batches > 0)
            m_loss->updateLive(p.run_id, double(p.epoch - 1) + double(p.batch) / double(p.batches),
                               p.loss, p.stage + "_train_loss");
        m_model->setLiveStatus(
            p.run_id, tr("pretraining %1 · epoch %2/%3")
                          .arg(p.stage == "teacher_pretrain" ? tr("teacher") : tr("student"))
                          .arg(p.epoch)
                          .arg(p.epochs));
    }
}

void MainWindow::onRunFinished(qint64 runId, RunStatus status, const QString& error) {
    if (status == RunStatus::Failed)
        statusBar()->showMessage(tr("Run %1 failed: %2").arg(runId).arg(error), 20000);
    refreshFromStore();
    updateActions();
    Q_EMIT runFinished(runId, status);
}

void MainWindow::scheduleRefresh() {
    if (!m_refresh.isActive()) m_refresh.start();
}

void MainWindow::refreshFromStore() {
    m_refresh.stop();
    if (!m_store) return;
    try {
        m_runs->reload(*m_store);
        updatePlots();
    } catch (const std::exception& e) {
        statusBar()->showMessage(
            tr("Could not read the project: %1").arg(QString::fromUtf8(e.what())), 20000);
    }
}

void MainWindow::updatePlots() {
    if (!m_store) return;
    try {
        const auto runs = m_runs->visibleRuns();
        m_loss->setRuns(runs, *m_store);
        m_pareto->setRuns(runs);
        m_runs->updateGrouped(runs);
    } catch (const std::exception& e) {
        statusBar()->showMessage(
            tr("Could not read the project: %1").arg(QString::fromUtf8(e.what())), 20000);
    }
}

void MainWindow::updateActions() {
    const bool open = m_store != nullptr;
    const bool busy = m_controller && m_controller->busy();
    const bool writable = open && !m_readOnly;
    m_runAction->setEnabled(writable && m_editor->isValid());
    m_runAction->setToolTip(!open        ? tr("Create or open a project first")
                            : m_readOnly ? tr("The project is read-only")
                            : m_editor->isValid()
                                ? tr("Run %n run(s)", "", int(m_editor->points().size()))
                                : tr("Cannot run: %1").arg(m_editor->invalidReason()));
    if (!open)
        statusBar()->showMessage(
            tr("No project open: runs are stored in a project (File ▸ New Project… or Open "
               "Project…), then Run is enabled"));
    else if (!m_editor->isValid())
        statusBar()->showMessage(tr("Cannot run: %1").arg(m_editor->invalidReason()));
    else
        statusBar()->clearMessage();
    m_cancelAction->setEnabled(busy);
    m_cancelAllAction->setEnabled(busy);
    m_saveAsAction->setEnabled(open);
    m_resumeAction->setEnabled(writable);
    m_deleteAction->setEnabled(writable);
    m_closeAction->setEnabled(open);
    m_slurmAction->setEnabled(writable && m_editor->isValid());
    for (QAction* a : m_exportActions) a->setEnabled(open);
}

void MainWindow::setConfirmClose(bool confirm) {
    m_confirmClose = confirm;
    m_exports->setInteractive(confirm);
}

void MainWindow::addRunActions(qint64 id, QMenu* menu) {
    const auto run = m_store ? m_store->run(id) : std::nullopt;
    if (!run) return;
    menu->addAction(tr("Show &Details…"), this, [this, id] { showRunDetail(id); });
    menu->addAction(tr("&Load Spec into Editor"), this, [this, id] { loadRunSpec(id); });
    menu->addSeparator();
    m_exports->addModelActions(menu, id, run->status == RunStatus::Completed);
    if (!m_readOnly) {
        menu->addSeparator();
        menu->addAction(m_deleteAction);
    }
}

void MainWindow::showRunDetail(qint64 runId) {
    if (!m_store) return;
    RunDetailDialog dialog(*m_store, runId, this);
    connect(&dialog, &RunDetailDialog::perLayerTarget, this,
            [this, &dialog](const QString& key, const QString& layer, const Json& value) {
                setPerLayerTarget(key, layer, value);
                dialog.showTargets(m_editor->spec());
            });
    dialog.showTargets(m_editor->spec());
    dialog.exec();
}

void MainWindow::setPerLayerTarget(const QString& key, const QString& layer, const Json& value) {
    // One undoable edit of the whole map, keeping the other layers' entries.
    const Json* held = findDotted(m_editor->spec(), key.toStdString());
    Json map = held && held->is_object() ? *held : Json::object();
    map[layer.toStdString()] = value;
    m_editor->setValue(key, map);
    statusBar()->showMessage(
        tr("%1.%2 = %3 in the editor").arg(key, layer, QString::fromStdString(value.dump())), 8000);
}

QTableView* MainWindow::runsView() const {
    return m_runs->table();
}

void MainWindow::selectRun(qint64 runId) {
    m_runs->selectRun(runId);
}

bool MainWindow::confirmStop(const QString& what) {
    if (!m_controller || !m_controller->busy() || !m_confirmClose) return true;
    return QMessageBox::question(
               this, tr("Runs in Progress"),
               tr("%1\nThe run in progress will be cancelled (its completed epochs are kept) and "
                  "%n queued run(s) will not start.",
                  "", m_controller->queued())
                   .arg(what)) == QMessageBox::Yes;
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!confirmStop(tr("Quit Retort?"))) {
        event->ignore();
        return;
    }
    QSettings s;
    s.setValue(QStringLiteral("geometry"), saveGeometry());
    s.setValue(QStringLiteral("windowState"), saveState());
    closeProject();
    event->accept();
}

}  // namespace retort::ui

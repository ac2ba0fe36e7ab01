#include "guitestutil.h"
#include "testutil.h"

#include "cluster/slurm.h"
#include "editor/experimenteditor.h"
#include "editor/sweepeditor.h"
#include "plots/losscurvesplot.h"
#include "plots/paretoplot.h"
#include "plots/qcustomplotinclude.h"
#include "report/reportwriter.h"
#include "runs/configurationsview.h"
#include "runs/runcontroller.h"
#include "runs/rundetaildialog.h"
#include "runs/runsmodel.h"
#include "runs/runspanel.h"
#include "slurm/slurmcontroller.h"
#include "slurm/slurmdialog.h"
#include "spec/speckeys.h"
#include "spec/specvalidator.h"
#include "store/projectstore.h"
#include "train/runner.h"
#include "window/exportcontroller.h"
#include "window/mainwindow.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTreeView>
#include <QWheelEvent>

#include <algorithm>
#include <random>
#include <set>

using namespace retort;
using namespace retort::ui;

using test::screenshot;

namespace {

Json sweepSpec() {
    Json j = test::smallSyntheticSpec();
    j["threads"] = 1;  // leave a core to the GUI thread, as a researcher's machine would
    j["prune"] = {{"sparsity", 0.6}, {"begin_epoch", 1}, {"end_epoch", 2}};
    j["quantize"] = {{"bits", 8}};
    j["sweep"] = {{"distill.lambda", {0.0, 0.5}}, {"prune.sparsity", {0.3, 0.8}}};
    return j;
}

}  // namespace

class TestWorkbench : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

    std::unique_ptr<MainWindow> window(const char* project) {
        return test::openWindow(m_dir, project);
    }

private Q_SLOTS:
    void initTestCase() { test::keepSettingsIn(m_dir); }

    // With no project open Run is disabled, and the status bar says why and what to do.
    void noProjectSaysWhyRunIsDisabled() {
        MainWindow w;
        w.setConfirmClose(false);
        w.show();
        QAction* run = nullptr;
        for (QAction* a : w.findChildren<QAction*>())
            if (a->text() == QStringLiteral("&Run Experiment")) run = a;
        QVERIFY(run);
        QVERIFY(!run->isEnabled());
        QVERIFY2(w.statusBar()->currentMessage().contains("No project open"),
                 qPrintable(w.statusBar()->currentMessage()));
    }

    void readOnlyProjectIsBrowsedNotWritten() {
        // Before: Run on a read-only project threw StoreError through a slot to terminate,
        // losing the editor's changes. A project this user cannot write (forced here: root can
        // write anything) opens read-only, says so, and every write path refuses politely.
        const std::string path = m_dir.filePath("ro.retort").toStdString();
        {
            ProjectStore store(path);
            Json j = test::smallSyntheticSpec();
            SpecValidator v(&store);
            const auto p = v.plan(j).front();
            Runner runner(store);
            QCOMPARE(runner.run(store.createRun(p.name, p.spec.toJson(), p.params), p.spec).status,
                     RunStatus::Completed);
        }
        const std::string before = test::readFile(path);
        auto w = std::make_unique<MainWindow>();
        w->setConfirmClose(false);
        w->show();
        QVERIFY(w->openProject(QString::fromStdString(path), true));
        QVERIFY(w->isReadOnly());
        QVERIFY(w->windowTitle().contains("[read-only]"));
        QCOMPARE(w->runsModel()->rowCount(), 1);
        w->editor()->setSpec(test::smallSyntheticSpec());
        w->editor()->validateNow();
        QVERIFY(!w->runAction()->isEnabled());
        QCOMPARE(w->runExperiment(), 0);
        QCOMPARE(w->submitToSlurm(SlurmOptions{}).size(), 0);
        w->runsView()->selectRow(0);
        QCOMPARE(w->resumeSelected(), 0);
        QCOMPARE(w->deleteSelected(), 0);
        // Reading works: exports of every kind.
        QVERIFY(w->exports()->exportRuns(m_dir.filePath("ro-runs.csv")));
        QVERIFY(w->exports()->exportReport(m_dir.filePath("ro-report.html")));
        QVERIFY(w->exports()->exportModel(w->runsModel()->run(0).id, "onnx",
                                          m_dir.filePath("ro.onnx")));
        screenshot(w.get(), "workbench-read-only.png");
        // An export may not land on the project itself.
        QVERIFY(!w->exports()->exportRuns(QString::fromStdString(path)));
        w.reset();
        QCOMPARE(test::readFile(path), before);
        // (No side files are left in a folder the user cannot write: tst_cli checks that as a
        // user without write permission; root's forced read-only open may leave SQLite's -shm.)
    }

    void otherWritersAreSeenAndStaleRowsReadAgain() {
        // Before: runs that retort-cli added or finished in an open project never appeared
        // until the user started a run, and Resume on a stale row silently did nothing.
        auto w = window("watched.retort");
        QVERIFY(w);
        ProjectStore other(w->projectPath().toStdString());  // retort-cli, say
        const int64_t a =
            other.createRun("from the CLI", test::smallSyntheticSpec(), Json::object());
        QTRY_COMPARE_WITH_TIMEOUT(w->runsModel()->rowCount(), 1, 5000);
        other.setStatus(a, RunStatus::Interrupted, "killed");
        QTRY_COMPARE_WITH_TIMEOUT(w->runsModel()->run(0).status, RunStatus::Interrupted, 5000);
        // Another process completes it; Resume on the row, before the next poll, reads it again.
        other.setStatus(a, RunStatus::Completed);
        w->runsView()->selectRow(0);
        QCOMPARE(w->resumeSelected(), 0);
        QVERIFY2(w->statusBar()->currentMessage().contains("run " + QString::number(a) +
                                                           " is now completed"),
                 qPrintable(w->statusBar()->currentMessage()));
        QCOMPARE(w->runsModel()->run(0).status, RunStatus::Completed);

        // The id column names runs as the plots do.
        RunsModel* m = w->runsModel();
        QCOMPARE(m->headerData(RunsModel::Id, Qt::Horizontal, Qt::DisplayRole).toString(),
                 QStringLiteral("Id"));
        QCOMPARE(m->data(m->index(0, RunsModel::Id), Qt::DisplayRole).toString(),
                 QStringLiteral("#%1").arg(a));

        // Delete: a queued run is refused and nothing goes; the rest are deleted.
        const int64_t b = other.createRun("queued one", test::smallSyntheticSpec(), Json::object());
        QTRY_COMPARE_WITH_TIMEOUT(m->rowCount(), 2, 5000);
        w->runsView()->selectAll();
        QCOMPARE(w->deleteSelected(), 0);
        QVERIFY(w->statusBar()->currentMessage().contains("is queued"));
        QCOMPARE(other.runs().size(), size_t(2));
        other.setStatus(b, RunStatus::Cancelled);
        QTRY_COMPARE_WITH_TIMEOUT(m->run(m->rowOf(b)).status, RunStatus::Cancelled, 5000);
        w->runsView()->selectAll();
        QCOMPARE(w->deleteSelected(), 2);
        QCOMPARE(m->rowCount(), 0);
        QCOMPARE(other.runs().size(), size_t(0));
    }

    void projectStringsStayText() {
        ProjectStore store(m_dir.filePath("names.retort").toStdString());
        const std::string evil = "<script>alert(1)</script><b>bold</b>";
        const int64_t id = store.createRun(evil, Json::object(), Json::object());
        store.setStatus(id, RunStatus::Failed, "<img src=x onerror=alert(2)>");
        RunsModel m;
        m.reload(store);
        QCOMPARE(m.data(m.index(0, RunsModel::Name), Qt::DisplayRole).toString(),
                 QString::fromStdString(evil));
        const QString tip = m.data(m.index(0, RunsModel::Status), Qt::ToolTipRole).toString();
        QVERIFY(tip.contains("&lt;img src=x onerror=alert(2)&gt;"));
        QVERIFY(!tip.contains("<img"));
    }

    void runSweepLiveCurvesAndPareto() {
        auto w = window("sweep.retort");
        QVERIFY(w);
        w->editor()->setSpec(sweepSpec());
        QSignalSpy finished(w.get(), &MainWindow::runFinished);
        // Every live status the table shows, per run.
        RunsModel* m = w->runsModel();
        std::map<qint64, QStringList> statuses;
        connect(m, &QAbstractItemModel::dataChanged, this,
                [&](const QModelIndex& a, const QModelIndex& b) {
                    if (a.column() > RunsModel::Status || b.column() < RunsModel::Status) return;
                    for (int r = a.row(); r <= b.row() && r < m->rowCount(); ++r)
                        statuses[m->run(r).id]
                            << m->data(m->index(r, RunsModel::Status), Qt::DisplayRole).toString();
                });
        QCOMPARE(w->runExperiment(), 4);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 4, 120000);
        // The first run trains the teacher; the others say they reuse it (the status column
        // said "training teacher" while the status bar said "reusing the stored teacher").
        QString all;
        for (const auto& [id, seen] : statuses)
            all += QString::number(id) + ": " + seen.join('|') + "\n";
        QVERIFY2(statuses[m->run(0).id].join('|').contains("training teacher · epoch"),
                 qPrintable(all));
        for (int r = 1; r < 4; ++r) {
            const QString seen = statuses[m->run(r).id].join('|');
            QVERIFY2(seen.contains("reusing the teacher") && !seen.contains("training teacher"),
                     qPrintable(seen));
        }
        QCOMPARE(m->rowCount(), 4);
        for (int r = 0; r < 4; ++r) {
            QCOMPARE(m->run(r).status, RunStatus::Completed);
            QVERIFY(m->data(m->index(r, RunsModel::TestAccuracy), Qt::DisplayRole)
                        .toString()
                        .endsWith("%"));
            QVERIFY(m->run(r).results["test_accuracy"].get<double>() > 0.5);
            QCOMPARE(w->lossPlot()->pointCount(m->run(r).id, "train_loss"), 3);
        }
        QCOMPARE(m->data(m->index(1, RunsModel::Swept), Qt::DisplayRole).toString(),
                 QStringLiteral("lambda=0, sparsity=0.8"));
        QCOMPARE(w->paretoPlot()->pointCount(), 4);
        // The front, by brute force over the runs: not dominated on (validation accuracy,
        // compressed size).
        int front = 0;
        for (int a = 0; a < 4; ++a) {
            const Json& ra = m->run(a).results;
            bool dominated = false;
            for (int b = 0; b < 4; ++b) {
                const Json& rb = m->run(b).results;
                const double va = ra["val_accuracy"].get<double>(),
                             vb = rb["val_accuracy"].get<double>();
                const double sa = ra["compressed_size_bytes"].get<double>(),
                             sb = rb["compressed_size_bytes"].get<double>();
                dominated |= vb >= va && sb <= sa && (vb > va || sb < sa);
            }
            front += !dominated;
        }
        QCOMPARE(w->paretoPlot()->frontCount(), front);
        // The filter filters the plots as well as the table.
        auto* filter = w->findChild<QLineEdit*>(QStringLiteral("runFilter"));
        QVERIFY(filter);
        filter->setText("sparsity=0.8");
        QCOMPARE(w->paretoPlot()->pointCount(), 2);
        int curves = 0;
        for (int r = 0; r < 4; ++r)
            curves += w->lossPlot()->pointCount(m->run(r).id, "train_loss") > 0;
        QCOMPARE(curves, 2);
        filter->clear();
        QCOMPARE(w->paretoPlot()->pointCount(), 4);
        QVERIFY(w->paretoPlot()->csv().count('\n') == 5);
        // Clicking a Pareto point selects its run in the table.
        Q_EMIT w->paretoPlot()->runClicked(m->run(2).id);
        QCOMPARE(w->runsView()->selectionModel()->selectedRows().size(), 1);
        w->lossPlot()->setSmoothing(30);
        QApplication::processEvents();
        screenshot(w.get(), "workbench-done.png");

        // File ▸ Export … and the run menu's model export write through the same code as
        // retort-cli; a path that cannot be written fails with the path in the message.
        ExportController* ex = w->exports();
        for (const char* f : {"report.html", "report.pdf", "runs.json", "metrics.csv"}) {
            const QString path = m_dir.filePath(f);
            const bool ok = QString(f).startsWith("report") ? ex->exportReport(path)
                            : QString(f).startsWith("runs") ? ex->exportRuns(path)
                                                            : ex->exportMetrics(path);
            QVERIFY2(ok, qPrintable(ex->lastMessage()));
            QVERIFY(QFileInfo(path).size() > 100);
        }
        // What the exports hold: the four runs, and one metrics row per stored figure.
        const Json runs = Json::parse(test::readFile(m_dir.filePath("runs.json").toStdString()));
        QCOMPARE(runs["runs"].size(), size_t(4));
        size_t figures = 0;
        {
            ProjectStore store(w->projectPath().toStdString(), ProjectStore::Access::ReadOnly);
            for (const auto& r : store.runs()) figures += store.metrics(r.id).size();
        }
        const std::string metricsCsv = test::readFile(m_dir.filePath("metrics.csv").toStdString());
        QCOMPARE(size_t(std::count(metricsCsv.begin(), metricsCsv.end(), '\n')), figures + 1);
        QVERIFY(ex->exportModel(m->run(0).id, "onnx", m_dir.filePath("student.onnx")));
        QVERIFY(ex->exportModel(m->run(0).id, "pt", m_dir.filePath("student.pt")));
        QVERIFY(!ex->exportReport(m_dir.filePath("no/such/dir/report.html")));
        QVERIFY(ex->lastMessage().contains("no/such/dir/report.html"));
    }

    void slurmDialogRemembersItsOptions() {
        // The dialog reads and writes the [slurm] section retort-cli reads, keeping the rest.
        const QString settings = m_dir.filePath("config/settings.ini");
        QDir().mkpath(m_dir.filePath("config"));
        test::writeFile(settings.toStdString(), "[other]\nkeep = me\n");
        std::string previewed;
        SlurmDialog d([&](const SlurmOptions& o) {
            previewed = o.partition;
            return std::string("#SBATCH --partition=") + o.partition + "\n";
        });
        d.setSettingsPath(settings);
        SlurmOptions o;
        o.partition = "gpu";
        o.time = "02:00:00";
        o.cpus_per_task = 4;
        o.gres = "gpu:1";
        o.shared_dir = m_dir.filePath("shared").toStdString();
        d.setOptions(o);
        d.show();
        screenshot(&d, "slurm-dialog.png");
        d.accept();
        QCOMPARE(d.result(), int(QDialog::Accepted));
        const SlurmOptions back = loadSlurmSettings(settings.toStdString());
        QCOMPARE(back.partition, std::string("gpu"));
        QCOMPARE(back.cpus_per_task, int64_t(4));
        QCOMPARE(back.shared_dir, o.shared_dir);
        QVERIFY(test::readFile(settings.toStdString()).find("keep = me") != std::string::npos);
        SlurmDialog again([](const SlurmOptions&) { return std::string(); });
        again.setSettingsPath(settings);
        QCOMPARE(again.options().gres, std::string("gpu:1"));
        // Without a shared folder it does not submit.
        SlurmOptions none = back;
        none.shared_dir.clear();
        again.setOptions(none);
        again.accept();
        QVERIFY(again.result() != int(QDialog::Accepted));
    }

    void slurmSweepFromTheWorkbench() {
        // Needs a running cluster: tests/slurm/test-slurm.sh starts one and runs this with
        // RETORT_SLURM_SHARED set (and RETORT_SLURM_SPEC for another sweep than the default).
        const QString shared = qEnvironmentVariable("RETORT_SLURM_SHARED");
        if (shared.isEmpty()) QSKIP("no Slurm cluster (run by tests/slurm/test-slurm.sh)");
        auto w = window("slurm.retort");
        QVERIFY(w);
        Json spec = sweepSpec();
        if (qEnvironmentVariableIsSet("RETORT_SLURM_SPEC"))
            spec = Json::parse(
                test::readFile(qEnvironmentVariable("RETORT_SLURM_SPEC").toStdString()));
        w->editor()->setSpec(spec);
        const int points = int(w->editor()->points().size());
        SlurmOptions o;
        o.shared_dir = shared.toStdString();
        const QList<qint64> ids = w->submitToSlurm(o);
        QCOMPARE(ids.size(), points);
        RunsModel* m = w->runsModel();
        QCOMPARE(m->rowCount(), points);
        QVERIFY(m->data(m->index(0, RunsModel::Status), Qt::DisplayRole)
                    .toString()
                    .startsWith("Slurm"));
        QVERIFY(w->slurm()->polling());
        w->slurm()->setInterval(500);
        QStringList syncErrors;
        connect(w->slurm(), &SlurmController::syncFailed, this, [&](const QString& e) {
            qWarning("sync failed: %s", qPrintable(e));
            syncErrors << e;
        });
        connect(
            w->slurm(), &SlurmController::synced, this,
            [](const SyncReport&, const QString& summary) { qInfo("%s", qPrintable(summary)); });
        // Runs arrive one sync at a time: record how many were complete at each refresh.
        std::set<int> seen;
        auto completed = [&] {
            int n = 0;
            for (int r = 0; r < m->rowCount(); ++r) n += m->run(r).status == RunStatus::Completed;
            seen.insert(n);
            return n;
        };
        QTRY_VERIFY_WITH_TIMEOUT(completed() == points || !syncErrors.isEmpty(), 900000);
        QVERIFY2(syncErrors.isEmpty(), qPrintable(syncErrors.join("; ")));
        QVERIFY2(seen.size() >= 3, "the runs did not arrive one by one");  // 0, some, all
        QCOMPARE(w->paretoPlot()->pointCount(), points);
        const int epochs = spec["train"]["epochs"].get<int>();
        for (int r = 0; r < m->rowCount(); ++r)
            QCOMPARE(w->lossPlot()->pointCount(m->run(r).id, "train_loss"), epochs);
        QTRY_VERIFY_WITH_TIMEOUT(!w->slurm()->polling(), 5000);  // all synced: polling stops
        w->lossPlot()->setMetric("val_accuracy");
        screenshot(w.get(), "workbench-slurm.png");
    }

    void cancelMarksTheRunCancelled() {
        auto w = window("cancel.retort");
        QVERIFY(w);
        Json j = test::smallSyntheticSpec();
        j["train"]["epochs"] = 30;
        j["data"]["train_samples"] = 5000;
        w->editor()->setSpec(j);
        QSignalSpy finished(w.get(), &MainWindow::runFinished);
        connect(w->controller(), &RunController::progress, this, [&](const Progress& p) {
            if (p.kind == Progress::Kind::Epoch && p.stage == "student" && p.epoch == 1)
                w->controller()->cancelCurrent();
        });
        QCOMPARE(w->runExperiment(), 1);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        QCOMPARE(finished.at(0).at(1).value<RunStatus>(), RunStatus::Cancelled);
        QCOMPARE(w->runsModel()->run(0).status, RunStatus::Cancelled);
        QVERIFY(w->lossPlot()->pointCount(w->runsModel()->run(0).id, "train_loss") >=
                1);  // nothing lost
        // Resume continues it from its last completed epoch to the end.
        w->runsView()->selectRow(0);
        QCOMPARE(w->resumeSelected(), 1);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
        QCOMPARE(finished.at(1).at(1).value<RunStatus>(), RunStatus::Completed);
        QCOMPARE(w->runsModel()->run(0).status, RunStatus::Completed);
        QCOMPARE(w->lossPlot()->pointCount(w->runsModel()->run(0).id, "train_loss"),
                 30);  // every epoch, once
    }

    /// The README's screenshot: a real project (the demo sweep) opened in the workbench.
    /// Runs only when RETORT_SCREENSHOT_PROJECT names one.
    void plotsStayReadableWithNoFewAndManyRuns() {
        // Before: with 150 runs the curves' legend filled the dock and the plot shrank to a few
        // pixels; the Pareto legend cut names off ("label-onl"); with no runs both plots
        // collapsed to a strip. The runs here are synthetic rows (no training): only the layout
        // is under test.
        auto w = window("many.retort");
        QVERIFY(w);
        w->lossPlot()->setMetric("val_accuracy");
        const auto hint = [](QCustomPlot* p) {
            for (int i = 0; i < p->itemCount(); ++i)
                if (p->item(i)->objectName() == "plotHint")
                    return qobject_cast<QCPItemText*>(p->item(i))->text();
            return QString();
        };
        const auto entries = [](QCustomPlot* p) {  // itemCount() counts the grid's empty cells
            int n = 0;
            for (int i = 0; i < p->legend->itemCount(); ++i) n += p->legend->item(i) != nullptr;
            return n;
        };
        const auto check = [&](int runs) {
            QApplication::processEvents();
            w->lossPlot()->redrawNow();
            for (QCustomPlot* p : {w->lossPlot()->plot(), w->paretoPlot()->plot()}) {
                p->replot();
                // The legend never takes the plot: at most a third of its height.
                if (p->legend->visible())
                    QVERIFY2(p->legend->outerRect().height() <= p->height() / 3,
                             qPrintable(QString("%1 runs: legend %2 of %3 px high")
                                            .arg(runs)
                                            .arg(p->legend->outerRect().height())
                                            .arg(p->height())));
                QVERIFY2(p->axisRect()->height() > 60,
                         qPrintable(QString("%1 runs: axis rect %2 px high")
                                        .arg(runs)
                                        .arg(p->axisRect()->height())));
                QVERIFY2(p->axisRect()->width() > p->width() / 2,
                         qPrintable(QString("%1 runs: axis rect %2 of %3 px wide")
                                        .arg(runs)
                                        .arg(p->axisRect()->width())
                                        .arg(p->width())));
                // No legend entry is cut off at the plot's right edge.
                for (int i = 0; i < p->legend->itemCount(); ++i)
                    if (QCPAbstractLegendItem* item = p->legend->item(i))  // null: empty cell
                        QVERIFY2(item->outerRect().right() <= p->width(),
                                 qPrintable(
                                     QString("%1 runs: legend entry %2 cut off").arg(runs).arg(i)));
            }
        };
        check(0);
        QVERIFY(hint(w->lossPlot()->plot()).contains("No runs yet"));
        QVERIFY(hint(w->paretoPlot()->plot()).contains("No completed runs"));
        screenshot(w.get(), "workbench-0-runs.png");

        ProjectStore store(w->projectPath().toStdString());
        const auto addRuns = [&](int n) {
            std::mt19937 rng(11);
            std::uniform_real_distribution<double> u(0, 1);
            for (int i = 0; i < n; ++i) {
                Json spec = test::smallSyntheticSpec();
                const double lambda = (i % 4) * 0.25;
                spec["distill"]["lambda"] = lambda;
                if (i % 3 == 1) spec["prune"] = {{"sparsity", 0.5}};
                if (i % 5 == 2) spec["quantize"] = {{"bits", 8}};
                const int64_t id = store.createRun("synthetic " + std::to_string(i), spec,
                                                   {{"distill.lambda", lambda}, {"seed", i}});
                store.startRun(id, Json::object());
                for (int e = 1; e <= 5; ++e)
                    store.recordEpoch(id, e,
                                      {{"val_accuracy", 0.5 + 0.08 * e + 0.05 * u(rng)},
                                       {"train_loss", 1.5 / e + 0.1 * u(rng)}},
                                      "", "");
                const double acc = 0.8 + 0.15 * u(rng);
                store.finishRun(id, RunStatus::Completed,
                                {{"test_accuracy", acc},
                                 {"val_accuracy", acc},
                                 {"compressed_size_bytes", 5000 + 90000 * u(rng)}},
                                {}, {});
            }
        };
        addRuns(5);
        QTRY_COMPARE_WITH_TIMEOUT(w->runsModel()->rowCount(), 5, 5000);
        check(5);
        QCOMPARE(entries(w->lossPlot()->plot()), 5);  // few runs: all named
        QVERIFY(hint(w->lossPlot()->plot()).isEmpty());
        screenshot(w.get(), "workbench-5-runs.png");

        addRuns(145);
        QTRY_COMPARE_WITH_TIMEOUT(w->runsModel()->rowCount(), 150, 10000);
        check(150);
        QCOMPARE(entries(w->lossPlot()->plot()), 0);  // none selected: none named
        screenshot(w.get(), "workbench-150-runs.png");
        w->runsView()->selectRow(3);
        w->lossPlot()->redrawNow();
        QCOMPARE(entries(w->lossPlot()->plot()), 1);  // the selected run is named
        check(150);
        screenshot(w.get(), "workbench-150-runs-one-selected.png");
        // The report's curves with many runs: the legend names the Pareto-front runs only.
        QVERIFY(w->exports()->exportReport(
            QStringLiteral(RETORT_SCREENSHOT_DIR "/report-150-runs.pdf")));
    }

    void screenshotOfProject() {
        const QString project = qEnvironmentVariable("RETORT_SCREENSHOT_PROJECT");
        if (project.isEmpty()) QSKIP("set RETORT_SCREENSHOT_PROJECT to a project to photograph");
        MainWindow w;
        w.setConfirmClose(false);
        w.resize(1400, 900);  // the size issues judge the workbench at
        w.show();
        QVERIFY(w.openProject(project));
        // RETORT_SCREENSHOT_SPEC: the spec in the editor (default the demo's);
        // RETORT_SCREENSHOT_RUN: a run whose detail view (on its Samples tab for a text run)
        // is photographed too.
        QString specPath = qEnvironmentVariable("RETORT_SCREENSHOT_SPEC");
        if (specPath.isEmpty()) specPath = QStringLiteral(RETORT_SOURCE_DIR "/examples/demo.json");
        QFile spec(specPath);
        QVERIFY(spec.open(QIODevice::ReadOnly));
        w.editor()->setSpec(Json::parse(spec.readAll().toStdString()));
        QTest::qWait(1500);  // the editor's background data probe fills the budget box
        screenshot(&w, "workbench-project.png");
        screenshot(w.editor(), "editor-project.png");
        w.runsPanel()->setGrouped(true);  // grouped by configuration
        screenshot(&w, "workbench-project-grouped.png");
        w.runsPanel()->setGrouped(false);
        if (const int run = qEnvironmentVariableIntValue("RETORT_SCREENSHOT_RUN"); run > 0) {
            ProjectStore store(project.toStdString(), ProjectStore::Access::ReadOnly);
            RunDetailDialog d(store, run);
            d.resize(1000, 700);
            d.show();
            auto* tabs = d.findChild<QTabWidget*>();
            QVERIFY(tabs);
            for (int i = 0; i < tabs->count(); ++i)
                if (tabs->tabText(i) == QLatin1String("Samples")) tabs->setCurrentIndex(i);
            screenshot(&d, "run-detail.png");
        }
    }

    void runsASpecInTheWorkbench() {
        // A whole spec run from the workbench, as a user presses Run Experiment: set
        // RETORT_WORKBENCH_SPEC (and RETORT_WORKBENCH_PROJECT, default a temporary one), and
        // QTEST_FUNCTION_TIMEOUT (milliseconds) above the study's length: Qt Test stops a test
        // function after 5 minutes by default.
        const QString specPath = qEnvironmentVariable("RETORT_WORKBENCH_SPEC");
        if (specPath.isEmpty()) QSKIP("set RETORT_WORKBENCH_SPEC to a spec to run");
        QString project = qEnvironmentVariable("RETORT_WORKBENCH_PROJECT");
        if (project.isEmpty()) project = m_dir.filePath("workbench-spec.retort");
        MainWindow w;
        w.setConfirmClose(false);
        w.resize(1280, 800);
        w.show();
        QVERIFY(w.openProject(project));
        QFile spec(specPath);
        QVERIFY(spec.open(QIODevice::ReadOnly));
        w.editor()->setSpec(Json::parse(spec.readAll().toStdString()));
        QSignalSpy finished(&w, &MainWindow::runFinished);
        const int runs = w.runExperiment();
        QVERIFY(runs > 0);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), runs, 4 * 3600 * 1000);
        w.lossPlot()->setMetric("val_accuracy");
        screenshot(&w, "workbench-spec-done.png");
        // Grouped by configuration: the table, the means with whiskers, the bands.
        w.runsPanel()->setGrouped(true);
        auto* tree = w.runsPanel()->grouped()->view();
        tree->expand(tree->model()->index(0, 0));
        screenshot(&w, "workbench-spec-grouped.png");
        QVERIFY(
            w.exports()->exportReport(QStringLiteral(RETORT_SCREENSHOT_DIR "/report-spec.pdf")));
        // A StoreError here once ended a 29-minute study (examples/wordnet-lm.json) through
        // std::terminate with its message lost; it is reported now.
        int completed = 0;
        try {
            ProjectStore store(project.toStdString(), ProjectStore::Access::ReadOnly);
            for (const auto& r : store.runs()) completed += r.status == RunStatus::Completed;
        } catch (const std::exception& e) {
            QFAIL(e.what());
        }
        QVERIFY2(completed >= runs,
                 qPrintable(QString("%1 of %2 completed").arg(completed).arg(runs)));
    }

    void pretrainingIsPlotted() {
        // Two runs start from one masked-LM pretrained teacher: its curve is drawn live while
        // the first run pretrains, once (under that run) after a reload, in the run's detail
        // view and in the report.
        QTemporaryDir texts;
        Json j = test::textRunSpec("pre", test::writeSeparableTexts(texts, 40));
        j["teacher"] = {{"arch", "transformer"},
                        {"layers", 1},
                        {"d_model", 16},
                        {"heads", 2},
                        {"ffn", 32},
                        {"pretrain", {{"epochs", 3}, {"batch_size", 16}, {"lr", 2e-3}}},
                        {"train", {{"epochs", 1}, {"batch_size", 16}}}};
        j["student"] = {{"arch", "embedding_bag"}, {"embedding", 8}};
        j["train"] = {{"epochs", 1}, {"batch_size", 16}};
        j["sweep"] = {{"distill.lambda", {0.0, 0.5}}};
        auto w = window("pretraining.retort");
        QVERIFY(w);
        w->editor()->setSpec(j);
        QSignalSpy finished(w.get(), &MainWindow::runFinished);
        // Live: when the teacher's training begins, every pretraining epoch is on the plot.
        int liveAtTeacher = -1;
        connect(w->controller(), &RunController::progress, this, [&](const Progress& p) {
            if (liveAtTeacher < 0 && p.stage == "teacher")
                liveAtTeacher =
                    w->lossPlot()->pointCount(p.run_id, "teacher_pretrain_val_perplexity");
        });
        QCOMPARE(w->runExperiment(), 2);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 180000);
        QCOMPARE(liveAtTeacher, 3);
        const qint64 first = w->runsModel()->run(0).id, second = w->runsModel()->run(1).id;
        QCOMPARE(w->runsModel()->run(0).status, RunStatus::Completed);
        QCOMPARE(w->runsModel()->run(1).status, RunStatus::Completed);
        // Stored: drawn once, under the run that pretrained (the second reused it).
        // The second run shares the first's teacher: it pretrained nothing (before: its record
        // was the first's, "reused": false with the first's seconds).
        const Json shared = w->runsModel()->run(1).results["teacher_pretrain"];
        QCOMPARE(shared["id"].get<int64_t>(),
                 w->runsModel()->run(0).results["teacher_pretrain"]["id"].get<int64_t>());
        QVERIFY(shared["reused"].get<bool>());
        QCOMPARE(shared["seconds"].get<double>(), 0.0);
        QVERIFY(!w->runsModel()->run(0).results["teacher_pretrain"]["reused"].get<bool>());
        QCOMPARE(w->lossPlot()->pointCount(first, "teacher_pretrain_val_perplexity"), 3);
        QCOMPARE(w->lossPlot()->pointCount(first, "teacher_pretrain_train_loss"), 3);
        QCOMPARE(w->lossPlot()->pointCount(second, "teacher_pretrain_val_perplexity"), 0);
        const Json stored = w->runsModel()->run(0).results["teacher_pretrain"]["epochs"];
        QVERIFY(w->lossPlot()->csv().contains(
            QStringLiteral(",teacher_pretrain_val_perplexity,3,%1\n")
                .arg(stored[2]["val_perplexity"].get<double>(), 0, 'g', 10)));
        w->lossPlot()->setMetric("teacher_pretrain_val_perplexity");
        w->lossPlot()->redrawNow();
        int named = 0;
        for (int i = 0; i < w->lossPlot()->plot()->graphCount(); ++i)
            named += w->lossPlot()->plot()->graph(i)->name().startsWith(
                QStringLiteral("teacher pretrained (model 1, masked LM)"));
        QCOMPARE(named, 1);
        screenshot(w.get(), "workbench-pretraining.png");

        ProjectStore store(m_dir.filePath("pretraining.retort").toStdString(),
                           ProjectStore::Access::ReadOnly);
        RunDetailDialog d(store, second);
        auto* table = d.findChild<QTableWidget*>(QStringLiteral("pretraining-teacher"));
        QVERIFY(table);
        QCOMPARE(table->rowCount(), 3);
        QCOMPARE(table->item(2, 4)->text(),
                 QString::number(stored[2]["val_perplexity"].get<double>(), 'f', 2));
        const QString html = m_dir.filePath("pretraining.html");
        ReportWriter(store).write(html);
        QFile f(html);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QVERIFY(QString::fromUtf8(f.readAll())
                    .contains(QStringLiteral("Teacher pretraining: validation perplexity")));
    }

    void staysResponsiveWhileTraining() {
        auto w = window("responsive.retort");
        QVERIFY(w);
        Json j = sweepSpec();
        j.erase("sweep");
        j["data"]["train_samples"] = 20000;
        j["train"]["epochs"] = 25;
        w->editor()->setSpec(j);
        QSignalSpy finished(w.get(), &MainWindow::runFinished);
        // A 5 ms timer on the GUI thread: the longest gap between its ticks is the longest stall.
        QTimer tick;
        tick.setInterval(5);
        QElapsedTimer since;
        qint64 worst = 0, ticks = 0;
        connect(&tick, &QTimer::timeout, this, [&] {
            if (since.isValid())
                worst = std::max(worst, since.restart());
            else
                since.start();
            ++ticks;
        });
        bool shot = false;
        connect(w->controller(), &RunController::progress, this, [&](const Progress& p) {
            if (!shot && p.kind == Progress::Kind::Epoch && p.stage == "student" && p.epoch == 12) {
                shot = true;
                screenshot(w.get(), "workbench-running.png");
                since.invalidate();  // the screenshot's own pause is not a stall
            }
        });
        QCOMPARE(w->runExperiment(), 1);
        tick.start();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        tick.stop();
        qInfo("event loop: %lld ticks, longest gap %lld ms", ticks, worst);
        QVERIFY(shot);
        QVERIFY(ticks > 100);  // the run lasted long enough to measure
        QVERIFY2(worst < 50,
                 qPrintable(QStringLiteral("the event loop stalled for %1 ms").arg(worst)));
    }
};

QTEST_MAIN(TestWorkbench)
#include "tst_workbench.moc"

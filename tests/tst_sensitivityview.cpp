// The sensitivity heatmap in a run's details: one row a layer, one column a level, each cell
// the stored accuracy drop in points, darker where the drop is larger; clicking a cell writes
// that layer's target into the editor (prune.per_layer or quantize.per_layer) as one undoable
// edit that keeps the other layers' entries; the editor's field shows and checks the map; the
// report draws the same table. Photographed with a real CNN's table. A language-model run's
// details show its generated samples and continue a typed prompt on a worker thread.
#include "testutil.h"

#include "compress/sensitivity.h"
#include "editor/experimenteditor.h"
#include "plots/losscurvesplot.h"
#include "plots/paretoplot.h"
#include "report/reporthtml.h"
#include "runs/rundetaildialog.h"
#include "runs/sensitivityview.h"
#include "window/mainwindow.h"

#include <QComboBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTabWidget>
#include <QTableWidget>
#include <QUndoStack>

using namespace retort;
using namespace retort::ui;

namespace {

/// A hand-made table: conv1 is fragile at 90 %, fc1 is not.
Json handMadeTable() {
    Sensitivity s;
    s.baseline = 0.90;
    s.samples = 1000;
    s.layers = {"net.conv1.weight", "net.fc1.weight"};
    s.levels = {"sparsity 0.5", "sparsity 0.9", "int4"};
    const double acc[2][3] = {{0.89, 0.45, 0.899}, {0.901, 0.89, 0.90}};
    for (size_t r = 0; r < 2; ++r)
        for (size_t c = 0; c < 3; ++c)
            s.cells.push_back({s.layers[r], s.levels[c], acc[r][c], s.baseline - acc[r][c]});
    return s.toJson();
}

void clickCell(QTableWidget* t, int row, int column) {
    const QRect rect = t->visualItemRect(t->item(row, column));
    QTest::mouseClick(t->viewport(), Qt::LeftButton, {}, rect.center());
}

/// Clicks the cell of layer @p layer ("fc1") and level @p level ("sparsity 0.9"); false when
/// the table has no such row or column.
bool clickCell(QTableWidget* t, const QString& layer, const QString& level) {
    int row = -1, column = -1;
    for (int r = 0; r < t->rowCount(); ++r)
        if (t->verticalHeaderItem(r)->text() == layer) row = r;
    for (int c = 0; c < t->columnCount(); ++c)
        if (t->horizontalHeaderItem(c)->text() == level) column = c;
    if (row < 0 || column < 0) return false;
    clickCell(t, row, column);
    return true;
}

}  // namespace

class TestSensitivityView : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

private Q_SLOTS:
    void initTestCase() {
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope,
                           m_dir.filePath("settings"));
        QSettings::setDefaultFormat(QSettings::NativeFormat);
    }

    void levelsMapToKeys() {
        QCOMPARE(SensitivityView::targetOf("sparsity 0.7").first, QString("prune.per_layer"));
        QCOMPARE(SensitivityView::targetOf("sparsity 0.7").second, Json(0.7));
        QCOMPARE(SensitivityView::targetOf("int4").first, QString("quantize.per_layer"));
        QCOMPARE(SensitivityView::targetOf("int4").second, Json(4));
        QVERIFY(SensitivityView::targetOf("int3").first.isEmpty());
        QVERIFY(SensitivityView::targetOf("sparsity 1").first.isEmpty());
        // Darker for a larger drop; none and gains are white.
        QCOMPARE(report::sensitivityShade(0.0), QColor(Qt::white));
        QCOMPARE(report::sensitivityShade(-3.0), QColor(Qt::white));
        QVERIFY(report::sensitivityShade(0.5).green() < 255);
        QVERIFY(report::sensitivityShade(5.0).green() < report::sensitivityShade(0.5).green());
        QCOMPARE(report::sensitivityShade(40.0), report::sensitivityShade(10.0));
    }

    void heatmapDrivesTheEditor() {
        const QString path = m_dir.filePath("sens.retort");
        int64_t id = 0;
        {
            ProjectStore store(path.toStdString());
            id = store.createRun("cnn", test::smallSyntheticSpec(), {});
            store.startRun(id, Json::object());
            store.finishRun(id, RunStatus::Completed, {{"test_accuracy", 0.9}}, {}, {});
            store.saveArtifact(id, "sensitivity_teacher", handMadeTable().dump());
        }
        MainWindow w;
        w.setConfirmClose(false);
        w.resize(1280, 800);
        w.show();
        QVERIFY(w.openProject(path));
        ProjectStore reader(path.toStdString(), ProjectStore::Access::ReadOnly);
        RunDetailDialog dialog(reader, id, &w);
        connect(&dialog, &RunDetailDialog::perLayerTarget, &w, &MainWindow::setPerLayerTarget);
        auto* view = dialog.findChild<SensitivityView*>("sensitivity_teacher");
        QVERIFY(view);
        QVERIFY(!dialog.findChild<SensitivityView*>("sensitivity_student"));
        QTableWidget* t = view->table();
        QCOMPARE(t->rowCount(), 2);
        QCOMPARE(t->columnCount(), 3);
        QCOMPARE(t->verticalHeaderItem(0)->text(), QString("conv1"));
        QCOMPARE(t->horizontalHeaderItem(1)->text(), QString("sparsity 0.9"));
        QCOMPARE(t->item(0, 1)->text(), QString("+45.00"));
        QCOMPARE(t->item(1, 0)->text(), QString("-0.10"));  // a gain reads as one
        QVERIFY(t->item(0, 1)->background().color().green() <
                t->item(0, 0)->background().color().green());
        dialog.resize(760, 560);
        dialog.show();
        auto* tabs = dialog.findChild<QTabWidget*>();
        tabs->setCurrentWidget(view);
        QTest::qWait(50);
        QDir().mkpath(RETORT_SCREENSHOT_DIR);
        QVERIFY(dialog.grab().save(RETORT_SCREENSHOT_DIR "/run-detail-sensitivity.png"));

        ExperimentEditor* editor = w.editor();
        const int undoBefore = editor->undoStack()->count();
        clickCell(t, 1, 1);  // fc1 at 90 %
        clickCell(t, 0, 0);  // conv1 at 50 %
        clickCell(t, 1, 2);  // fc1 at int4
        const Json& spec = editor->spec();
        QCOMPARE(spec["prune"]["per_layer"], Json({{"conv1", 0.5}, {"fc1", 0.9}}));
        QCOMPARE(spec["quantize"]["per_layer"], Json({{"fc1", 4}}));
        // Edits of one key in a row merge into one undo step, as typing in a field does.
        QCOMPARE(editor->undoStack()->count(), undoBefore + 2);
        auto* field = qobject_cast<QLineEdit*>(editor->field("prune.per_layer"));
        QVERIFY(field);
        QCOMPARE(field->text(), QString("conv1=0.5, fc1=0.9"));
        // The heatmap marks what the editor holds: bold cells, the others plain.
        dialog.showTargets(editor->spec());
        QVERIFY(t->item(1, 1)->font().bold() && t->item(0, 0)->font().bold() &&
                t->item(1, 2)->font().bold());
        QVERIFY(!t->item(0, 1)->font().bold() && !t->item(1, 0)->font().bold());
        // The editor's student (an MLP) has no conv1: the field says so, naming the layers.
        editor->validateNow();
        QVERIFY(!editor->isValid());
        QVERIFY2(editor->fieldError("prune.per_layer").contains("conv1"),
                 qPrintable(editor->fieldError("prune.per_layer")));
        editor->undoStack()->undo();
        QVERIFY(!editor->spec()["quantize"].contains("per_layer") ||
                editor->spec()["quantize"]["per_layer"].empty());
        // Typed by hand, a bad value stays in the field and is named.
        field->setText("fc1=1.5");
        QMetaObject::invokeMethod(field, "editingFinished");
        editor->validateNow();
        QCOMPARE(field->text(), QString("fc1=1.5"));
        QVERIFY(editor->fieldError("prune.per_layer").contains("prune.per_layer.fc1"));
    }

    void perLayerRunFromTheWorkbench() {
        // A run started from the workbench with targets clicked in a sensitivity heatmap, as a
        // user would: a base spec in the editor, the run's details open, cells clicked, Run
        // Experiment. By default a small synthetic project with a hand-made table; with
        // RETORT_WORKBENCH_PROJECT, RETORT_WORKBENCH_SPEC, RETORT_SENSITIVITY_RUN (the run whose
        // teacher table is read) and RETORT_SENSITIVITY_CLICKS ("conv1=sparsity 0.3;fc1=int4")
        // a real one (README: the per-layer run).
        QString project = qEnvironmentVariable("RETORT_WORKBENCH_PROJECT");
        const QString specPath = qEnvironmentVariable("RETORT_WORKBENCH_SPEC");
        int64_t source = qEnvironmentVariableIntValue("RETORT_SENSITIVITY_RUN");
        QString clicks = qEnvironmentVariable("RETORT_SENSITIVITY_CLICKS");
        Json base = test::smallSyntheticSpec();
        base["prune"] = {{"sparsity", 0.5}};
        if (project.isEmpty()) {
            project = m_dir.filePath("perlayer-run.retort");
            ProjectStore store(project.toStdString());
            QCOMPARE(test::runAll(store, test::smallSyntheticSpec()).front().status,
                     RunStatus::Completed);
            // The hand-made table with the synthetic MLP's layer names (conv1 -> out).
            Sensitivity s = Sensitivity::fromJson(handMadeTable());
            s.layers[0] = "net.out.weight";
            for (auto& c : s.cells)
                if (c.layer == "net.conv1.weight") c.layer = "net.out.weight";
            store.saveArtifact(1, "sensitivity_teacher", s.toJson().dump());
            source = 1;
            clicks = QStringLiteral("fc1=sparsity 0.9;out=sparsity 0.5;fc1=int4");
        } else {
            QFile f(specPath);
            QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(specPath));
            base = Json::parse(f.readAll().toStdString());
        }
        MainWindow w;
        w.setConfirmClose(false);
        w.resize(1280, 800);
        w.show();
        QVERIFY(w.openProject(project));
        w.editor()->setSpec(base);
        int64_t before = 0;
        {
            ProjectStore reader(project.toStdString(), ProjectStore::Access::ReadOnly);
            before = int64_t(reader.runs().size());
            RunDetailDialog dialog(reader, source, &w);
            connect(&dialog, &RunDetailDialog::perLayerTarget, &w, &MainWindow::setPerLayerTarget);
            dialog.resize(900, 420);
            dialog.show();
            auto* view = dialog.findChild<SensitivityView*>("sensitivity_teacher");
            QVERIFY(view && view->table());
            dialog.findChild<QTabWidget*>()->setCurrentWidget(view);
            for (const QString& click : clicks.split(';', Qt::SkipEmptyParts)) {
                const QString layer = click.section('=', 0, 0), level = click.section('=', 1);
                QVERIFY2(clickCell(view->table(), layer, level), qPrintable(click));
            }
            dialog.showTargets(w.editor()->spec());  // as the workbench's dialog does
            QTest::qWait(50);
            QDir().mkpath(RETORT_SCREENSHOT_DIR);
            // A real project's picture keeps a name of its own (the README shows it).
            QVERIFY(dialog.grab().save(
                QStringLiteral(RETORT_SCREENSHOT_DIR "/sensitivity-clicked%1.png")
                    .arg(qEnvironmentVariableIsEmpty("RETORT_WORKBENCH_PROJECT")
                             ? QString()
                             : QStringLiteral("-project"))));
        }
        QSignalSpy finished(&w, &MainWindow::runFinished);
        const int runs = w.runExperiment();
        QVERIFY2(runs > 0, qPrintable(w.editor()->invalidReason()));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), runs, 4 * 3600 * 1000);
        std::vector<RunRecord> all;
        try {
            ProjectStore store(project.toStdString(), ProjectStore::Access::ReadOnly);
            all = store.runs();
        } catch (const std::exception& e) {
            QFAIL(e.what());
        }
        ProjectStore store(project.toStdString(), ProjectStore::Access::ReadOnly);
        QCOMPARE(int64_t(all.size()), before + runs);
        for (size_t i = size_t(before); i < all.size(); ++i) {
            const RunRecord& r = all[i];
            QVERIFY2(r.status == RunStatus::Completed, r.error.c_str());
            QVERIFY(!r.spec["prune"]["per_layer"].empty());
            const std::string quantize =
                r.spec.contains("quantize") ? r.spec.at("quantize").dump() : std::string();
            qInfo("run %lld %s: per_layer %s %s, test %s, val %s", (long long)r.id, r.name.c_str(),
                  r.spec.at("prune").at("per_layer").dump().c_str(), quantize.c_str(),
                  r.results.value("test_accuracy", Json()).dump().c_str(),
                  r.results.value("val_accuracy", Json()).dump().c_str());
        }
        if (qEnvironmentVariableIsEmpty("RETORT_WORKBENCH_PROJECT")) {
            const RunRecord& r = all.back();
            QCOMPARE(r.spec["prune"]["per_layer"], Json({{"fc1", 0.9}, {"out", 0.5}}));
            QCOMPARE(r.spec["quantize"]["per_layer"], Json({{"fc1", 4}}));
            for (const auto& l : store.layers(r.id))
                if (l.layer == "net.fc1.weight")
                    QCOMPARE(l.nonzero, l.numel - std::llround(0.9 * double(l.numel)));
        }
    }

    void reportDrawsTheHeatmap() {
        ProjectStore store(m_dir.filePath("report.retort").toStdString());
        QVERIFY(report::sensitivityHtml(store, store.runs()).isEmpty());
        const int64_t id = store.createRun("cnn <b>", test::smallSyntheticSpec(), {});
        store.startRun(id, Json::object());
        store.finishRun(id, RunStatus::Completed, {{"test_accuracy", 0.9}}, {}, {});
        store.saveArtifact(id, "sensitivity_teacher", handMadeTable().dump());
        const QString h = report::sensitivityHtml(store, store.runs());
        QVERIFY(h.contains("Per-layer sensitivity"));
        QVERIFY(h.contains("<code>conv1</code>"));
        QVERIFY(h.contains("+45.00"));
        QVERIFY(h.contains(report::sensitivityShade(45.0).name()));
        QVERIFY(h.contains("cnn &lt;b&gt;"));  // names escaped
    }

    // The stored samples in a table; a typed prompt continued by student and teacher off the GUI
    // thread (the event loop keeps running while it works).
    void languageModelRunGeneratesFromAPrompt() {
        QTemporaryDir dir;
        const std::string file = test::writeSeparableTexts(dir, 30);
        Json j = test::textRunSpec("lm", file);
        j["task"] = "language_model";
        j["teacher"] = {{"arch", "transformer"},
                        {"layers", 1},
                        {"d_model", 16},
                        {"heads", 2},
                        {"ffn", 32},
                        {"dropout", 0.0},
                        {"train", {{"epochs", 4}, {"batch_size", 16}, {"lr", 3e-3}}}};
        j["student"] = {
            {"arch", "transformer"}, {"layers", 1}, {"d_model", 16}, {"heads", 2}, {"ffn", 32}};
        j["distill"] = {{"lambda", 0.5}, {"temperature", 1.0}, {"top_k", 8}};
        j["train"] = {{"epochs", 3}, {"batch_size", 16}, {"lr", 3e-3}};
        const std::string path = dir.filePath("lm.retort").toStdString();
        {
            ProjectStore store(path);
            const auto outcomes = test::runAll(store, j);
            QCOMPARE(outcomes.size(), size_t(1));
            QVERIFY2(outcomes[0].status == RunStatus::Completed, outcomes[0].error.c_str());
        }
        ProjectStore reader(path, ProjectStore::Access::ReadOnly);
        RunDetailDialog dialog(reader, 1);
        dialog.resize(900, 560);
        dialog.show();
        auto* table = dialog.findChild<QTableWidget*>("generated");
        QVERIFY(table);
        // Per-epoch figures read as figures: perplexity with two decimals, accuracy in percent,
        // loss with four (they were 6 significant digits: "2.46112").
        auto* tabs0 = dialog.findChild<QTabWidget*>();
        auto* metrics = qobject_cast<QTableWidget*>(tabs0->widget(0));
        QVERIFY(metrics);
        int checkedCells = 0;
        for (int c = 1; c < metrics->columnCount(); ++c) {
            const QString name = metrics->horizontalHeaderItem(c)->text();
            const QString v = metrics->item(0, c)->text();
            if (name == "val_perplexity") {
                QVERIFY2(QRegularExpression("^\\d+\\.\\d\\d$").match(v).hasMatch(), qPrintable(v));
                ++checkedCells;
            }
            if (name == "val_accuracy") {
                QVERIFY2(QRegularExpression("^\\d+\\.\\d\\d %$").match(v).hasMatch(),
                         qPrintable(v));
                ++checkedCells;
            }
            if (name == "train_loss") {
                QVERIFY2(QRegularExpression("^\\d+\\.\\d{4}$").match(v).hasMatch(), qPrintable(v));
                ++checkedCells;
            }
        }
        QCOMPARE(checkedCells, 3);
        QCOMPARE(table->rowCount(), 3);
        QCOMPARE(table->columnCount(), 5);
        auto* prompt = dialog.findChild<QLineEdit*>("prompt");
        auto* go = dialog.findChild<QPushButton*>("generate");
        auto* out = dialog.findChild<QPlainTextEdit*>("generatedOutput");
        QVERIFY(prompt && go && out);
        QVERIFY(go->isEnabled());
        auto* tabs = dialog.findChild<QTabWidget*>();
        tabs->setCurrentWidget(table->parentWidget());
        prompt->setText(QStringLiteral("sample 3 river"));
        go->click();
        QVERIFY(!go->isEnabled());  // working, off the GUI thread
        QTRY_VERIFY_WITH_TIMEOUT(go->isEnabled(), 30000);
        const QString text = out->toPlainText();
        QVERIFY2(text.contains("student, greedy: sample 3 river |") &&
                     text.contains("teacher, top-10 (seed 1): sample 3 river |") &&
                     text.count("(stopped: ") == 4,
                 qPrintable(text));
        // Stored samples say why each stopped (the cell's tooltip); an empty prompt starts a
        // text from the start mark.
        QVERIFY(table->item(0, 1)->toolTip().startsWith("stopped: "));
        prompt->clear();
        go->click();
        QTRY_VERIFY_WITH_TIMEOUT(go->isEnabled(), 30000);
        QVERIFY2(out->toPlainText().contains("student, greedy:  |"),
                 qPrintable(out->toPlainText()));
        QDir().mkpath(RETORT_SCREENSHOT_DIR);
        QVERIFY(dialog.grab().save(QStringLiteral(RETORT_SCREENSHOT_DIR "/lm-run-detail.png")));
        // The curves of a language-model project open on validation perplexity, as its size
        // plot does (they opened on next-token accuracy), and offer only recorded metrics.
        LossCurvesPlot curves;
        curves.setRuns(reader.runs(), reader);
        QCOMPARE(curves.metric(), QStringLiteral("val_perplexity"));
        auto* metricBox = curves.findChild<QComboBox*>();
        QVERIFY(metricBox);
        auto* items = qobject_cast<QStandardItemModel*>(metricBox->model());
        QVERIFY(items);
        QVERIFY(!items->item(metricBox->findData(QStringLiteral("val_macro_f1")))->isEnabled());
        QVERIFY(items->item(metricBox->findData(QStringLiteral("val_perplexity")))->isEnabled());
        // The accuracy-versus-size plot places language models by perplexity.
        ParetoPlot plot;
        plot.setRuns(reader.runs());
        QVERIFY(plot.byPerplexity());
        QCOMPARE(plot.frontCount(), 1);
        plot.setGrouped(true);
        QVERIFY(plot.byPerplexity());  // configuration means: perplexity too
        QCOMPARE(plot.configurationCount(), 1);
        QVERIFY(plot.configurationWhisker(0).first > 1);  // a perplexity, not a fraction
        QVERIFY(plot.csv().contains("selection_perplexity_mean"));
    }
};

QTEST_MAIN(TestSensitivityView)
#include "tst_sensitivityview.moc"

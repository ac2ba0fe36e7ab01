// The experiment editor: its fields come from the key registry and show what a run would use,
// its probes of the data run off the GUI thread, the wheel only changes a focused field, an
// invalid value disables Run with its message, and the Budget box follows the spec.

#include "guitestutil.h"
#include "testutil.h"

#include "editor/experimenteditor.h"
#include "editor/sweepeditor.h"
#include "spec/speckeys.h"
#include "spec/specvalidator.h"
#include "store/projectstore.h"
#include "window/mainwindow.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QWheelEvent>

using namespace retort;
using namespace retort::ui;

using test::screenshot;

class TestEditor : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

    std::unique_ptr<MainWindow> window(const char* project) {
        return test::openWindow(m_dir, project);
    }

private Q_SLOTS:
    void initTestCase() { test::keepSettingsIn(m_dir); }

    void editorFieldsComeFromTheKeyRegistry() {
        // Before the registry the editor had its own key list: no field for weight_decay,
        // momentum, normalize, limit_test or updates_per_epoch, and quantize.bits was not a
        // sweep key. Now every registry key with a field has one, with the registry's help
        // as tooltip, and every sweepable key is offered by the sweep table.
        ExperimentEditor e;
        for (const SpecKey& k : specKeys()) {
            QWidget* w = e.field(QString::fromStdString(k.key));
            if (!k.in_editor) continue;
            QVERIFY2(w, k.key.c_str());
        }
        for (const char* k :
             {"train.weight_decay", "train.momentum", "data.normalize", "data.limit_test",
              "prune.updates_per_epoch", "teacher.train.lr", "teacher.train.optimizer",
              "teacher.train.batch_size", "teacher.train.lr_schedule", "teacher.train.weight_decay",
              "teacher.train.grad_clip"})
            QVERIFY2(e.field(k), k);
        // The teacher's optimizer keys were not in the editor (only its epochs): set one, then
        // the epochs, and both stay.
        e.setValue("teacher.train", Json{{"epochs", 2}});
        e.setValue("teacher.train.lr", 0.01);
        auto* epochs = qobject_cast<QSpinBox*>(e.field("teacher.train"));
        QVERIFY(epochs);
        epochs->setValue(5);
        QCOMPARE(e.spec()["teacher"]["train"], (Json{{"epochs", 5}, {"lr", 0.01}}));
        QVERIFY(e.field("train.lr")->toolTip().contains("learning rate"));
        auto* sweep = e.findChild<SweepEditor*>();
        QVERIFY(sweep);
        const QStringList keys = sweep->keys();
        QVERIFY(keys.contains("quantize.bits"));
        QVERIFY(!keys.contains("name"));
        // Every sweepable key, the student's seed through the Seeds field below the table.
        QVERIFY(!keys.contains("seed"));
        QVERIFY(sweep->findChild<QLineEdit*>(QStringLiteral("seeds")));
        for (const SpecKey& k : specKeys())
            if (k.sweepable && k.type != KeyType::Section && k.key != "seed")
                QVERIFY2(keys.contains(QString::fromStdString(k.key)), k.key.c_str());
        // Visibility follows the registry's conditions: csv keys only for csv data.
        e.show();
        e.setValue("data.format", "idx");
        QVERIFY(!e.field("data.label_column")->isVisibleTo(&e));
        e.setValue("data.format", "csv");
        QVERIFY(e.field("data.label_column")->isVisibleTo(&e));
        // Without pruning its keys are there but disabled.
        QVERIFY(!e.field("prune.sparsity")->isEnabled());
        e.setValue("prune", Json::object());
        QVERIFY(e.field("prune.sparsity")->isEnabled());
    }

    // A stored spec leaves defaults out; every field must then show the registry's default
    // (what the run uses), not its widget's minimum (layers 1, heads 1, dropout 0, top_k 1 were
    // shown for 2, 4, 0.1, 32). Opening another spec resets every field, the task included.
    void editorShowsDefaultsOfOmittedKeys() {
        ExperimentEditor e;
        const Json lm = {{"name", "lm"},
                         {"task", "language_model"},
                         {"data", {{"format", "text"}, {"path", "/nonexistent.tsv"}}},
                         {"teacher", {{"arch", "transformer"}}},
                         {"student", {{"arch", "transformer"}}},
                         {"distill", {{"lambda", 0.5}}}};
        e.setSpec(lm);
        int checked = 0;
        std::string wrong;
        for (const SpecKey& k : specKeys()) {
            if (!k.in_editor || k.type == KeyType::Section || k.default_value.is_null()) continue;
            const QString key = QString::fromStdString(k.key);
            if (findDotted(lm, k.key) || !e.field(key)) continue;
            const Json shown = e.fieldValue(key);
            const bool same =
                k.default_value.is_number() && shown.is_number()
                    ? std::abs(shown.get<double>() - k.default_value.get<double>()) < 1e-9
                    : shown == k.default_value;
            if (!same)
                wrong += k.key + " shows " + shown.dump() + " (default " + k.default_value.dump() +
                         "); ";
            ++checked;
        }
        QVERIFY2(wrong.empty(), wrong.c_str());
        QVERIFY(checked > 40);
        QCOMPARE(e.fieldValue("distill.top_k"), Json(32));
        // A decoder has no pooling and its pretraining masks nothing: those fields are hidden
        // for a language model (the keys still apply: the written spec keeps them).
        e.show();
        e.setValue("teacher.pretrain", Json::object());
        QVERIFY(!e.field("student.pooling")->isVisibleTo(&e));
        QVERIFY(!e.field("teacher.pretrain.mask_fraction")->isVisibleTo(&e));
        QVERIFY(e.field("teacher.pretrain.epochs")->isVisibleTo(&e));
        std::vector<SpecIssue> ignored;
        QVERIFY(ExperimentSpec::fromJson(e.spec(), ignored)
                    .toJson()["teacher"]["pretrain"]
                    .contains("mask_fraction"));
        // A classification spec after it: the task box follows the new spec.
        Json cls = lm;
        cls.erase("task");
        e.setSpec(cls);
        QCOMPARE(e.fieldValue("task"), Json("classification"));
        QVERIFY(e.field("student.pooling")->isVisibleTo(&e));
        // The path's label says what it is for each format (a text file was labelled "Folder",
        // then "Data path"); a language model hides the label column and shows the stream.
        QCOMPARE(e.fieldLabel("data.path"), QStringLiteral("Text file"));
        QVERIFY(e.field("data.label")->isVisibleTo(&e) && !e.field("data.stream")->isVisibleTo(&e));
        e.setValue("data.format", "wordnet");
        QCOMPARE(e.fieldLabel("data.path"), QStringLiteral("WordNet folder"));
        e.setValue("data.format", "idx");
        QCOMPARE(e.fieldLabel("data.path"), QStringLiteral("Data folder"));
        e.setSpec(lm);
        QVERIFY(!e.field("data.label")->isVisibleTo(&e) && e.field("data.stream")->isVisibleTo(&e));
    }

    void probesRunOffTheGuiThread() {
        // Before: every edit probed the data (a whole CSV parse) and loaded TorchScript teachers
        // on the GUI thread. Now an edit to an unprobed data folder reports "checking … in the
        // background" at once, and the editor becomes valid when the probe is done.
        const QString dir = m_dir.filePath("probe-csv");
        QDir().mkpath(dir);
        std::string rows;
        for (int i = 0; i < 400; ++i)
            rows += std::to_string(i % 2) + "," + std::to_string(i % 2 + 0.01 * (i % 9)) + ",1\n";
        test::writeFile((dir + "/train.csv").toStdString(), rows);
        test::writeFile((dir + "/test.csv").toStdString(),
                        rows.substr(0, rows.find('\n', 300) + 1));
        auto w = window("probe.retort");
        QVERIFY(w);
        ExperimentEditor* e = w->editor();
        Json j = test::smallSyntheticSpec();
        j["teacher"] = nullptr;
        j["distill"] = {{"lambda", 0.0}};
        e->setSpec(j);
        QVERIFY(e->isValid());
        QSignalSpy validity(e, &ExperimentEditor::validityChanged);
        e->setValue("data", Json{{"format", "csv"}, {"path", dir.toStdString()}});
        QTRY_VERIFY_WITH_TIMEOUT(validity.count() >= 1, 5000);
        // The first answer came before the probe: the data is being checked, Run waits.
        QCOMPARE(validity.first().at(0).toBool(), false);
        QVERIFY2(validity.first().at(1).toString().contains("in the background"),
                 qPrintable(validity.first().at(1).toString()));
        QTRY_VERIFY2_WITH_TIMEOUT(e->isValid(), qPrintable(e->invalidReason()), 20000);
        QVERIFY(e->budgetText().contains("2 classes"));
    }

    void wheelChangesOnlyTheFocusedField() {
        // Before: scrolling the Experiment panel changed whatever spin or combo box passed
        // under the pointer (Teacher ▸ Source became "none", lambda 0.00, unnoticed).
        auto w = window("wheel.retort");
        QVERIFY(w);
        ExperimentEditor* e = w->editor();
        e->setSpec(test::smallSyntheticSpec());
        const Json before = e->spec();
        for (const char* key : {"distill.lambda", "distill.temperature", "train.epochs"}) {
            QWidget* f = e->field(key);
            QVERIFY2(f, key);
            QVERIFY(!f->hasFocus());
            QWheelEvent wheel(QPointF(5, 5), f->mapToGlobal(QPointF(5, 5)), QPoint(),
                              QPoint(0, -120), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase,
                              false);
            QApplication::sendEvent(f, &wheel);
        }
        QCOMPARE(e->spec().dump(), before.dump());
        // A focused field still takes the wheel.
        QWidget* lambda = e->field("distill.lambda");
        lambda->setFocus();
        QTRY_VERIFY(lambda->hasFocus());
        QWheelEvent wheel(QPointF(5, 5), lambda->mapToGlobal(QPointF(5, 5)), QPoint(),
                          QPoint(0, -120), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(lambda, &wheel);
        QVERIFY(e->spec().dump() != before.dump());
    }

    void invalidValueDisablesRunWithItsMessage() {
        auto w = window("editor.retort");
        QVERIFY(w);
        ExperimentEditor* e = w->editor();
        e->setSpec(test::smallSyntheticSpec());
        QVERIFY(w->runAction()->isEnabled());
        e->setValue("distill.temperature", 0.0);
        e->validateNow();
        QVERIFY(!e->isValid());
        QVERIFY(!w->runAction()->isEnabled());
        QVERIFY2(w->runAction()->toolTip().contains("distill.temperature: must be > 0"),
                 qPrintable(w->runAction()->toolTip()));
        QCOMPARE(e->fieldError("distill.temperature"), QStringLiteral("must be > 0"));
        QVERIFY(!e->field("distill.temperature")->styleSheet().isEmpty());
        // Undo restores the valid spec.
        e->undoStack()->undo();
        e->validateNow();
        QVERIFY(e->isValid());
        QVERIFY(w->runAction()->isEnabled());
        QVERIFY(e->fieldError("distill.temperature").isEmpty());
        // A wrong shape for the architecture is marked at the architecture.
        e->setValue("student.arch", "lenet5");
        e->setValue("student.hidden", Json::array());
        e->validateNow();
        QVERIFY(e->fieldError("student.arch").contains("too small"));
        screenshot(w.get(), "editor-invalid.png");
    }

    void budgetAndSweepCount() {
        ExperimentEditor e;
        e.setSpec(test::smallSyntheticSpec());
        // Student mlp 36-16-4: 36*16 + 16 + 16*4 + 4 = 660 parameters.
        QVERIFY2(e.budgetText().contains("Student: 660 params"), qPrintable(e.budgetText()));
        QVERIFY(e.budgetText().contains("Teacher: 1,316 params") ||
                e.budgetText().contains("Teacher: 1316 params"));
        e.setValue("sweep", {{"distill.temperature", {1, 2, 4}}, {"seed", {1, 2}}});
        e.validateNow();
        QCOMPARE(e.points().size(), size_t(6));
        e.setValue("quantize", {{"bits", 4}, {"granularity", "per_channel"}});
        e.setValue("prune", {{"sparsity", 0.9}});
        e.validateNow();
        QVERIFY(e.budgetText().contains("compressed"));
        // The Seeds field holds the sweep's seed entry, and repeats every point over seeds.
        auto* seeds = e.findChild<QLineEdit*>(QStringLiteral("seeds"));
        QVERIFY(seeds);
        QCOMPARE(seeds->text(), QStringLiteral("1, 2"));
        seeds->setText(QStringLiteral("4"));  // a count: seeds 1 .. 4
        Q_EMIT seeds->textEdited(seeds->text());
        e.validateNow();
        QCOMPARE(e.points().size(), size_t(12));
        QCOMPARE(e.points().back().spec.seed, int64_t(4));
        seeds->setText(QStringLiteral("7, 9"));  // a list
        Q_EMIT seeds->textEdited(seeds->text());
        e.validateNow();
        QCOMPARE(e.points().size(), size_t(6));
        QCOMPARE(e.points().back().spec.seed, int64_t(9));
        seeds->setText(QStringLiteral("two"));
        Q_EMIT seeds->textEdited(seeds->text());
        e.validateNow();
        QVERIFY(e.points().empty() || !e.isValid());
        seeds->clear();  // the spec's own seed
        Q_EMIT seeds->textEdited(seeds->text());
        e.validateNow();
        QCOMPARE(e.points().size(), size_t(3));
    }
};

QTEST_MAIN(TestEditor)
#include "tst_editor.moc"

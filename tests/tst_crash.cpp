// Kill harness: SIGKILL `retort-cli run` at 20 random moments of a sweep. After each kill the
// project must open, pass PRAGMA integrity_check, keep every completed run intact, show the
// killed run as interrupted, and `retort-cli resume` must finish every unfinished run to the same
// results (byte-identical compressed models) as an uninterrupted sweep.

#include "testutil.h"

#include "store/projectstore.h"

#include <QProcess>

#include <csignal>
#include <map>
#include <random>

using namespace retort;

namespace {

Json sweep() {
    return Json::parse(R"({
      "name": "crash", "seed": 3, "threads": 1, "device": "cpu",
      "data": {"format": "synthetic", "classes": 4, "train_samples": 12000, "test_samples": 500,
               "shape": [1, 8, 8], "noise": 5.0},
      "teacher": {"arch": "cnn", "channels": [8], "hidden": [32], "train": {"epochs": 2, "batch_size": 64}},
      "student": {"arch": "mlp", "hidden": [32]},
      "distill": {"temperature": 4, "lambda": 0.9},
      "prune": {"sparsity": 0.8, "begin_epoch": 1, "end_epoch": 4},
      "quantize": {"bits": 4},
      "train": {"epochs": 6, "batch_size": 64},
      "sweep": {"distill.lambda": [0.0, 0.9]}
    })");
}

struct Final {
    RunStatus status = RunStatus::Queued;
    std::string compressed;
    double accuracy = 0;
};

std::map<std::string, Final> finals(const std::string& path) {
    ProjectStore s(path, ProjectStore::Access::ReadOnly);
    std::map<std::string, Final> out;
    for (const auto& r : s.runs())
        out[r.name] = {r.status, s.artifact(r.id, "compressed").value_or(""),
                       r.results.value("test_accuracy", -1.0)};
    return out;
}

int cli(const QStringList& args) {
    QProcess p;
    p.start(RETORT_CLI_PATH, args);
    p.waitForFinished(120000);
    return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
}

}  // namespace

class TestCrash : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

private Q_SLOTS:
    void killedSweepsResumeToTheSameResults() {
        const QString spec = m_dir.filePath("sweep.json");
        test::writeFile(spec.toStdString(), sweep().dump());
        const QString ref = m_dir.filePath("reference.retort");
        QElapsedTimer t;
        t.start();
        QCOMPARE(cli({"run", spec, "--project", ref}), 0);
        const qint64 sweepMs = t.elapsed();
        const auto reference = finals(ref.toStdString());
        QCOMPARE(reference.size(), size_t(2));

        std::mt19937 rng(20261124);
        std::uniform_int_distribution<qint64> when(30, sweepMs);
        int survived = 0;
        std::map<std::string, int> stages;
        for (int kill = 0; kill < 20; ++kill) {
            const QString project = m_dir.filePath(QStringLiteral("k%1.retort").arg(kill));
            QProcess p;
            p.start(RETORT_CLI_PATH, {"run", spec, "--project", project});
            QVERIFY(p.waitForStarted());
            QThread::msleep(static_cast<unsigned long>(when(rng)));
            ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
            p.waitForFinished();
            const QStringList lines =
                QString::fromUtf8(p.readAllStandardError()).split('\n', Qt::SkipEmptyParts);
            const QString last = lines.isEmpty() ? QStringLiteral("start-up") : lines.last();
            const char* stage =
                last.contains("training the teacher") || last.contains("teacher epoch")
                    ? "teacher training"
                : last.contains("teacher's outputs") ? "teacher outputs"
                : last.contains("student epoch") || last.contains("training the student")
                    ? "student training (epoch writes)"
                : last.contains("evaluating") ? "evaluation and model writes"
                : last.contains("completed")  ? "just after a run's final write"
                : last.contains("loading") || last.contains("(id ") ? "start of a run"
                                                                    : "start-up";
            ++stages[stage];
            if (!QFile::exists(project)) {  // killed before the project existed: nothing to check
                ++survived;
                continue;
            }
            {
                ProjectStore s(project.toStdString());  // opens; marks the killed run interrupted
                QCOMPARE(s.integrityCheck(), std::string("ok"));
                for (const auto& r : s.runs()) {
                    QVERIFY2(r.status != RunStatus::Running, r.name.c_str());
                    if (r.status == RunStatus::Completed) {
                        QCOMPARE(*s.artifact(r.id, "compressed"), reference.at(r.name).compressed);
                        QVERIFY(s.artifact(r.id, "student").has_value());
                        QCOMPARE(r.results["test_accuracy"].get<double>(),
                                 reference.at(r.name).accuracy);
                    }
                }
            }
            // Killed before the sweep was recorded: nothing to resume, the user runs it again.
            if (finals(project.toStdString()).empty())
                QCOMPARE(cli({"run", spec, "--project", project}), 0);
            // Resume whatever did not finish.
            for (const auto& [name, f] : finals(project.toStdString())) {
                if (f.status == RunStatus::Completed) continue;
                ProjectStore s(project.toStdString(), ProjectStore::Access::ReadOnly);
                int64_t id = 0;
                for (const auto& r : s.runs())
                    if (r.name == name) id = r.id;
                QCOMPARE(cli({"resume", QString::number(id), "--project", project}), 0);
            }
            const auto after = finals(project.toStdString());
            QCOMPARE(after.size(), reference.size());
            for (const auto& [name, f] : reference) {
                QCOMPARE(after.at(name).status, RunStatus::Completed);
                QCOMPARE(after.at(name).accuracy, f.accuracy);
                QVERIFY2(after.at(name).compressed == f.compressed,
                         "resumed model differs from the uninterrupted one");
            }
            ++survived;
        }
        QString where;
        for (const auto& [stage, n] : stages)
            where += QStringLiteral("%1 in %2; ").arg(n).arg(QString::fromStdString(stage));
        qInfo("kills survived: %d of 20 (%s)", survived, qPrintable(where));
        QCOMPARE(survived, 20);
    }
};

QTEST_APPLESS_MAIN(TestCrash)
#include "tst_crash.moc"

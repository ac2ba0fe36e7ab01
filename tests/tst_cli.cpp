#include "spec/specvalidator.h"
#include "store/projectstore.h"
#include "testutil.h"
#include "train/runner.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include <QProcess>

#include <csignal>
#include <filesystem>

using namespace retort;

namespace {

struct Result {
    int code = -1;
    QString out, err;
};

Result cli(const QStringList& args, int timeoutMs = 300000) {
    QProcess p;
    p.start(RETORT_CLI_PATH, args);
    p.waitForFinished(timeoutMs);
    Result r{p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
             QString::fromUtf8(p.readAllStandardOutput()),
             QString::fromUtf8(p.readAllStandardError())};
    return r;
}

}  // namespace

class TestCli : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString file(const char* n) { return m_dir.filePath(n); }
    QString writeSpec(const char* name, const Json& j) {
        test::writeFile(file(name).toStdString(), j.dump(2));
        return file(name);
    }

private Q_SLOTS:
    void helpAndVersion() {
        Result r = cli({"--help"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("usage: retort-cli"));
        r = cli({"--version"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("LibTorch"));
        r = cli({"run", "--help"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("--project"));
    }

    void badUsageExits2() {
        QCOMPARE(cli({}).code, 2);
        QCOMPARE(cli({"frobnicate"}).code, 2);
        QCOMPARE(cli({"list"}).code, 2);  // missing --project
        QCOMPARE(cli({"list", "--project", file("absent.retort"), "--bogus"}).code, 2);
        // Missing options and unknown formats are usage errors that name what is wrong.
        Result r = cli({"export-model", "1", "--project", file("x.retort"), "--out", file("m")});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("--format"));
        r = cli({"export-model", "1", "--project", file("x.retort"), "--format", "tflite", "--out",
                 file("m")});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("onnx or pt"));
        r = cli({"report", "--project", file("x.retort")});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("--out"));
        r = cli({"report", "--project", file("x.retort"), "--out", file("x.html")});
        QCOMPARE(r.code, 2);
#ifdef RETORT_CLI_HAS_REPORT
        QVERIFY2(r.err.contains("no such project file"), qPrintable(r.err));
#else
        QVERIFY2(r.err.contains("built without the report library"), qPrintable(r.err));
#endif
        QVERIFY(!QFile::exists(file("x.html")));
    }

    void slurmSubmitChecksItsSettings() {
        // No scheduler is needed to refuse bad settings or to print a dry run.
        const QString spec = writeSpec("slurm.json", test::smallSyntheticSpec());
        const QString project = file("slurm.retort");
        test::writeFile(file("settings.ini").toStdString(),
                        "[other]\nx = 1\n[slurm]\nqueue = gpu\n");
        Result r = cli({"submit", spec, "--project", project, "--slurm", "--settings",
                        file("settings.ini"), "--shared-dir", file("shared")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("settings.ini:4: unknown key 'queue'"), qPrintable(r.err));
        test::writeFile(file("settings.ini").toStdString(),
                        "[slurm]\ntime = 1:00:00\ngres = gpu:1\n");
        r = cli(
            {"submit", spec, "--project", project, "--slurm", "--settings", file("settings.ini")});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("no shared folder"));
        r = cli({"submit", spec, "--project", project, "--slurm", "--settings",
                 file("settings.ini"), "--shared-dir", file("shared"), "--time", "0:05:00",
                 "--dry-run"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("#SBATCH --time=0:05:00"));  // the command line wins
        QVERIFY(r.out.contains("#SBATCH --gres=gpu:1"));    // the settings file fills the rest
        QVERIFY(r.out.contains("--dependency") == false);   // on the command line, not in scripts
        QVERIFY(r.out.contains("run-point") && r.out.contains("--teacher-only"));
        QVERIFY(!QFile::exists(file("shared")));  // a dry run writes nothing
        QVERIFY(!QFile::exists(project));
        QCOMPARE(cli({"submit", spec, "--project", project}).code, 2);  // no --slurm
    }

    void invalidSpecExits2AndChangesNothing() {
        Json j = test::smallSyntheticSpec();
        j["distill"]["temperature"] = 0;
        j["quantize"] = {{"bits", 3}};
        j["train"]["lr"] = -1;
        j["extra"] = true;
        const QString spec = writeSpec("bad.json", j);
        Result r = cli({"run", spec, "--project", file("bad.retort")});
        QCOMPARE(r.code, 2);
        for (const char* key : {"distill.temperature", "quantize.bits", "train.lr", "extra"})
            QVERIFY2(r.err.contains(key), qPrintable(r.err));
        QCOMPARE(r.out, QString());  // stdout carries only results
        // The project holds no run.
        Result l = cli({"list", "--project", file("bad.retort"), "--json"});
        QCOMPARE(l.code, 0);
        QCOMPARE(Json::parse(l.out.toStdString())["runs"].size(), size_t(0));

        test::writeFile(file("broken.json").toStdString(), "{ \"name\": ");
        r = cli({"run", file("broken.json"), "--project", file("bad.retort")});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("not valid JSON"));

        // Data whose headers are fine but whose body is cut short: found before any run exists.
        QTemporaryDir data;
        const std::string images = std::string("\0\0\x08\x03\0\0\0\x0a\0\0\0\x04\0\0\0\x04", 16) +
                                   std::string(100, '\x01');
        const std::string labels =
            std::string("\0\0\x08\x01\0\0\0\x0a", 8) + std::string(10, '\x01');
        for (const char* n : {"train", "t10k"}) {
            test::writeFile(data.filePath(QString(n) + "-images-idx3-ubyte").toStdString(), images);
            test::writeFile(data.filePath(QString(n) + "-labels-idx1-ubyte").toStdString(), labels);
        }
        Json corrupt = test::smallSyntheticSpec();
        corrupt["data"] = {{"format", "idx"}, {"path", data.path().toStdString()}};
        r = cli({"run", writeSpec("corrupt.json", corrupt), "--project", file("bad.retort")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(
                     "train-images-idx3-ubyte: header declares more elements than the file holds"),
                 qPrintable(r.err));
        l = cli({"list", "--project", file("bad.retort"), "--json"});
        QCOMPARE(Json::parse(l.out.toStdString())["runs"].size(), size_t(0));

        test::writeFile(file("notaproject.retort").toStdString(), "hello");
        r = cli({"run", writeSpec("ok.json", test::smallSyntheticSpec()), "--project",
                 file("notaproject.retort")});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("not a Retort project"));
        QCOMPARE(test::readFile(file("notaproject.retort").toStdString()), std::string("hello"));
    }

    void outNeverClobbersAProject() {
        // Before: `export --out p.retort` replaced the project with a CSV (every run lost), a
        // symlinked output was replaced by a regular file and, as root, /dev/null or /dev/stdout
        // by one too.
        const QString project = file("guard.retort");
        Json j = test::smallSyntheticSpec();
        j["teacher"] = nullptr;
        j["distill"] = {{"lambda", 0.0}};
        j["train"]["epochs"] = 1;
        QCOMPARE(cli({"run", writeSpec("guard.json", j), "--project", project}).code, 0);
        const std::string before = test::readFile(project.toStdString());
        for (const QStringList& args :
             {QStringList{"export", "--project", project, "--format", "csv", "--out", project},
              QStringList{"export", "--project", project, "--format", "json", "--metrics", "--out",
                          m_dir.filePath("./guard.retort")},
              QStringList{"export", "--project", project, "--format", "csv", "--out",
                          project + "-wal"},
              QStringList{"export-model", "1", "--project", project, "--format", "pt", "--out",
                          project}}) {
            const Result r = cli(args);
            QCOMPARE(r.code, 2);
            QVERIFY2(r.err.contains("nothing was written"), qPrintable(r.err));
        }
        QCOMPARE(test::readFile(project.toStdString()), before);
        QCOMPARE(cli({"list", "--project", project}).code, 0);

        // Another project is refused too; a symlink to it as well.
        const QString other = file("other.retort");
        QVERIFY(QFile::copy(project, other));
        QVERIFY(QFile::link(other, file("link-to-other.csv")));
        for (const QString& out : {other, file("link-to-other.csv")}) {
            const Result r = cli({"export", "--project", project, "--format", "csv", "--out", out});
            QCOMPARE(r.code, 2);
            QVERIFY2(r.err.contains("SQLite database"), qPrintable(r.err));
        }
        // A symlink to a plain file: the target is written, the link stays a link.
        test::writeFile(file("target.csv").toStdString(), "old");
        QVERIFY(QFile::link(file("target.csv"), file("link.csv")));
        QCOMPARE(cli({"export", "--project", project, "--format", "csv", "--out", file("link.csv")})
                     .code,
                 0);
        QVERIFY(QFileInfo(file("link.csv")).isSymLink());
        QVERIFY(test::readFile(file("target.csv").toStdString()).rfind("id,name,status", 0) == 0);
        // A device is written, not replaced; "-" is standard output; a folder is refused.
        QCOMPARE(
            cli({"export", "--project", project, "--format", "csv", "--out", "/dev/null"}).code, 0);
        struct stat st {};
        QCOMPARE(::stat("/dev/null", &st), 0);
        QVERIFY(S_ISCHR(st.st_mode));
        const Result piped = cli({"export", "--project", project, "--format", "csv", "--out", "-"});
        QCOMPARE(piped.code, 0);
        QVERIFY(piped.out.startsWith("id,name,status"));
        const Result dir =
            cli({"export", "--project", project, "--format", "csv", "--out", m_dir.path()});
        QCOMPARE(dir.code, 2);
        QVERIFY2(dir.err.contains("is a folder"), qPrintable(dir.err));
    }

    void compareGroupsSeedsIntoConfigurations() {
        // lambda {0, 0.9} x seed {1, 2, 3}: two configurations of three runs each.
        Json j = test::smallSyntheticSpec();
        j["sweep"] = {{"distill.lambda", {0.0, 0.9}}, {"seed", {1, 2, 3}}};
        const QString project = file("compare.retort");
        Result r = cli({"run", writeSpec("compare.json", j), "--project", project});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        r = cli({"compare", "--project", project, "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const Json c = Json::parse(r.out.toStdString());
        QCOMPARE(c["configurations"].size(), size_t(2));
        QCOMPARE(c["baseline"]["label"], Json("distill.lambda=0"));
        const Json& distilled = c["configurations"][1];
        QCOMPARE(distilled["label"], Json("distill.lambda=0.9"));
        QCOMPARE(distilled["runs"].size(), size_t(3));
        const Json& acc = distilled["test_accuracy"];
        QCOMPARE(acc["n"], Json(3));
        QVERIFY(acc["ci_low"].get<double>() <= acc["mean"].get<double>());
        QCOMPARE(acc["difference"]["kind"], Json("paired"));  // the same seeds on both sides
        QCOMPARE(acc["difference"]["n"], Json(3));
        // The mean difference is the mean of the runs' differences (from list --json).
        r = cli({"list", "--project", project, "--json"});
        const Json runs = Json::parse(r.out.toStdString())["runs"];
        std::map<std::string, std::map<int64_t, double>> bySide;
        for (const auto& run : runs)
            bySide[run["params"]["distill.lambda"].dump()][run["params"]["seed"].get<int64_t>()] =
                run["results"]["test_accuracy"].get<double>();
        double sum = 0;
        for (int64_t s : {1, 2, 3}) sum += bySide["0.9"][s] - bySide["0.0"][s];
        QVERIFY(std::abs(acc["difference"]["mean"].get<double>() - sum / 3) < 1e-12);
        // The terminal table, the grouped list and the grouped export.
        r = cli({"compare", "--project", project});
        QVERIFY2(r.code == 0 && r.out.contains("distill.lambda=0 (baseline)"), qPrintable(r.out));
        r = cli({"list", "--project", project, "--group"});
        QVERIFY2(r.code == 0 && r.out.contains("compressed_size_bytes"), qPrintable(r.out));
        r = cli({"export", "--project", project, "--format", "csv", "--grouped", "--out",
                 file("grouped.csv")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const std::string csv = test::readFile(file("grouped.csv").toStdString());
        QVERIFY(csv.rfind("configuration,baseline,n,runs,seeds,val_accuracy_mean", 0) == 0);
        QCOMPARE(std::count(csv.begin(), csv.end(), '\n'), 3L);
        // A baseline that names nothing, or a metric no run has, is a usage error.
        r = cli({"compare", "--project", project, "--baseline", "lambda=7"});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("lambda=7"));
        r = cli({"compare", "--project", project, "--metric", "bleu"});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("bleu"));
        // The report's baseline likewise, and nothing is written.
        r = cli({"report", "--project", project, "--out", file("nothing.html"), "--baseline",
                 "lambda=7"});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("lambda=7"));
        QVERIFY(!QFile::exists(file("nothing.html")));
#ifdef RETORT_CLI_HAS_REPORT
        r = cli({"report", "--project", project, "--out", file("base.html"), "--baseline",
                 "distill.lambda=0.9"});
        QCOMPARE(r.code, 0);
        const std::string html = test::readFile(file("base.html").toStdString());
        QVERIFY(html.find("Baseline: C2 (distill.lambda=0.9) \u2014 asked for") !=
                std::string::npos);
#endif
    }

    void deleteRemovesRunsOrNothing() {
        const QString project = file("delete.retort");
        int64_t done = 0, queued = 0;
        {
            ProjectStore store(project.toStdString());
            done = store.createRun("done", Json::object(), Json::object());
            store.finishRun(done, RunStatus::Completed, {{"test_accuracy", 0.5}}, {}, {});
            queued = store.createRun("waiting", Json::object(), Json::object());
        }
        Result r =
            cli({"delete", QString::number(done), QString::number(queued), "--project", project});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("is queued"), qPrintable(r.err));
        QCOMPARE(ProjectStore(project.toStdString()).runs().size(), size_t(2));
        QCOMPARE(cli({"delete", "x", "--project", project}).code, 2);
        r = cli({"delete", QString::number(done), "--project", project});
        QCOMPARE(r.code, 0);
        QVERIFY(r.err.contains("deleted 1 run(s)"));
        const auto left = ProjectStore(project.toStdString()).runs();
        QCOMPARE(left.size(), size_t(1));
        QCOMPARE(left.front().id, queued);
    }

    void resumeAllContinuesEveryInterruptedRun() {
        const QString project = file("resume-all.retort");
        {
            // Two runs cut off after their first epoch, one completed.
            ProjectStore store(project.toStdString());
            Json j = test::smallSyntheticSpec();
            j["teacher"] = nullptr;
            j["distill"] = {{"lambda", 0.0}};
            j["sweep"] = {{"seed", {1, 2, 3}}};
            SpecValidator v(&store);
            const auto points = v.plan(j);
            for (size_t i = 0; i < points.size(); ++i) {
                std::atomic<bool> cancel{false};
                Runner r(
                    store,
                    [&](const Progress& p) {
                        if (i < 2 && p.kind == Progress::Kind::Epoch && p.epoch == 1) cancel = true;
                    },
                    &cancel);
                r.run(store.createRun(points[i].name, points[i].spec.toJson(), points[i].params),
                      points[i].spec);
            }
            store.setStatus(1, RunStatus::Interrupted, "cut off");
            store.setStatus(2, RunStatus::Interrupted, "cut off");
        }
        // Another thread count would change the runs' numbers halfway: refused, naming theirs.
        const Result other = cli({"resume", "--all", "--project", project, "--threads", "2"});
        QCOMPARE(other.code, 2);
        QVERIFY2(other.err.contains("its own threads and device (1, cpu)"), qPrintable(other.err));
        // Their own may be restated (it was refused too).
        const Result r = cli({"resume", "--all", "--project", project, "--json", "--threads", "1",
                              "--device", "cpu"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const Json out = Json::parse(r.out.toStdString());
        QCOMPARE(out["runs"].size(), size_t(2));
        for (const auto& run : out["runs"])
            QCOMPARE(run["status"].get<std::string>(), std::string("completed"));
        QCOMPARE(cli({"resume", "--all", "--project", project}).code, 0);  // nothing left
        QCOMPARE(cli({"resume", "1", "--all", "--project", project}).code, 2);
    }

    void readOnlyProjectsAreReadable() {
        // A project (and its folder) this user cannot write: reading works and leaves nothing
        // behind; writing fails naming the file and why. Before: "SQL error: attempt to write a
        // readonly database", naming no file, and -wal/-shm files left at mode 444. As root the
        // modes mean nothing, so the CLI then runs as nobody (from a copy of it that nobody
        // can reach).
        QTemporaryDir dir;
        QFile::setPermissions(dir.path(), QFileDevice::Permissions(0x7755));
        const QString project = dir.filePath("ro.retort");
        Json j = test::smallSyntheticSpec();
        j["teacher"] = nullptr;
        j["distill"] = {{"lambda", 0.0}};
        j["train"]["epochs"] = 1;
        const QString spec = dir.filePath("ro.json");
        test::writeFile(spec.toStdString(), j.dump());
        QCOMPARE(cli({"run", spec, "--project", project}).code, 0);
        const QString binary = dir.filePath("retort-cli");
        QVERIFY(QFile::copy(RETORT_CLI_PATH, binary));
        QVERIFY(QFile::setPermissions(
            project, QFileDevice::ReadOwner | QFileDevice::ReadGroup | QFileDevice::ReadOther));
        auto as = [&](const QStringList& args) {
            QProcess p;
            if (::geteuid() == 0)
                p.start("runuser", QStringList{"-u", "nobody", "--", binary} + args);
            else
                p.start(binary, args);
            p.waitForFinished(120000);
            return Result{p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
                          QString::fromUtf8(p.readAllStandardOutput()),
                          QString::fromUtf8(p.readAllStandardError())};
        };
        QVERIFY(QFile::setPermissions(dir.path(), QFileDevice::Permissions(0x5555)));
        const Result list = as({"list", "--project", project});
        QVERIFY2(list.code == 0 && list.out.contains("completed"), qPrintable(list.err));
        const Result shown = as({"show", "1", "--project", project, "--json"});
        QCOMPARE(shown.code, 0);
        const Result run = as({"run", spec, "--project", project});
        QCOMPARE(run.code, 2);
        QVERIFY2(run.err.contains(project) && run.err.contains("read-only"), qPrintable(run.err));
        QVERIFY(!QFileInfo::exists(project + "-wal") && !QFileInfo::exists(project + "-shm"));
        QVERIFY(QFile::setPermissions(dir.path(), QFileDevice::Permissions(0x7755)));
    }

    void fashionMnistSliceEndToEnd() {
        if (!std::filesystem::exists(
                "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
            QFAIL(RETORT_MISSING("dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist"));
        Json j = Json::parse(R"({
          "name": "fmnist-slice", "seed": 2, "threads": 2, "device": "cpu",
          "data": {"format": "idx", "limit_train": 3000, "limit_test": 2000},
          "teacher": {"arch": "mlp", "hidden": [128], "train": {"epochs": 3, "batch_size": 64}},
          "student": {"arch": "mlp", "hidden": [32]},
          "distill": {"temperature": 4, "lambda": 0.7},
          "train": {"epochs": 4, "batch_size": 64},
          "sweep": [{"distill.lambda": [0, 0.7]},
                    {"prune.sparsity": [0.8], "quantize.bits": [4]}]
        })");
        const QString project = file("fmnist.retort");
        Result r = cli({"run", writeSpec("fmnist.json", j), "--project", project, "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const Json out = Json::parse(r.out.toStdString());
        QCOMPARE(out["runs"].size(), size_t(3));
        for (const auto& run : out["runs"]) {
            QCOMPARE(run["status"].get<std::string>(), std::string("completed"));
            // Ten classes: chance is 0.1. A wide margin even on a 3,000-image slice.
            QVERIFY2(run["results"]["test_accuracy"].get<double>() > 0.65, run.dump().c_str());
            QVERIFY(run["results"]["teacher_test_accuracy"].get<double>() > 0.7);
        }
        QCOMPARE(out["runs"][1]["params"]["distill.lambda"].get<double>(), 0.7);
        const Json& pruned = out["runs"][2]["results"];
        QVERIFY(pruned["compressed_size_bytes"].get<int64_t>() <
                pruned["size_bytes"].get<int64_t>() / 8);
        QVERIFY(pruned["nonzero_params"].get<int64_t>() < pruned["param_count"].get<int64_t>() / 4);

        Result l = cli({"list", "--project", project});
        QCOMPARE(l.code, 0);
        QVERIFY(l.out.contains("fmnist-slice [lambda=0.7]"));
        Result s = cli({"show", "2", "--project", project, "--json"});
        QCOMPARE(s.code, 0);
        const Json shown = Json::parse(s.out.toStdString());
        // Four epochs, each with the same nine figures (losses, lr, times, validation accuracy
        // and macro-F1, sparsity): exactly 36 rows, epochs 1..4 each once per figure.
        std::map<std::string, std::set<int64_t>> epochsOf;
        for (const auto& m : shown["metrics"])
            epochsOf[m["name"].get<std::string>()].insert(m["epoch"].get<int64_t>());
        QCOMPARE(shown["metrics"].size(), size_t(36));
        QCOMPARE(epochsOf.size(), size_t(9));
        for (const auto& [name, epochs] : epochsOf)
            QVERIFY2(epochs == (std::set<int64_t>{1, 2, 3, 4}), name.c_str());
        QCOMPARE(shown["spec"]["distill"]["lambda"].get<double>(), 0.7);
        QCOMPARE(cli({"show", "99", "--project", project}).code, 2);

        Result e =
            cli({"export", "--project", project, "--format", "csv", "--out", file("runs.csv")});
        QCOMPARE(e.code, 0);
        const std::string csv = test::readFile(file("runs.csv").toStdString());
        QVERIFY(csv.rfind("id,name,status,distill.lambda,", 0) == 0);
        QCOMPARE(std::count(csv.begin(), csv.end(), '\n'), 4L);
        e = cli({"export", "--project", project, "--format", "json", "--out", file("runs.json")});
        QCOMPARE(e.code, 0);
        QCOMPARE(Json::parse(test::readFile(file("runs.json").toStdString()))["runs"].size(),
                 size_t(3));
    }

    void ctrlCCancelsCleanly() {
        Json j = test::smallSyntheticSpec();
        j["data"]["train_samples"] = 20000;
        j["train"]["epochs"] = 400;
        j["sweep"] = {{"seed", {1, 2}}};
        const QString project = file("cancel.retort");
        QProcess p;
        p.start(RETORT_CLI_PATH, {"run", writeSpec("long.json", j), "--project", project});
        QVERIFY(p.waitForStarted());
        QString err;
        QElapsedTimer t;
        t.start();
        while (!err.contains("student epoch 2/") && t.elapsed() < 120000) {
            p.waitForReadyRead(200);
            err += QString::fromUtf8(p.readAllStandardError());
        }
        QVERIFY2(err.contains("student epoch 2/"), qPrintable(err));
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 1);
        Result l = cli({"list", "--project", project, "--json"});
        const Json runs = Json::parse(l.out.toStdString())["runs"];
        QCOMPARE(runs[0]["status"].get<std::string>(), std::string("cancelled"));
        QCOMPARE(runs[1]["status"].get<std::string>(), std::string("cancelled"));
        Result s = cli({"show", "1", "--project", project, "--json"});
        QVERIFY(Json::parse(s.out.toStdString())["metrics"].size() >= 2);  // completed epochs kept
    }
};

QTEST_APPLESS_MAIN(TestCli)
#include "tst_cli.moc"

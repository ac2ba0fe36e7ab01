#include "testutil.h"

#include "store/projectstore.h"

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <thread>

using namespace retort;

namespace {

using test::sql;

template <typename F>
QString storeError(F f) {
    try {
        f();
    } catch (const StoreError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace

class TestStore : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string file(const char* name) { return m_dir.filePath(name).toStdString(); }

private Q_SLOTS:
    void everyStatusIsStoredAndReadBack() {
        // The enum's one string table against the schema's CHECK list: a name the schema does not
        // know would make setStatus throw; a wrong finished_at rule shows in the times.
        ProjectStore s(file("statuses.retort"));
        for (RunStatus st : {RunStatus::Queued, RunStatus::Running, RunStatus::Completed,
                             RunStatus::Failed, RunStatus::Cancelled, RunStatus::Interrupted}) {
            const int64_t id = s.createRun(statusName(st), {{"seed", 1}}, Json::object());
            s.setStatus(id, st, "why");
            const auto r = s.run(id);
            QCOMPARE(r->status, st);
            QCOMPARE(statusFromName(statusName(st)), std::optional<RunStatus>(st));
            QCOMPARE(r->finished_at.empty(), !hasEnded(st));
        }
        QVERIFY(!statusFromName("Completed"));
        QVERIFY(!statusFromName(""));
        QVERIFY(canResume(RunStatus::Interrupted) && canResume(RunStatus::Cancelled) &&
                canResume(RunStatus::Queued) && !canResume(RunStatus::Failed) &&
                !canResume(RunStatus::Completed) && !canResume(RunStatus::Running));
    }

    void createsCurrentSchema() {
        ProjectStore s(file("new.retort"));
        QCOMPARE(s.schemaVersion(), ProjectStore::kSchemaVersion);
        const int64_t id = s.createRun("a", {{"seed", 1}}, {{"distill.lambda", 0.5}});
        auto r = s.run(id);
        QVERIFY(r);
        QCOMPARE(r->status, RunStatus::Queued);
        QCOMPARE(r->params["distill.lambda"].get<double>(), 0.5);
        QVERIFY(!r->created_at.empty());
    }

    void migratesVersion1() {
        // A project as schema version 1 wrote it, with one finished run.
        const std::string path = file("v1.retort");
        sql(path, R"(
            CREATE TABLE runs(id INTEGER PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL CHECK(status IN
              ('queued','running','completed','failed','cancelled','interrupted')), spec TEXT NOT NULL,
              params TEXT NOT NULL DEFAULT '{}', results TEXT NOT NULL DEFAULT '{}',
              environment TEXT NOT NULL DEFAULT '{}', error TEXT NOT NULL DEFAULT '',
              created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT);
            CREATE TABLE metrics(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
              epoch INTEGER NOT NULL, name TEXT NOT NULL, value REAL NOT NULL,
              PRIMARY KEY(run_id, name, epoch)) WITHOUT ROWID;
            CREATE TABLE artifacts(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
              kind TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY(run_id, kind));
            CREATE TABLE teachers(key TEXT PRIMARY KEY, spec TEXT NOT NULL, state BLOB NOT NULL,
              summary TEXT NOT NULL, created_at TEXT NOT NULL);
            INSERT INTO runs(name, status, spec, results, created_at)
              VALUES('old', 'completed', '{}', '{"test_accuracy": 0.8}', '2026-01-01T00:00:00Z');
            INSERT INTO metrics VALUES(1, 1, 'train_loss', 0.5);
            INSERT INTO runs(name, status, spec, created_at) VALUES
              ('zoo', 'completed', '{"seed": 4, "data": {"format": "synthetic"},
                 "teacher": {"arch": "mlp"}}', '2026-01-01T00:00:00Z'),
              ('of-run', 'completed', '{"seed": 2, "data": {"format": "idx"},
                 "teacher": {"run": 1}}', '2026-01-01T00:00:00Z'),
              ('explicit', 'completed', '{"seed": 3, "data": {"format": "idx", "seed": 7},
                 "teacher": {"arch": "mlp", "seed": 9}}', '2026-01-01T00:00:00Z');
            PRAGMA application_id = 1381257812;
            PRAGMA user_version = 1;)");
        ProjectStore s(path);
        QCOMPARE(s.schemaVersion(), ProjectStore::kSchemaVersion);
        auto r = s.run(1);
        QVERIFY(r);
        QCOMPARE(r->results["test_accuracy"].get<double>(), 0.8);
        QCOMPARE(s.metrics(1).size(), size_t(1));
        // Version 7: runs stored before data.seed and teacher.seed existed get the seed that
        // then chose their data and teacher (the run's); explicit ones and run teachers stay.
        QCOMPARE(s.run(2)->spec["data"]["seed"], Json(4));
        QCOMPARE(s.run(2)->spec["teacher"]["seed"], Json(4));
        QCOMPARE(s.run(3)->spec["data"]["seed"], Json(2));
        QVERIFY(!s.run(3)->spec["teacher"].contains("seed"));
        QCOMPARE(s.run(4)->spec["data"]["seed"], Json(7));
        QCOMPARE(s.run(4)->spec["teacher"]["seed"], Json(9));
        QCOMPARE(s.run(1)->spec, Json::object());  // nothing to say for an empty spec
        // Later versions' additions work on the migrated file.
        s.saveTeacherOutputs("k", {"logits", 0.5});
        QCOMPARE(s.teacherOutputs("k")->test_accuracy, 0.5);
        s.startRun(1, {{"device", "cpu"}});
        s.finishRun(1, RunStatus::Completed, {{"test_accuracy", 0.81}},
                    {{"net.fc1.weight", 100, 10}}, {});
        QCOMPARE(s.layers(1).size(), size_t(1));
    }

    void refusesWhatItCannotRead() {
        const std::string future = file("future.retort");
        { ProjectStore s(future); }
        sql(future, "PRAGMA user_version = 99");
        QVERIFY(storeError([&] { ProjectStore s(future); }).contains("newer Retort"));
        QVERIFY(storeError([&] {
                    ProjectStore s(future, ProjectStore::Access::ReadOnly);
                }).contains("newer Retort"));

        const std::string text = file("text.retort");
        test::writeFile(text, "name,score\nfoo,1\n");
        QVERIFY(storeError([&] { ProjectStore s(text); }).contains("not a Retort project"));
        QCOMPARE(test::readFile(text), std::string("name,score\nfoo,1\n"));  // nothing changed

        const std::string other = file("other.sqlite");
        sql(other, "CREATE TABLE t(x); INSERT INTO t VALUES(1);");
        QVERIFY(storeError([&] { ProjectStore s(other); }).contains("not a Retort project"));

        QVERIFY(storeError([&] {
                    ProjectStore s(file("absent.retort"), ProjectStore::Access::ReadOnly);
                }).contains("no such project file"));
    }

    void truncatedProjectIsRefused() {
        const std::string path = file("big.retort");
        {
            ProjectStore s(path);
            for (int i = 0; i < 30; ++i) {
                const int64_t id = s.createRun("r" + std::to_string(i), {{"i", i}}, Json::object());
                s.recordEpoch(id, 1, {{"train_loss", 1.0}}, std::string(20000, char('a' + i % 26)),
                              "");
            }
        }
        const auto size = std::filesystem::file_size(path);
        std::filesystem::resize_file(path, size / 3);
        const QString e = storeError([&] {
            ProjectStore s(path, ProjectStore::Access::ReadOnly);
            s.runs();
            for (const auto& r : s.runs()) s.artifact(r.id, "checkpoint_student");
        });
        QVERIFY2(!e.isEmpty(), "a truncated project opened without error");
    }

    void interruptedRunsAreRecovered() {
        const std::string path = file("crash.retort");
        int64_t dead = 0, alive = 0;
        {
            ProjectStore s(path);
            dead = s.createRun("killed", Json::object(), Json::object());
            alive = s.createRun("ours", Json::object(), Json::object());
            s.startRun(dead, Json::object());
            s.startRun(alive, Json::object());
            s.recordEpoch(dead, 1, {{"train_loss", 0.9}}, "weights", "optimizer");
        }
        // The first run's process is gone (no such pid); the second is this live process.
        sql(path, "UPDATE runs SET owner_pid = 1073741000 WHERE id = " + std::to_string(dead));
        ProjectStore s(path);
        QCOMPARE(s.recoveredRuns(), 1);
        QCOMPARE(s.run(dead)->status, RunStatus::Interrupted);
        QCOMPARE(s.run(alive)->status, RunStatus::Running);
        QCOMPARE(s.metrics(dead).size(), size_t(1));  // its completed epoch is kept
        QCOMPARE(*s.artifact(dead, "checkpoint_student"), std::string("weights"));
    }

    void runsOfAnotherHostAreNotDeclaredDead() {
        // A project on a shared disk: a run started on another host is not this host's to
        // declare dead (the old recovery flipped it to interrupted on every open elsewhere).
        const std::string path = file("shared-disk.retort");
        int64_t id = 0;
        {
            ProjectStore s(path);
            id = s.createRun("elsewhere", Json::object(), Json::object());
            s.startRun(id, Json::object());
        }
        sql(path,
            "UPDATE runs SET owner_host = 'node-17.cluster', owner_pid = 1073741000 "
            "WHERE id = " +
                std::to_string(id));
        ProjectStore s(path);
        QCOMPARE(s.recoveredRuns(), 0);
        const RunRecord r = *s.run(id);
        QCOMPARE(r.status, RunStatus::Running);
        QCOMPARE(r.owner_host, std::string("node-17.cluster"));
        QVERIFY2(r.error.find("possibly running on node-17.cluster") != std::string::npos,
                 r.error.c_str());
        ProjectStore ro(path, ProjectStore::Access::ReadOnly);
        QCOMPARE(ro.run(id)->status, RunStatus::Running);
    }

    void teachersAndArtifacts() {
        ProjectStore s(file("t.retort"));
        QVERIFY(!s.teacher("k"));
        s.saveTeacher({"k", {{"arch", "cnn"}}, std::string("\0\1\2", 3), {{"test_accuracy", 0.9}}});
        auto t = s.teacher("k");
        QVERIFY(t);
        QCOMPARE(t->state, std::string("\0\1\2", 3));
        QCOMPARE(t->summary["test_accuracy"].get<double>(), 0.9);
        const int64_t id = s.createRun("x", Json::object(), Json::object());
        s.finishRun(id, RunStatus::Completed, {{"a", 1}}, {},
                    {{"compressed", std::string(1000, '\xff')}});
        QCOMPARE(s.artifact(id, "compressed")->size(), size_t(1000));
        QVERIFY(!s.artifact(id, "nothing"));
        // SQL stays data: names with quotes are stored as they are.
        const int64_t q =
            s.createRun("it's \"quoted\"; DROP TABLE runs;--", Json::object(), Json::object());
        QCOMPARE(s.run(q)->name, std::string("it's \"quoted\"; DROP TABLE runs;--"));
    }

    void deleteRunsIsAllOrNothing() {
        ProjectStore s(file("del.retort"));
        const int64_t a = s.createRun("a", Json::object(), Json::object());
        const int64_t b = s.createRun("b", Json::object(), Json::object());
        const int64_t c = s.createRun("c", Json::object(), Json::object());
        s.finishRun(a, RunStatus::Completed, {{"x", 1}}, {{"fc1.weight", 10, 5}},
                    {{"student", std::string(100, 'a')}});
        s.setStatus(b, RunStatus::Failed, "boom");
        // c is queued: refused, and then a (listed first) must survive too.
        const QString e = storeError([&] { s.deleteRuns({a, c}); });
        QVERIFY2(e.contains("run " + QString::number(c) + " is queued"), qPrintable(e));
        QVERIFY(s.run(a) && s.artifact(a, "student"));
        QVERIFY(storeError([&] { s.deleteRuns({999}); }).contains("no run 999"));
        s.deleteRuns({a, b});
        QVERIFY(!s.run(a) && !s.run(b) && s.run(c));
        QVERIFY(!s.artifact(a, "student"));
        QVERIFY(s.layers(a).empty());
        QVERIFY(s.artifactKinds(a).empty());
    }

    void dataVersionSeesOtherWriters() {
        ProjectStore mine(file("dv.retort"));
        const int64_t v0 = mine.dataVersion();
        mine.createRun("own write", Json::object(), Json::object());
        QCOMPARE(mine.dataVersion(), v0);  // SQLite counts other connections' commits only
        {
            ProjectStore other(file("dv.retort"));
            other.createRun("from another process", Json::object(), Json::object());
        }
        QVERIFY(mine.dataVersion() != v0);
    }

    void concurrentReadWhileWriting() {
        const std::string path = file("concurrent.retort");
        int64_t id = 0;
        {
            ProjectStore s(path);
            id = s.createRun("live", Json::object(), Json::object());
        }
        std::atomic<bool> done{false};
        std::atomic<int> readerErrors{0}, reads{0}, tornEpochs{0};
        std::string firstError;
        std::thread reader([&] {
            try {
                ProjectStore r(path, ProjectStore::Access::ReadOnly);
                while (!done.load()) {
                    auto m = r.metrics(id);
                    // Each epoch writes 3 metrics in one transaction: never see part of one.
                    if (m.size() % 3 != 0) ++tornEpochs;
                    r.runs();
                    ++reads;
                }
            } catch (const std::exception& e) {
                firstError = e.what();
                ++readerErrors;
            }
        });
        {
            ProjectStore w(path);
            w.startRun(id, Json::object());
            for (int e = 1; e <= 150; ++e)
                w.recordEpoch(id, e,
                              {{"train_loss", 1.0 / e}, {"val_accuracy", 0.5}, {"lr", 0.001}},
                              std::string(50000, 'w'), std::string(20000, 'o'));
            w.finishRun(id, RunStatus::Completed, {{"test_accuracy", 0.9}}, {}, {});
        }
        done = true;
        reader.join();
        QVERIFY2(readerErrors == 0, firstError.c_str());
        QVERIFY(reads > 0);
        QCOMPARE(tornEpochs.load(), 0);
        ProjectStore s(path, ProjectStore::Access::ReadOnly);
        QCOMPARE(s.metrics(id).size(), size_t(450));
        QCOMPARE(s.run(id)->status, RunStatus::Completed);
    }
};

QTEST_APPLESS_MAIN(TestStore)
#include "tst_store.moc"

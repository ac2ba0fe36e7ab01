// Slurm sync against scripted squeue/sacct/scontrol/scancel: the states a one-machine test
// cluster does not produce (timeouts, out of memory, a failed teacher job, accounting) and the
// parsing of Slurm's array notation. The real cluster is tests/slurm/test-slurm.sh.
#include "testutil.h"

#include "cluster/slurm.h"
#include "spec/specvalidator.h"
#include "store/projectstore.h"
#include "train/runner.h"

#include <QFile>

#include <cstdlib>

using namespace retort;

class TestSlurm : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string file(const std::string& n) {
        return m_dir.filePath(QString::fromStdString(n)).toStdString();
    }

    /// Writes a fake Slurm command that prints FILE.out (and FILE.err to stderr) and exits with
    /// FILE.rc (0 if absent), logging its arguments to FILE.log.
    void fake(const std::string& name) {
        const std::string path = file("bin/" + name);
        test::writeFile(path, "#!/bin/sh\nd=" + file("fake") + "\necho \"$@\" >> \"$d/" + name +
                                  ".log\"\n[ -f \"$d/" + name + ".out\" ] && cat \"$d/" + name +
                                  ".out\"\n[ -f \"$d/" + name + ".err\" ] && cat \"$d/" + name +
                                  ".err\" >&2\nexit $(cat \"$d/" + name +
                                  ".rc\" 2>/dev/null || echo 0)\n");
        QFile::setPermissions(QString::fromStdString(path),
                              QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    }
    void answer(const std::string& name, const std::string& out, int rc = 0,
                const std::string& err = {}) {
        test::writeFile(file("fake/" + name + ".out"), out);
        test::writeFile(file("fake/" + name + ".err"), err);
        test::writeFile(file("fake/" + name + ".rc"), std::to_string(rc));
    }
    /// Slurm's controller is down: every query fails without an answer.
    void slurmDown() {
        const std::string down =
            "slurm_load_jobs error: Unable to contact slurm controller "
            "(connect failure)\n";
        answer("squeue", "", 1, down);
        answer("sacct", "", 1, "sacct: error: Problem talking to the database\n");
        answer("scontrol", "", 1, down);
    }
    /// Slurm has purged the job: it answers that it does not know it.
    void slurmPurged() {
        const std::string gone = "slurm_load_jobs error: Invalid job id specified\n";
        answer("squeue", "", 1, gone);
        answer("sacct", "", 1);
        answer("scontrol", "", 1, gone);
    }

private Q_SLOTS:
    void initTestCase() {
        QDir().mkpath(m_dir.filePath("bin"));
        QDir().mkpath(m_dir.filePath("fake"));
        for (const char* c : {"squeue", "sacct", "scontrol", "scancel", "sbatch"}) fake(c);
        const std::string path = file("bin") + ":" + std::getenv("PATH");
        setenv("PATH", path.c_str(), 1);
    }

    void syncRecordsEveryWayATaskEnds() {
        ProjectStore store(file("p.retort"));
        Json spec = test::smallSyntheticSpec();
        spec["sweep"] = {{"seed", {1, 2, 3, 4, 5}}};
        SpecValidator v(&store);
        const auto points = v.plan(spec);
        std::vector<ProjectStore::NewSlurmRun> runs;
        for (size_t k = 0; k < points.size(); ++k)
            runs.push_back(
                {points[k].name, points[k].spec.toJson(), points[k].params,
                 SlurmTask{0, "100", int64_t(k), "99",
                           file("shards/" + std::to_string(k) + ".retort"), "PENDING", "", false}});
        const auto ids = store.addSlurmRuns(runs);
        QCOMPARE(ids.size(), size_t(5));
        QCOMPARE(store.run(ids[0])->slurm_state, std::string("PENDING"));

        // Task 0 finished: its shard holds a completed run (what run-point writes).
        QDir().mkpath(m_dir.filePath("shards"));
        test::writeFile(file("point0.json"), Json({{"name", points[0].name},
                                                   {"params", points[0].params},
                                                   {"spec", points[0].spec.toJson()}})
                                                 .dump());
        QCOMPARE(runPoint(file("point0.json"), file("shards/0.retort"), "", false),
                 std::string("completed"));
        // Task 1 was killed mid-run: a shard with a running run is never merged.
        {
            ProjectStore half(file("shards/1.retort"));
            half.createRun("half", points[1].spec.toJson(), Json::object());
            half.startRun(1, Json::object());
        }

        answer("squeue", "100_3|PENDING|Resources\n100_4|PENDING|DependencyNeverSatisfied\n");
        answer("sacct", "100_0|COMPLETED|0:0\n100_1|TIMEOUT|0:0\n100_2|OUT_OF_MEMORY|0:125\n");
        SyncReport r = syncSlurm(store);
        QCOMPARE(r.merged, 1);
        QCOMPARE(r.failed, 3);  // timeout, out of memory, the teacher job failed
        QCOMPARE(r.pending, 1);
        QVERIFY(!r.done());

        const auto merged = *store.run(ids[0]);
        QCOMPARE(merged.status, RunStatus::Completed);
        QVERIFY(merged.slurm_state.empty());
        QVERIFY(merged.results["test_accuracy"].get<double>() > 0.5);
        QVERIFY(store.artifact(ids[0], "compressed"));
        QCOMPARE(store.metrics(ids[0]).size(),
                 ProjectStore(file("shards/0.retort"), ProjectStore::Access::ReadOnly)
                     .metrics(1)
                     .size());
        QCOMPARE(store.run(ids[1])->status, RunStatus::Failed);
        QVERIFY(store.run(ids[1])->error.find("Slurm: TIMEOUT") != std::string::npos);
        QVERIFY(store.run(ids[2])->error.find("OUT_OF_MEMORY") != std::string::npos);
        QCOMPARE(store.run(ids[3])->status, RunStatus::Queued);
        QCOMPARE(store.run(ids[3])->slurm_state, std::string("PENDING"));
        QVERIFY(store.run(ids[4])->error.find("teacher job 99 failed") != std::string::npos);
        QVERIFY(test::readFile(file("fake/scancel.log")).find("100") != std::string::npos);

        // Again: nothing changes but what Slurm says of the pending task.
        const auto before = store.runs();
        r = syncSlurm(store);
        QCOMPARE(r.merged + r.failed + r.cancelled + r.interrupted, 0);
        for (size_t i = 0; i < before.size(); ++i)
            QCOMPARE(store.runs()[i].results.dump(), before[i].results.dump());

        // Without accounting (sacct fails), scontrol tells how the last task ended.
        answer("squeue", "");
        answer("sacct", "", 1);
        answer("scontrol",
               "JobId=105 ArrayJobId=100 ArrayTaskId=3 JobState=CANCELLED Reason=None "
               "ExitCode=0:15\n");
        r = syncSlurm(store);
        QCOMPARE(r.cancelled, 1);
        QVERIFY(r.done());
        QCOMPARE(store.run(ids[3])->status, RunStatus::Cancelled);
        QCOMPARE(cancelSlurm(store), 0);  // nothing left out there
    }

    void slurmDoesNotAnswer() {
        // Controller restarting: squeue, sacct and scontrol all fail. Nothing may change (the
        // old sync marked every unfinished task interrupted here and never merged it later).
        ProjectStore store(file("down.retort"));
        const auto ids = store.addSlurmRuns(
            {{"live", test::smallSyntheticSpec(), Json::object(),
              SlurmTask{0, "300", 0, "", file("shards/live.retort"), "RUNNING", "", false}}});
        const auto before = *store.run(ids[0]);
        slurmDown();
        const SyncReport r = syncSlurm(store);
        QCOMPARE(r.unanswered, 1);
        QCOMPARE(r.interrupted, 0);
        QVERIFY(!r.done());
        const auto after = *store.run(ids[0]);
        QCOMPARE(after.status, before.status);
        QCOMPARE(after.slurm_state, std::string("RUNNING"));
        QCOMPARE(after.error, before.error);
    }

    void slurmForgetsATask() {
        // A task Slurm positively no longer knows (purged) whose shard has no finished run:
        // interrupted; if its shard completes after all, a later sync still merges it.
        ProjectStore store(file("q.retort"));
        Json spec = test::smallSyntheticSpec();
        const auto ids = store.addSlurmRuns(
            {{"gone", spec, Json::object(),
              SlurmTask{0, "200", 7, "", file("shards/late.retort"), "RUNNING", "", false}}});
        slurmPurged();
        SyncReport r = syncSlurm(store);
        QCOMPARE(r.interrupted, 1);
        QCOMPARE(store.run(ids[0])->status, RunStatus::Interrupted);
        QVERIFY(store.run(ids[0])->error.find("200_7") != std::string::npos);
        r = syncSlurm(store);  // again: no change, not counted twice
        QCOMPARE(r.interrupted, 0);
        QCOMPARE(store.run(ids[0])->status, RunStatus::Interrupted);

        // The shard completes late (a slow shared disk): the next sync merges it.
        QDir().mkpath(m_dir.filePath("shards"));
        std::vector<SpecIssue> issues;
        const ExperimentSpec es = ExperimentSpec::fromJson(spec, issues);
        QVERIFY(issues.empty());
        test::writeFile(
            file("late.json"),
            Json({{"name", "gone"}, {"params", Json::object()}, {"spec", es.toJson()}}).dump());
        QCOMPARE(runPoint(file("late.json"), file("shards/late.retort"), "", false),
                 std::string("completed"));
        r = syncSlurm(store);
        QCOMPARE(r.merged, 1);
        QCOMPARE(store.run(ids[0])->status, RunStatus::Completed);
        QVERIFY(store.artifact(ids[0], "compressed"));
    }

    void arrayNotationAndThrottles() {
        // squeue may print ranges with a throttle ("%2"); every index in them is pending.
        ProjectStore store(file("r.retort"));
        std::vector<ProjectStore::NewSlurmRun> runs;
        for (int k = 0; k < 6; ++k)
            runs.push_back(
                {"r" + std::to_string(k), test::smallSyntheticSpec(), Json::object(),
                 SlurmTask{0, "300", k, "", file("shards/x" + std::to_string(k)), "", "", false}});
        store.addSlurmRuns(runs);
        answer("squeue",
               "300_[0-2,4]%2|PENDING|JobArrayTaskLimit\n300_3|RUNNING|None\n300_5|RUNNING|None\n");
        answer("sacct", "", 1);
        const SyncReport r = syncSlurm(store);
        QCOMPARE(r.pending, 4);
        QCOMPARE(r.running, 2);
    }

    void submitRecordsNothingWhenSbatchFails() {
        ProjectStore store(file("s.retort"));
        answer("sbatch", "", 1);
        test::writeFile(file("fake/sbatch.out"),
                        "sbatch: error: invalid partition specified: nope\n");
        SlurmOptions o;
        o.shared_dir = file("shared");
        o.partition = "nope";
        try {
            submitSweep(store, test::smallSyntheticSpec(), o, "retort-cli", false);
            QFAIL("submitted although sbatch failed");
        } catch (const SlurmError& e) {
            QVERIFY2(std::string(e.what()).find("invalid partition") != std::string::npos,
                     e.what());
        }
        QVERIFY(store.runs().empty());
        // sbatch answers "JOBID" or "JOBID;CLUSTER": the id is what comes before the semicolon.
        answer("sbatch", "4242;cluster\n", 0);
        const SubmitResult r =
            submitSweep(store, test::smallSyntheticSpec(), o, "retort-cli", false);
        QCOMPARE(r.job_id, std::string("4242"));
        QCOMPARE(r.teacher_job, std::string("4242"));
        QCOMPARE(store.slurmTasks().size(), size_t(1));
        QVERIFY(test::readFile(file("fake/sbatch.log")).find("--dependency=afterok:4242") !=
                std::string::npos);
    }
};

QTEST_APPLESS_MAIN(TestSlurm)
#include "tst_slurm.moc"

#include "testutil.h"

#include "spec/specvalidator.h"
#include "store/projectstore.h"
#include "train/pipeline.h"
#include "train/runner.h"
#include "train/stages.h"

#include <QProcess>

using namespace retort;

namespace {

struct Recorded {
    std::vector<Progress> events;
    bool saw(const std::string& text) const {
        for (const auto& e : events)
            if (e.message.find(text) != std::string::npos) return true;
        return false;
    }
    int epochs(const std::string& stage) const {
        int n = 0;
        for (const auto& e : events) n += e.kind == Progress::Kind::Epoch && e.stage == stage;
        return n;
    }
};

RunOutcome runOne(ProjectStore& store, const Json& j, Recorded* rec = nullptr,
                  const std::atomic<bool>* cancel = nullptr,
                  std::function<void(const Progress&)> hook = {}) {
    SpecValidator v(&store);
    auto points = v.plan(j);
    const int64_t id = store.createRun(points[0].name, points[0].spec.toJson(), points[0].params);
    Runner r(
        store,
        [&](const Progress& p) {
            if (rec) rec->events.push_back(p);
            if (hook) hook(p);
        },
        cancel);
    return r.run(id, points[0].spec);
}

}  // namespace

class TestRunner : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string file(const char* n) { return m_dir.filePath(n).toStdString(); }

private Q_SLOTS:
    void distillsAndStoresEverything() {
        ProjectStore store(file("a.retort"));
        Json j = test::smallSyntheticSpec();
        j["prune"] = {{"sparsity", 0.7}, {"begin_epoch", 1}, {"end_epoch", 2}};
        j["quantize"] = {{"bits", 8}};
        RunOutcome o = runOne(store, j);
        QCOMPARE(o.status, RunStatus::Completed);
        const auto r = *store.run(1);
        QCOMPARE(r.status, RunStatus::Completed);
        // Learned something real: 4 classes, chance is 0.25.
        QVERIFY(r.results["test_accuracy"].get<double>() > 0.6);
        QVERIFY(r.results["teacher_test_accuracy"].get<double>() > 0.6);
        // compressed_size_bytes is the size of the stored file, which reads back.
        const auto compressed = store.artifact(1, "compressed");
        QVERIFY(compressed);
        QCOMPARE(r.results["compressed_size_bytes"].get<int64_t>(), int64_t(compressed->size()));
        QVERIFY(r.results["compressed_size_bytes"].get<int64_t>() <
                r.results["size_bytes"].get<int64_t>());
        ZooNet back = loadCompressedModel(*compressed);
        QVERIFY(back->summary().param_count == r.results["param_count"].get<int64_t>());
        // Sparsity as asked for, per layer and overall.
        QVERIFY(std::abs(r.results["sparsity"].get<double>() - 0.7) < 0.01);
        const auto layers = store.layers(1);
        QCOMPARE(layers.size(), size_t(2));
        // Global magnitude pruning keeps exactly 640 - round(0.7 * 640) = 192 of the two weight
        // matrices (36x16 and 16x4); the 20 biases are not pruned.
        int64_t nz = 0, numel = 0;
        for (const auto& l : layers) {
            nz += l.nonzero;
            numel += l.numel;
        }
        QCOMPARE(numel, int64_t(576 + 64));
        QCOMPARE(nz, int64_t(192));
        QCOMPARE(r.results["nonzero_params"].get<int64_t>(), int64_t(192 + 20));
        // Per-epoch metrics for each of the 3 epochs, a checkpoint, the environment.
        int valAcc = 0;
        for (const auto& m : store.metrics(1)) valAcc += m.name == "val_accuracy";
        QCOMPARE(valAcc, 3);
        QVERIFY(store.artifact(1, "checkpoint_student"));
        QVERIFY(store.artifact(1, "checkpoint_optimizer"));
        QVERIFY(r.environment.contains("libtorch") && r.environment.contains("blas"));
        QVERIFY(r.results["latency_ms"].get<double>() > 0);
        // By hand, docs/spec.md's convention: fc1 1152 multiply-add FLOPs + 16 bias adds, 16
        // ReLUs, fc2 128 + 4 bias adds.
        QCOMPARE(r.results["flops"].get<int64_t>(), int64_t(1316));
    }

    void teacherIsTrainedOnceAndReused() {
        const std::string path = file("teacher.retort");
        Recorded first, second, third;
        {
            ProjectStore store(path);
            runOne(store, test::smallSyntheticSpec(), &first);
        }
        {
            ProjectStore store(path);  // a new process: nothing cached in memory
            Json j = test::smallSyntheticSpec();
            j["distill"]["temperature"] = 8.0;
            QCOMPARE(runOne(store, j, &second).status, RunStatus::Completed);
            Json k = test::smallSyntheticSpec();
            k["teacher"]["hidden"] = {24};  // another teacher spec: trained anew
            runOne(store, k, &third);
        }
        QCOMPARE(first.epochs("teacher"), 2);
        QCOMPARE(second.epochs("teacher"), 0);
        QVERIFY(second.saw("reusing the stored teacher"));
        QCOMPARE(third.epochs("teacher"), 2);
        ProjectStore store(path, ProjectStore::Access::ReadOnly);
        QCOMPARE(store.run(1)->results["teacher_key"], store.run(2)->results["teacher_key"]);
        QVERIFY(store.run(1)->results["teacher_key"] != store.run(3)->results["teacher_key"]);
        QCOMPARE(store.run(1)->results["teacher_test_accuracy"],
                 store.run(2)->results["teacher_test_accuracy"]);
    }

    void teacherOutputsAreReusedAcrossProcesses() {
        const std::string path = file("outputs.retort");
        Json j = test::smallSyntheticSpec();
        j["teacher"].erase("train");  // frozen at initialization, as in the benchmarks
        Recorded first, second, third;
        RunOutcome a, b;
        {
            ProjectStore store(path);
            a = runOne(store, j, &first);
        }
        {
            ProjectStore store(path);  // another process: only the project carries the outputs
            b = runOne(store, j, &second);
            Json k = j;
            k["data"]["limit_train"] = 500;  // other data: the outputs do not apply
            runOne(store, k, &third);
        }
        QVERIFY(first.saw("computing the frozen teacher's outputs"));
        QVERIFY(second.saw("reusing the teacher's stored outputs"));
        QVERIFY(!second.saw("computing the frozen teacher's outputs"));
        QVERIFY(third.saw("computing the frozen teacher's outputs"));
        QCOMPARE(a.results["test_accuracy"], b.results["test_accuracy"]);
        QCOMPARE(a.results["teacher_test_accuracy"], b.results["teacher_test_accuracy"]);
    }

    void sameSpecSameResults() {
        ProjectStore a(file("d1.retort")), b(file("d2.retort"));
        RunOutcome x = runOne(a, test::smallSyntheticSpec()),
                   y = runOne(b, test::smallSyntheticSpec());
        QCOMPARE(x.results["test_accuracy"], y.results["test_accuracy"]);
        QCOMPARE(*a.artifact(1, "compressed"), *b.artifact(1, "compressed"));
    }

    void stagesAreCheckedAndRunInOrder() {
        using namespace retort::pipeline;
        std::vector<SpecIssue> issues;
        const ExperimentSpec withTeacher =
            ExperimentSpec::fromJson(test::smallSyntheticSpec(), issues);
        QVERIFY(issues.empty());
        Json j = test::smallSyntheticSpec();
        j.erase("teacher");
        j["distill"]["lambda"] = 0.0;
        const ExperimentSpec alone = ExperimentSpec::fromJson(j, issues);
        QVERIFY(issues.empty());
        auto names = [](const std::vector<Stage*>& stages) {
            std::string out;
            for (const Stage* s : stages) out += (out.empty() ? "" : " ") + s->name();
            return out;
        };
        const Pipeline standard = standardPipeline();
        QCOMPARE(names(standard.plan(withTeacher)),
                 std::string("data teacher teacher_outputs student compression evaluation "
                             "packaging"));
        QCOMPARE(names(standard.plan(alone)),
                 std::string("data student compression evaluation packaging"));
        QCOMPARE(names(teacherPipeline().plan(withTeacher)),
                 std::string("data teacher teacher_outputs"));

        // A stage before what it reads is refused by name, as is a slot filled twice.
        Pipeline misordered;
        misordered.add(std::make_unique<DataStage>()).add(std::make_unique<TeacherOutputsStage>());
        try {
            misordered.plan(withTeacher);
            QFAIL("a stage reading an unfilled slot was accepted");
        } catch (const std::logic_error& e) {
            QCOMPARE(std::string(e.what()), std::string("the teacher_outputs stage reads the "
                                                        "teacher slot, which no stage before it "
                                                        "fills"));
        }
        QCOMPARE(names(misordered.plan(alone)), std::string("data"));  // it does not apply
        Pipeline twice;
        twice.add(std::make_unique<DataStage>()).add(std::make_unique<DataStage>());
        QVERIFY_THROWS_EXCEPTION(std::logic_error, twice.plan(alone));

        // Without a teacher's outputs the student may not distil: it reads them only then.
        Pipeline noTeacher;
        noTeacher.add(std::make_unique<DataStage>()).add(std::make_unique<StudentStage>());
        QVERIFY_THROWS_EXCEPTION(std::logic_error, noTeacher.plan(withTeacher));
        QCOMPARE(names(noTeacher.plan(alone)), std::string("data student"));
    }

    void cancelIsSeenBetweenStages() {
        // Cancelled while the teacher's outputs are computed: the run stops before the student
        // stage starts, and says where.
        ProjectStore store(file("cancel-stage.retort"));
        std::atomic<bool> cancel{false};
        RunOutcome o =
            runOne(store, test::smallSyntheticSpec(), nullptr, &cancel, [&](const Progress& p) {
                if (p.stage == "teacher_outputs") cancel = true;
            });
        QCOMPARE(o.status, RunStatus::Cancelled);
        QCOMPARE(store.run(1)->error,
                 std::string("cancelled by the user at the end of the teacher_outputs stage"));
        QVERIFY(store.metrics(1).empty());  // no student epoch began
    }

    void cancelKeepsCompletedEpochs() {
        ProjectStore store(file("cancel.retort"));
        std::atomic<bool> cancel{false};
        RunOutcome o =
            runOne(store, test::smallSyntheticSpec(), nullptr, &cancel, [&](const Progress& p) {
                if (p.kind == Progress::Kind::Epoch && p.stage == "student" && p.epoch == 1)
                    cancel = true;
            });
        QCOMPARE(o.status, RunStatus::Cancelled);
        const auto r = *store.run(1);
        QCOMPARE(r.status, RunStatus::Cancelled);
        QVERIFY(r.error.find("epoch 2") != std::string::npos);
        QVERIFY(!store.metrics(1).empty());  // epoch 1 kept
        QVERIFY(store.artifact(1, "checkpoint_student"));
        QVERIFY(r.results.empty());
    }

    // Esc after the last epoch: the trained student is still compressed, evaluated and stored
    // (the run was cancelled with every epoch stored and no results).
    void cancelAfterTheLastEpochStillEvaluates() {
        ProjectStore store(file("cancel-last.retort"));
        std::atomic<bool> cancel{false};
        const Json j = test::smallSyntheticSpec();
        const int64_t last = j["train"]["epochs"].get<int64_t>();
        std::vector<std::string> messages;
        RunOutcome o = runOne(store, j, nullptr, &cancel, [&](const Progress& p) {
            if (p.kind == Progress::Kind::Epoch && p.stage == "student" && p.epoch == last)
                cancel = true;
            if (p.kind == Progress::Kind::Message) messages.push_back(p.message);
        });
        QCOMPARE(o.status, RunStatus::Completed);
        QVERIFY(store.run(1)->results.contains("test_accuracy"));
        QVERIFY(std::find(messages.begin(), messages.end(),
                          "cancel asked after training ended: finishing the evaluation") !=
                messages.end());
    }

    void divergenceFails() {
        ProjectStore store(file("nan.retort"));
        Json j = test::smallSyntheticSpec();
        j["train"]["optimizer"] = "sgd";
        j["train"]["lr"] = 1e30;
        RunOutcome o = runOne(store, j);
        QCOMPARE(o.status, RunStatus::Failed);
        QVERIFY2(o.error.find("not finite") != std::string::npos, o.error.c_str());
        QVERIFY(store.run(1)->results.empty());  // no NaN results stored
    }

    void teacherFromAnotherRun() {
        ProjectStore store(file("chain.retort"));
        Json j = test::smallSyntheticSpec();
        j.erase("teacher");
        j["distill"]["lambda"] = 0;
        j["student"]["hidden"] = {48};
        QCOMPARE(runOne(store, j).status, RunStatus::Completed);
        Json k = test::smallSyntheticSpec();
        k["teacher"] = {{"run", 1}};
        RunOutcome o = runOne(store, k);
        QCOMPARE(o.status, RunStatus::Completed);
        QCOMPARE(o.results["teacher_test_accuracy"], store.run(1)->results["test_accuracy"]);
    }

    void teacherOfAnotherRun() {
        // teacher: {"run": N, "model": "teacher"} reuses run N's own teacher, not its student.
        ProjectStore store(file("teacher-of.retort"));
        const RunOutcome first = runOne(store, test::smallSyntheticSpec());
        QCOMPARE(first.status, RunStatus::Completed);
        Json k = test::smallSyntheticSpec();
        k["teacher"] = {{"run", 1}, {"model", "teacher"}};
        const RunOutcome o = runOne(store, k);
        QCOMPARE(o.status, RunStatus::Completed);
        QCOMPARE(o.results["teacher_test_accuracy"], first.results["teacher_test_accuracy"]);
        QCOMPARE(o.results["teacher_param_count"], first.results["teacher_param_count"]);
        // A run with no teacher has none to give.
        Json none = test::smallSyntheticSpec();
        none.erase("teacher");
        none["distill"]["lambda"] = 0;
        QCOMPARE(runOne(store, none).status, RunStatus::Completed);
        k["teacher"] = {{"run", 3}, {"model", "teacher"}};
        SpecValidator v(&store);
        try {
            v.plan(k);
            QFAIL("a run without a teacher was accepted as teacher source");
        } catch (const SpecError& e) {
            QVERIFY(test::hasIssue(e.issues(), "teacher.model", "no stored zoo teacher"));
        }
    }

    void torchScriptTeacher() {
        const std::string pt = file("teacher.pt");
        const QString script =
            QString(
                "import torch\n"
                "m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 4))\n"
                "torch.jit.script(m).save('%1')\n")
                .arg(QString::fromStdString(pt));
        QProcess py;
        py.start("/usr/bin/python3", {"-c", script});
        if (!py.waitForFinished(120000) || py.exitCode() != 0)
            QFAIL(RETORT_MISSING("python3-torch",
                                 "/usr/bin/python3 with torch (to write a TorchScript module)"));
        ProjectStore store(file("ts.retort"));
        Json j = test::smallSyntheticSpec();
        j["teacher"] = {{"torchscript", pt}};
        RunOutcome o = runOne(store, j);
        QCOMPARE(o.status, RunStatus::Completed);
        QCOMPARE(o.results["teacher_param_count"].get<int64_t>(), int64_t(36 * 4 + 4));
        // Wrong output shape for this data is refused before training.
        Json k = test::smallSyntheticSpec();
        k["data"]["classes"] = 5;
        k["teacher"] = {{"torchscript", pt}};
        SpecValidator v(&store);
        QVERIFY_THROWS_EXCEPTION(SpecError, v.plan(k));
    }
};

QTEST_APPLESS_MAIN(TestRunner)
#include "tst_runner.moc"

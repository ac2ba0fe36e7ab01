// The figures a run reports, checked against what they claim to measure: pruning sparsity from
// the masks (not quantization's zeros), validation and test of the same model, times that cover
// every epoch of a resumed run, a teacher that takes nothing from the student's training, an
// untrained teacher said so, and the budget's size estimate against the written file.
#include "testutil.h"

#include "data/dataset.h"
#include "export/dataexport.h"
#include "models/compressedmodel.h"
#include "spec/specvalidator.h"
#include "store/projectstore.h"
#include "train/runner.h"

#include <QProcess>

using namespace retort;

namespace {

std::vector<RunPoint> plan(ProjectStore& store, const Json& j) {
    SpecValidator v(&store);
    return v.plan(j);
}

using test::runAll;

double accuracyOf(ZooNet& net, const torch::Tensor& x, const torch::Tensor& y) {
    torch::NoGradGuard guard;
    net->eval();
    return net->forward(x).argmax(1).eq(y).to(torch::kFloat64).mean().item<double>();
}

int64_t zerosIn(ZooNet& net) {
    int64_t zeros = 0;
    for (const auto& [name, w] : compressibleWeights(*net))
        zeros += w.numel() - w.count_nonzero().item<int64_t>();
    return zeros;
}

}  // namespace

class TestResults : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string file(const char* n) { return m_dir.filePath(n).toStdString(); }

private Q_SLOTS:
    void unprunedInt4ReportsNoPruningSparsity() {
        // Before: sparsity and nonzero_params were counted after quantization, so an unpruned
        // int4 run reported the weights rounded to zero as pruned.
        ProjectStore store(file("int4.retort"));
        Json j = test::smallSyntheticSpec();
        j["quantize"] = {{"bits", 4}};
        const RunOutcome o = runAll(store, j).front();
        QCOMPARE(o.status, RunStatus::Completed);
        const Json& r = o.results;
        // 36-16-4 MLP: 36*16 + 16 + 16*4 + 4 parameters, none pruned.
        QCOMPARE(r["param_count"].get<int64_t>(), int64_t(660));
        QCOMPARE(r["nonzero_params"].get<int64_t>(), int64_t(660));
        QCOMPARE(r["sparsity"].get<double>(), 0.0);
        for (const auto& l : store.layers(1)) QCOMPARE(l.nonzero, l.numel);
        // Quantization's own zeros are a figure of their own, and they are real: the stored
        // model has exactly that many zero weights.
        ZooNet back = loadCompressedModel(*store.artifact(1, "compressed"));
        const int64_t zeros = zerosIn(back);
        QVERIFY2(zeros > 0, "int4 rounds some of 640 weights to zero");
        QCOMPARE(r["quantization_zero_params"].get<int64_t>(), zeros);
    }

    void prunedSparsityComesFromTheMasks() {
        ProjectStore store(file("pruned.retort"));
        Json j = test::smallSyntheticSpec();
        j["prune"] = {
            {"sparsity", 0.5}, {"schedule", "one_shot"}, {"begin_epoch", 2}, {"end_epoch", 2}};
        j["quantize"] = {{"bits", 4}};
        const RunOutcome o = runAll(store, j).front();
        QCOMPARE(o.status, RunStatus::Completed);
        // One-shot at 50 % of 640 prunable weights: 320 removed by the masks; the biases stay.
        QCOMPARE(o.results["nonzero_params"].get<int64_t>(), int64_t(660 - 320));
        QCOMPARE(o.results["sparsity"].get<double>(), 0.5);
        ZooNet back = loadCompressedModel(*store.artifact(1, "compressed"));
        QCOMPARE(o.results["quantization_zero_params"].get<int64_t>(), zerosIn(back) - 320);
    }

    void validationAndTestDescribeTheSameModel() {
        // Before: val_accuracy came from the model before quantization, test_accuracy after.
        ProjectStore store(file("val.retort"));
        Json j = test::smallSyntheticSpec();
        j["quantize"] = {{"bits", 4}, {"granularity", "per_tensor"}};
        const RunOutcome o = runAll(store, j).front();
        QCOMPARE(o.status, RunStatus::Completed);
        const ExperimentSpec spec = plan(store, j).front().spec;
        const Dataset d = loadDataset(spec.data);
        QVERIFY(d.val_x.size(0) > 0);
        ZooNet deployed = loadCompressedModel(*store.artifact(1, "compressed"));
        QCOMPARE(o.results["val_accuracy"].get<double>(), accuracyOf(deployed, d.val_x, d.val_y));
        QCOMPARE(o.results["test_accuracy"].get<double>(),
                 accuracyOf(deployed, d.test_x, d.test_y));
        // The fp32 model's figures, named as such.
        QVERIFY(o.results.contains("val_accuracy_fp32") &&
                o.results.contains("test_accuracy_fp32"));
        // Unquantized, the fp32 model is the evaluated one (its figures are not scored twice):
        // the same numbers, not missing ones.
        j.erase("quantize");
        const RunOutcome dense = runAll(store, j).front();
        QCOMPARE(dense.status, RunStatus::Completed);
        QCOMPARE(dense.results["test_accuracy_fp32"], dense.results["test_accuracy"]);
        QCOMPARE(dense.results["val_accuracy_fp32"], dense.results["val_accuracy"]);
    }

    void resumedRunTimesCoverEveryEpoch() {
        // Before: train_seconds and throughput covered only the epochs after a resume, and
        // throughput was 0 when the run resumed after its last epoch.
        for (const int64_t stopAfter : {int64_t(1), int64_t(3)}) {
            const std::string path = file(stopAfter == 1 ? "resume1.retort" : "resume3.retort");
            ProjectStore store(path);
            std::atomic<bool> cancel{false};
            const RunOutcome first =
                runAll(store, test::smallSyntheticSpec(), nullptr, &cancel, [&](const Progress& p) {
                    if (p.kind == Progress::Kind::Epoch && p.stage == "student" &&
                        p.epoch == stopAfter)
                        cancel = true;
                }).front();
            if (stopAfter == 3) {
                // Cancelled after its last epoch, a run is still evaluated (#38); a crash there
                // leaves it interrupted with every epoch stored, which resume finishes.
                QCOMPARE(first.status, RunStatus::Completed);
                store.setStatus(1, RunStatus::Interrupted, "cut off after its last epoch");
            } else {
                QCOMPARE(first.status, RunStatus::Cancelled);
            }
            Runner again(store);
            const RunOutcome o = again.resume(1);
            QCOMPARE(o.status, RunStatus::Completed);
            double epochSeconds = 0, epochWall = 0;
            int epochs = 0;
            for (const auto& m : store.metrics(1)) {
                if (m.name == "epoch_seconds") {
                    epochSeconds += m.value;
                    ++epochs;
                }
                if (m.name == "epoch_wall_seconds") epochWall += m.value;
            }
            QCOMPARE(epochs, 3);
            QCOMPARE(o.results["train_seconds"].get<double>(), epochSeconds);
            QVERIFY(o.results["wall_seconds"].get<double>() >= epochWall);
            QVERIFY(o.results["train_samples_per_s"].get<double>() > 0);
            const double samples = o.results["train_samples"].get<double>() * 3;
            QCOMPARE(o.results["train_samples_per_s"].get<double>(), samples / epochSeconds);
        }
    }

    void aSeedSweepSharesOneTeacherAndOneSplit() {
        // Before: `seed` also chose the split and (by default) the teacher's seed, so every
        // student seed trained its own teacher on its own split.
        auto teachersTrained = [&](const Json& sweep, const char* name) {
            ProjectStore store(file(name));
            Json j = test::smallSyntheticSpec();
            j["sweep"] = sweep;
            std::vector<std::string> messages;
            const auto outcomes = runAll(store, j, &messages);
            int trained = 0;
            for (const auto& m : messages) trained += m.find("training the teacher") == 0;
            for (const auto& o : outcomes)
                if (o.status != RunStatus::Completed) trained = -1;
            return std::pair{trained, outcomes};
        };
        const auto [students, byStudent] = teachersTrained({{"seed", {1, 2, 3}}}, "seeds.retort");
        QCOMPARE(students, 1);
        // The same data: the same validation split size and teacher accuracy; other students.
        QCOMPARE(byStudent[0].results["teacher_test_accuracy"],
                 byStudent[2].results["teacher_test_accuracy"]);
        QVERIFY(byStudent[0].results["test_accuracy"] != byStudent[1].results["test_accuracy"] ||
                byStudent[0].results["val_accuracy"] != byStudent[1].results["val_accuracy"]);
        const auto [teachers, byTeacher] =
            teachersTrained({{"teacher.seed", {1, 2}}}, "teacher-seeds.retort");
        QCOMPARE(teachers, 2);
        const auto [splits, byData] = teachersTrained({{"data.seed", {1, 2}}}, "data-seeds.retort");
        QCOMPARE(splits, 2);  // another split: another teacher (it is keyed by the data)
        QVERIFY(byData[0].results["val_accuracy"] != byData[1].results["val_accuracy"] ||
                byData[0].results["test_accuracy"] != byData[1].results["test_accuracy"]);
    }

    void teacherTakesNothingFromTheStudentsTraining() {
        // Before: teacher.train inherited train.*, so a sweep over train.lr trained one
        // teacher per point and compared students of different teachers.
        Json j = test::smallSyntheticSpec();
        j["teacher"]["train"] = {{"epochs", 2}};
        j["train"]["lr"] = 0.004;
        j["train"]["batch_size"] = 30;
        std::vector<SpecIssue> issues;
        const ExperimentSpec s = ExperimentSpec::fromJson(j, issues);
        QVERIFY(issues.empty());
        QCOMPARE(s.teacher->train->lr, TrainOptions{}.lr);
        QCOMPARE(s.teacher->train->batch_size, TrainOptions{}.batch_size);
        QCOMPARE(s.teacher->train->epochs, int64_t(2));

        ProjectStore store(file("teacher.retort"));
        j["sweep"] = {{"train.lr", {0.001, 0.004}}};
        std::vector<std::string> messages;
        const auto outcomes = runAll(store, j, &messages);
        QCOMPARE(outcomes.size(), size_t(2));
        QCOMPARE(outcomes[0].results["teacher_key"], outcomes[1].results["teacher_key"]);
        int trained = 0;
        for (const auto& m : messages)
            trained += m.find("training the teacher") != std::string::npos;
        QCOMPARE(trained, 1);
    }

    void untrainedTeacherIsSaidSo() {
        Json j = test::smallSyntheticSpec();
        std::vector<SpecIssue> issues;
        QVERIFY(ExperimentSpec::fromJson(j, issues).warnings().empty());
        j["teacher"].erase("train");
        const ExperimentSpec s = ExperimentSpec::fromJson(j, issues);
        QVERIFY(issues.empty());
        QVERIFY(test::hasIssue(s.warnings(), "teacher.train", "random network"));
        ProjectStore store(file("random.retort"));
        const RunOutcome o = runAll(store, j).front();
        QCOMPARE(o.results["teacher_trained"], Json(false));
        // The distilled student beats its random teacher on validation: the run says so.
        const double studentVal = o.results["val_accuracy_fp32"].get<double>();
        const double teacherVal = o.results["teacher_val_accuracy"].get<double>();
        QVERIFY2(studentVal > teacherVal,
                 qPrintable(QString("%1 vs %2").arg(studentVal).arg(teacherVal)));
        bool hinted = false;
        for (const auto& w : o.results.value("warnings", Json::array()))
            hinted |= w.get<std::string>().find("beats its teacher") != std::string::npos;
        QVERIFY2(hinted, o.results.value("warnings", Json::array()).dump().c_str());
        ProjectStore store2(file("trained.retort"));
        QCOMPARE(runAll(store2, test::smallSyntheticSpec()).front().results["teacher_trained"],
                 Json(true));
    }

    void corruptCheckpointIsRefused() {
        // Before: flipped bytes in a stored checkpoint were loaded silently and the resumed run
        // ended "completed" at chance accuracy.
        const std::string path = file("corrupt.retort");
        {
            ProjectStore store(path);
            std::atomic<bool> cancel{false};
            runAll(store, test::smallSyntheticSpec(), nullptr, &cancel, [&](const Progress& p) {
                if (p.kind == Progress::Kind::Epoch && p.stage == "student" && p.epoch == 1)
                    cancel = true;
            });
            QCOMPARE(store.run(1)->status, RunStatus::Cancelled);
        }
        test::sql(path,
                  "UPDATE artifacts SET data = CAST(substr(data, 1, 200) || x'00ff00ff' || "
                  "substr(data, 205) AS BLOB) WHERE run_id = 1 AND kind = 'checkpoint_student'");
        ProjectStore store(path);
        Runner again(store);
        try {
            again.resume(1);
            QFAIL("a corrupt checkpoint was loaded");
        } catch (const CorruptArtifactError& e) {
            const std::string what = e.what();
            QVERIFY2(what.find("run 1") != std::string::npos &&
                         what.find("checkpoint_student") != std::string::npos,
                     e.what());
        }
        QCOMPARE(store.run(1)->status, RunStatus::Cancelled);  // unchanged

        // A corrupt stored teacher fails the run that would load it, naming it.
        Json j = test::smallSyntheticSpec();
        QCOMPARE(runAll(store, j).front().status, RunStatus::Completed);
        test::sql(path, "UPDATE teachers SET state = CAST(x'00' || substr(state, 2) AS BLOB)");
        ProjectStore reopened(path);
        const RunOutcome o = runAll(reopened, j).front();
        QCOMPARE(o.status, RunStatus::Failed);
        QVERIFY2(o.error.find("stored teacher") != std::string::npos, o.error.c_str());
        // Corrupt teacher outputs are a cache: recomputed, and the run completes.
        test::sql(path,
                  "DELETE FROM teachers; UPDATE teacher_outputs SET logits = "
                  "CAST(x'00' || substr(logits, 2) AS BLOB)");
        std::vector<std::string> messages;
        ProjectStore third(path);
        QCOMPARE(runAll(third, j, &messages).front().status, RunStatus::Completed);
        bool recomputed = false;
        for (const auto& m : messages) recomputed |= m.find("recomputing") != std::string::npos;
        QVERIFY(recomputed);
    }

    void torchScriptTeacherGetsTheInputItExpects() {
        // Before: a TorchScript teacher always got Retort's normalized features. The module
        // here returns its first four input features as logits, so its stored outputs show
        // exactly what it was fed.
        const std::string pt = file("first4.pt"), zero = file("zero.pt");
        const QString script = QString(
                                   "import torch\n"
                                   "class F(torch.nn.Module):\n"
                                   "    def forward(self, x):\n"
                                   "        return x.flatten(1)[:, :4]\n"
                                   "class Z(torch.nn.Module):\n"
                                   "    def forward(self, x):\n"
                                   "        return torch.zeros(x.size(0), 4)\n"
                                   "torch.jit.script(F()).save('%1')\n"
                                   "torch.jit.script(Z()).save('%2')\n")
                                   .arg(QString::fromStdString(pt), QString::fromStdString(zero));
        // From a file: TorchScript compiles a class's methods from their source.
        const std::string py = file("write_teachers.py");
        test::writeFile(py, script.toStdString());
        QProcess p;
        p.start("/usr/bin/python3", {QString::fromStdString(py)});
        if (!p.waitForFinished(120000) || p.exitCode() != 0)
            QFAIL(
                qPrintable(QString(RETORT_MISSING("python3-torch", "/usr/bin/python3 with torch")) +
                           "\n" + QString::fromUtf8(p.readAllStandardError())));

        Json j = test::smallSyntheticSpec();
        std::vector<SpecIssue> ignored;
        const ExperimentSpec spec = ExperimentSpec::fromJson(j, ignored);
        const Dataset d = loadDataset(spec.data);
        const double mean = d.normalization["mean"].get<double>(),
                     sd = d.normalization["std"].get<double>();
        const torch::Tensor normalized = d.train_x.flatten(1).slice(1, 0, 4);
        const torch::Tensor raw = normalized * sd + mean;
        const std::pair<Json, torch::Tensor> cases[] = {
            {Json("normalized"), normalized},
            {Json("raw"), raw},
            {Json({{"mean", 0.5}, {"std", 2.0}}), (raw - 0.5) / 2.0},
        };
        int k = 0;
        for (const auto& [input, expected] : cases) {
            ProjectStore store(file(("input" + std::to_string(k++) + ".retort").c_str()));
            j["teacher"] = {{"torchscript", pt}, {"input", input}};
            const RunOutcome o = runAll(store, j).front();
            QCOMPARE(o.status, RunStatus::Completed);
            const auto outputs = store.teacherOutputs(o.results["teacher_key"].get<std::string>());
            QVERIFY(outputs);
            const std::vector<char> bytes(outputs->logits.begin(), outputs->logits.end());
            const torch::Tensor fed = torch::pickle_load(bytes).toTensor();
            QVERIFY2(torch::allclose(fed, expected, 1e-5, 1e-5), input.dump().c_str());
        }
        std::vector<SpecIssue> issues;
        Json bad = j;
        bad["teacher"]["input"] = "scaled";
        ExperimentSpec b = ExperimentSpec::fromJson(bad, issues);
        QVERIFY(test::hasIssue(issues, "teacher.input", "'scaled' is not one of"));
        QCOMPARE(b.teacher->input, TeacherInput::Normalized);
        // "explicit" is the object form's name, not a value a spec may write.
        issues.clear();
        bad["teacher"]["input"] = "explicit";
        ExperimentSpec::fromJson(bad, issues);
        QVERIFY(test::hasIssue(issues, "teacher.input", "'explicit' is not one of"));
        SpecValidator v;
        bad["teacher"]["input"] = {{"mean", 0.5}, {"std", 0}};
        b = ExperimentSpec::fromJson(bad, issues);
        QVERIFY(test::hasIssue(v.validate(b), "teacher.input.std", "> 0"));

        // A teacher at chance is said so, in the run's results.
        ProjectStore store(file("chance.retort"));
        j["teacher"] = {{"torchscript", zero}};
        const RunOutcome o = runAll(store, j).front();
        QVERIFY2(o.results.contains("warnings") && o.results["warnings"][0].get<std::string>().find(
                                                       "near chance") != std::string::npos,
                 o.results.dump().c_str());
    }

    void cachesFollowTheFilesOnDisk() {
        // Before: the validator's probes and the runner's data were keyed by spec text, so a
        // workbench left open kept data that changed on disk and a probe error until reopened.
        const std::string dir = file("csvdata");
        QDir().mkpath(QString::fromStdString(dir));
        auto rows = [](int n, int features) {
            std::string out;
            for (int i = 0; i < n; ++i) {
                out += std::to_string(i % 2);
                for (int f = 0; f < features; ++f)
                    out += "," + std::to_string((i % 2) * 2 + f * 0.1 + (i % 7) * 0.01);
                out += "\n";
            }
            return out;
        };
        test::writeFile(dir + "/train.csv", rows(40, 3));
        DataOptions data;
        data.format = DataFormat::Csv;
        data.path = dir;
        SpecValidator v;
        std::string error;
        QVERIFY(!v.dataShape(data, Task::Classification, error));
        QVERIFY2(error.find("test.csv") != std::string::npos, error.c_str());
        test::writeFile(dir + "/test.csv", rows(10, 3));
        std::optional<DataShape> shape = v.dataShape(data, Task::Classification, error);
        QVERIFY2(shape, error.c_str());
        QCOMPARE(shape->sample_shape, (std::vector<int64_t>{3}));
        test::writeFile(dir + "/train.csv", rows(60, 5));
        test::writeFile(dir + "/test.csv", rows(10, 5));
        shape = v.dataShape(data, Task::Classification, error);
        QVERIFY2(shape, error.c_str());
        QCOMPARE(shape->sample_shape, (std::vector<int64_t>{5}));

        // One Runner, as the workbench keeps it: the second run reads the changed file.
        Json j = Json::parse(R"({"name": "csv", "seed": 1, "threads": 1, "device": "cpu",
            "student": {"arch": "mlp", "hidden": [4]}, "distill": {"lambda": 0},
            "train": {"epochs": 1, "batch_size": 10}})");
        j["data"] = {{"format", "csv"}, {"path", dir}, {"validation_fraction", 0}};
        ProjectStore store(file("csv.retort"));
        Runner runner(store);
        auto runIt = [&] {
            const auto p = plan(store, j).front();
            return runner.run(store.createRun(p.name, p.spec.toJson(), p.params), p.spec);
        };
        QCOMPARE(runIt().results["train_samples"].get<int64_t>(), int64_t(60));
        test::writeFile(dir + "/train.csv", rows(80, 5));
        QCOMPARE(runIt().results["train_samples"].get<int64_t>(), int64_t(80));
    }

    void exportsSayWhatEachRunWas() {
        // Before: CSV columns only for swept keys, so in a mixed project one spec's fixed
        // temperature was blank; no architecture anywhere; no spec in the JSON.
        std::vector<SpecIssue> issues;
        Json a = test::smallSyntheticSpec(), b = test::smallSyntheticSpec();
        a["distill"]["temperature"] = 2.0;
        b["distill"]["temperature"] = 4.0;
        b["student"]["hidden"] = {32, 8};
        std::vector<RunRecord> runs(2);
        runs[0].id = 1;
        runs[0].spec = ExperimentSpec::fromJson(a, issues).toJson();
        runs[1].id = 2;
        runs[1].spec = ExperimentSpec::fromJson(b, issues).toJson();
        runs[1].params = {{"seed", 5}};
        runs[1].status = RunStatus::Completed;
        const std::string csv = runsCsv(runs);
        const std::string header = csv.substr(0, csv.find('\n'));
        QCOMPARE(header, std::string("id,name,status,distill.temperature,seed,student.hidden,"
                                     "student_architecture,teacher_architecture,error"));
        QVERIFY2(csv.find("\n1,,queued,2,5,[16],mlp 16,mlp 32,\n") != std::string::npos,
                 csv.c_str());
        QVERIFY2(csv.find("\n2,,completed,4,5,\"[32,8]\",mlp 32-8,mlp 32,\n") != std::string::npos,
                 csv.c_str());
        QCOMPARE(runsJson("p", runs)["runs"][1]["spec"]["distill"]["temperature"], Json(4.0));
    }

    void sizeEstimateIsExactForDenseModels() {
        // Before: the budget assumed a 160-byte description and 16-byte names.
        for (const char* arch : {"mlp", "cnn"}) {
            ProjectStore store(
                file(arch == std::string("mlp") ? "est-mlp.retort" : "est-cnn.retort"));
            Json j = test::smallSyntheticSpec();
            j["student"] = {{"arch", arch}, {"hidden", {12}}};
            if (arch == std::string("cnn")) j["student"]["channels"] = {4};
            j["teacher"] = nullptr;
            j["distill"] = {{"lambda", 0.0}};
            const RunOutcome o = runAll(store, j).front();
            QCOMPARE(o.status, RunStatus::Completed);
            const ExperimentSpec spec = plan(store, j).front().spec;
            const DataShape shape = probeData(spec.data);
            QCOMPARE(expectedCompressedSize(spec.student, shape, 0.0, 32, true),
                     o.results["compressed_size_bytes"].get<int64_t>());
        }
    }

    void sizeEstimateFollowsTheFileFormat() {
        // Before: 1:4 was estimated as 50 % sparsity, a structured unit fraction as weight
        // sparsity, and group-wise quantization with one scale per row. Each within 2 % of the
        // real file now.
        QTemporaryDir dir;
        const std::string texts = test::writeSeparableTexts(dir, 20);
        struct Case {
            const char* name;
            Json spec;
        };
        std::vector<Case> cases;
        Json nm = test::smallSyntheticSpec();
        nm["data"]["shape"] = {1, 8, 16};
        nm["student"] = {{"arch", "mlp"}, {"hidden", {64}}};
        nm["teacher"] = nullptr;
        nm["distill"] = {{"lambda", 0.0}};
        nm["train"]["epochs"] = 1;
        Json gptq = nm;
        nm["prune"] = {{"structure", "n:m"}, {"n", 1}, {"m", 4}, {"schedule", "one_shot"}};
        cases.push_back({"n:m 1:4", nm});
        gptq["quantize"] = {{"mode", "gptq"}, {"bits", 4}, {"group_size", 64}};
        cases.push_back({"gptq int4 g64", gptq});
        Json heads = test::textRunSpec("heads", texts);
        heads["student"] = {
            {"arch", "transformer"}, {"layers", 2}, {"d_model", 32}, {"heads", 4}, {"ffn", 64},
            {"dropout", 0.0}};
        heads["train"] = {{"epochs", 1}, {"batch_size", 16}};
        heads["prune"] = {{"structure", "heads"}, {"sparsity", 0.5}, {"schedule", "one_shot"}};
        cases.push_back({"heads 0.5 rebuilt", heads});
        for (const auto& c : cases) {
            ProjectStore store(
                dir.filePath(QString("est%1.retort").arg(int(&c - &cases[0]))).toStdString());
            const RunOutcome o = runAll(store, c.spec).front();
            QVERIFY2(o.status == RunStatus::Completed, (c.name + (": " + o.error)).c_str());
            const ExperimentSpec spec = plan(store, c.spec).front().spec;
            const double real = o.results["compressed_size_bytes"].get<double>();
            const double estimate = double(expectedCompressedSize(spec, probeData(spec.data)));
            QVERIFY2(std::abs(estimate / real - 1.0) < 0.02,
                     (std::string(c.name) + ": estimate " + std::to_string(estimate) + " B, file " +
                      std::to_string(real) + " B")
                         .c_str());
        }
    }
};

QTEST_APPLESS_MAIN(TestResults)
#include "tst_results.moc"

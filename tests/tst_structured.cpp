// Compression that really shrinks: structured pruning rebuilds a smaller model with the masked
// model's outputs and no trace of the removed units; N:M masks; taylor ranks by gradients; and
// whole runs of every new method (wanda, sparsegpt, n:m, neurons, channels, gptq, qat) complete
// with honest figures: their files read back, sizes count their indices and scales.
#include "testutil.h"

#include "compress/pruner.h"
#include "compress/rebuild.h"
#include "compress/sensitivity.h"
#include "models/compressedmodel.h"
#include "models/modeldescription.h"
#include "spec/specvalidator.h"
#include "store/projectstore.h"
#include "train/runner.h"

using namespace retort;

namespace {

std::vector<SpecIssue> issuesOf(const Json& j) {
    return test::specIssues(j);
}

}  // namespace

class TestStructured : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string file(const std::string& n) {
        return m_dir.filePath(QString::fromStdString(n)).toStdString();
    }

private Q_SLOTS:
    void neuronsRebuildSmallerWithTheSameOutputs() {
        torch::manual_seed(1);
        ModelOptions mo;
        mo.hidden = {32, 16};
        ZooNet net(mo, std::vector<int64_t>{1, 8, 8}, 5);
        net->eval();
        Pruner p(test::oneShotPrune(PruneStructure::Neurons, 0.5, PruneScope::Layer), 1,
                 compressibleWeights(*net), 1);
        QCOMPARE(p.unitGroups().size(), size_t(2));  // fc1 -> fc2, fc2 -> out
        p.pruneTo(0.5);
        const auto x = torch::randn({9, 1, 8, 8});
        torch::NoGradGuard guard;
        const auto masked = net->forward(x);
        std::vector<UnitCount> counts;
        ZooNet small = rebuildWithoutPrunedUnits(net, p, &counts);
        small->eval();
        QCOMPARE(small->options().hidden, (std::vector<int64_t>{16, 8}));
        QCOMPARE(counts.size(), size_t(2));
        QCOMPARE(counts[0].kept, int64_t(16));
        auto params = small->named_parameters();
        QCOMPARE(params["net.fc1.weight"].sizes().vec(), (std::vector<int64_t>{16, 64}));
        QCOMPARE(params["net.fc2.weight"].sizes().vec(), (std::vector<int64_t>{8, 16}));
        QCOMPARE(params["net.out.weight"].sizes().vec(), (std::vector<int64_t>{5, 8}));
        QCOMPARE(params["net.fc1.bias"].numel(), int64_t(16));
        QVERIFY(torch::allclose(small->forward(x), masked, 1e-5, 1e-6));
        // No trace: the parameter count is the described smaller model's, and no kept row or
        // input column is a pruned one (all zero).
        QCOMPARE(test::countParams(small),
                 describeModel(small->options(), {1, 8, 8}, 5).param_count);
        QCOMPARE(test::countParams(small), int64_t(16 * 64 + 16 + 8 * 16 + 8 + 5 * 8 + 5));
        QVERIFY((params["net.fc1.weight"].abs().sum(1) > 0).all().item<bool>());
        QVERIFY((params["net.out.weight"].abs().sum(0) > 0).all().item<bool>());
        // The masked model's removed units were its smallest rows (weight norm).
        const auto norms = net->named_parameters()["net.fc1.weight"].norm(2, 1);
        QCOMPARE((norms > 0).sum().item<int64_t>(), int64_t(16));
    }

    void globalScopeKeepsALayerAlive() {
        torch::manual_seed(2);
        ModelOptions mo;
        mo.hidden = {40, 4};
        ZooNet net(mo, std::vector<int64_t>{10}, 3);
        Pruner p(test::oneShotPrune(PruneStructure::Neurons, 0.95, PruneScope::Global), 1,
                 compressibleWeights(*net), 1);
        p.pruneTo(0.95);
        const auto kept = p.keptUnits();
        // round(0.95 · 44) = 42 would empty a layer: each keeps one, so 40 go.
        QCOMPARE(kept[0].numel(), int64_t(1));
        QCOMPARE(kept[1].numel(), int64_t(1));
        // Scores are relative to their layer's mean: a layer of tiny weights is not emptied
        // first because of its scale.
        {
            torch::NoGradGuard g;
            net->named_parameters()["net.fc2.weight"].mul_(1e-4);
        }
        Pruner q(test::oneShotPrune(PruneStructure::Neurons, 0.25, PruneScope::Global), 1,
                 compressibleWeights(*net), 1);
        q.pruneTo(0.25);
        QVERIFY(q.keptUnits()[1].numel() > 1);
        QCOMPARE(q.keptUnits()[0].numel() + q.keptUnits()[1].numel(), int64_t(44 - 11));
    }

    void channelsRebuildSmallerWithTheSameOutputs() {
        torch::manual_seed(3);
        ModelOptions mo;
        mo.arch = Arch::Cnn;
        mo.channels = {4, 6};
        mo.hidden = {16};
        ZooNet net(mo, std::vector<int64_t>{1, 8, 8}, 5);
        net->eval();
        Pruner p(test::oneShotPrune(PruneStructure::Channels, 0.5, PruneScope::Layer), 1,
                 compressibleWeights(*net), 1);
        QCOMPARE(p.unitGroups().size(), size_t(2));  // conv1 -> conv2, conv2 -> fc1 (2x2 blocks)
        QCOMPARE(p.unitGroups()[1].slices[1].inner, int64_t(4));
        p.pruneTo(0.5);
        const auto x = torch::randn({5, 1, 8, 8});
        torch::NoGradGuard guard;
        const auto masked = net->forward(x);
        ZooNet small = rebuildWithoutPrunedUnits(net, p);
        small->eval();
        QCOMPARE(small->options().channels, (std::vector<int64_t>{2, 3}));
        auto params = small->named_parameters();
        QCOMPARE(params["net.conv2.weight"].sizes().vec(), (std::vector<int64_t>{3, 2, 3, 3}));
        QCOMPARE(params["net.fc1.weight"].sizes().vec(), (std::vector<int64_t>{16, 3 * 2 * 2}));
        QVERIFY(torch::allclose(small->forward(x), masked, 1e-5, 1e-6));
        QCOMPARE(test::countParams(small),
                 describeModel(small->options(), {1, 8, 8}, 5).param_count);
        // It exports as the smaller model: its description builds the smaller architecture.
        ZooNet described = buildFromDescription(modelDescription(small));
        QCOMPARE(test::countParams(described), test::countParams(small));
    }

    void taylorRanksByTheLossNotTheNorm() {
        ModelOptions mo;
        mo.hidden = {4};
        ZooNet net(mo, std::vector<int64_t>{3}, 2);
        auto w = net->named_parameters()["net.fc1.weight"];
        {
            torch::NoGradGuard g;
            w.copy_(torch::tensor({1.f, 2.f, 3.f, 4.f}).view({4, 1}).expand({4, 3}));
        }
        auto opts = test::oneShotPrune(PruneStructure::Neurons, 0.25, PruneScope::Layer);
        Pruner magnitude(opts, 1, compressibleWeights(*net), 1);
        magnitude.pruneTo(0.25);
        QVERIFY(torch::equal(magnitude.keptUnits()[0], torch::tensor({1, 2, 3}, torch::kLong)));
        {
            torch::NoGradGuard g;
            w.copy_(torch::tensor({1.f, 2.f, 3.f, 4.f}).view({4, 1}).expand({4, 3}));
        }
        opts.method = PruneMethod::Taylor;
        Pruner taylor(opts, 1, compressibleWeights(*net), 1);
        // The loss does not move with unit 3 (the largest): taylor removes it, not unit 0.
        taylor.setGradients([&] {
            w.mutable_grad() =
                torch::tensor({1.f, 1.f, 1.f, 0.f}).view({4, 1}).expand({4, 3}).clone();
        });
        taylor.pruneTo(0.25);
        QVERIFY(torch::equal(taylor.keptUnits()[0], torch::tensor({0, 1, 2}, torch::kLong)));
    }

    void nmPruningKeepsNOfEveryM() {
        torch::manual_seed(4);
        ModelOptions mo;
        mo.hidden = {8};
        ZooNet net(mo, std::vector<int64_t>{16}, 3);
        PruneOptions o;
        o.structure = PruneStructure::NM;
        o.schedule = PruneSchedule::OneShot;
        Pruner p(o, 1, compressibleWeights(*net), 1);
        p.pruneTo(o.finalSparsity());
        QCOMPARE(o.finalSparsity(), 0.5);
        const auto fc1 = net->named_parameters()["net.fc1.weight"];
        QVERIFY(
            torch::equal((fc1 != 0).view({8, 4, 4}).sum(2), torch::full({8, 4}, 2, torch::kLong)));
        // out has 8 inputs: 2:4 too; the survivors are each group's largest.
        const auto out = net->named_parameters()["net.out.weight"];
        QCOMPARE((out != 0).sum().item<int64_t>(), int64_t(3 * 4));
    }

    void everyMethodRunsEndToEnd_data() {
        QTest::addColumn<QString>("prune");
        QTest::addColumn<QString>("quantize");
        QTest::newRow("wanda")
            << R"({"method":"wanda","sparsity":0.8,"schedule":"one_shot","begin_epoch":3})"
            << "";
        QTest::newRow("wanda agp") << R"({"method":"wanda","sparsity":0.8,"end_epoch":2})"
                                   << "";
        QTest::newRow("sparsegpt after training")
            << R"({"method":"sparsegpt","sparsity":0.8,"schedule":"one_shot","begin_epoch":4})"
            << "";
        QTest::newRow("2:4 wanda")
            << R"({"structure":"n:m","method":"wanda","schedule":"one_shot","begin_epoch":2})"
            << "";
        QTest::newRow("neurons agp") << R"({"structure":"neurons","sparsity":0.5})"
                                     << "";
        QTest::newRow("neurons taylor + int8")
            << R"({"structure":"neurons","method":"taylor","sparsity":0.5,"schedule":"one_shot","begin_epoch":2})"
            << R"({"bits":8})";
        QTest::newRow("gptq int4 g8") << ""
                                      << R"({"mode":"gptq","bits":4,"group_size":8})";
        QTest::newRow("qat int4") << ""
                                  << R"({"mode":"qat","bits":4,"qat_epochs":2})";
    }
    void everyMethodRunsEndToEnd() {
        QFETCH(QString, prune);
        QFETCH(QString, quantize);
        ProjectStore store(file(std::string("run-") + QTest::currentDataTag() + ".retort"));
        Json j = test::smallSyntheticSpec();
        if (!prune.isEmpty()) j["prune"] = Json::parse(prune.toStdString());
        if (!quantize.isEmpty()) j["quantize"] = Json::parse(quantize.toStdString());
        for (const auto& i : issuesOf(j)) qWarning("%s: %s", i.key.c_str(), i.message.c_str());
        const RunOutcome o = test::runAll(store, j).front();
        QVERIFY2(o.status == RunStatus::Completed, o.error.c_str());
        const Json& r = o.results;
        QVERIFY(r.contains("latency_ms_deployed"));
        QVERIFY(!r["deployed_note"].get<std::string>().empty());
        QVERIFY(r["test_accuracy"].get<double>() > 0.4);  // 4 classes: well above chance
        ZooNet back = loadCompressedModel(*store.artifact(1, "compressed"));
        ZooNet student = buildFromDescription(r["model"]);
        loadModule(*student, *store.artifact(1, "student"));
        const auto x = torch::randn({8, 1, 6, 6});
        torch::NoGradGuard guard;
        student->eval();
        QVERIFY(torch::allclose(back->forward(x), student->forward(x), 1e-5, 1e-5));
        if (prune.contains("neurons")) {
            QVERIFY2(r["model"]["model"]["hidden"] == Json::array({8}), r["model"].dump().c_str());
            QCOMPARE(r["param_count"].get<int64_t>(), int64_t(36 * 8 + 8 + 8 * 4 + 4));
            QCOMPARE(r["dense_param_count"].get<int64_t>(), int64_t(36 * 16 + 16 + 16 * 4 + 4));
            QCOMPARE(r["sparsity"].get<double>(), 0.0);
        } else if (!prune.isEmpty()) {
            const double want = prune.contains("n:m") ? 0.5 : 0.8;
            QVERIFY2(std::abs(r["sparsity"].get<double>() - want) < 0.02,
                     r["sparsity"].dump().c_str());
        }
        if (quantize.contains("group_size")) {
            const CompressedModel cm = readCompressedModel(*store.artifact(1, "compressed"));
            for (const auto& t : cm.tensors)
                if (t.name == "net.fc1.weight") {
                    QCOMPARE(t.groupSize, int64_t(8));
                    QCOMPARE(t.scales.sizes().vec(), (std::vector<int64_t>{16, 5}));  // ⌈36/8⌉
                }
        }
        if (prune.contains("n:m")) {
            const CompressedModel cm = readCompressedModel(*store.artifact(1, "compressed"));
            for (const auto& t : cm.tensors)
                if (t.name == "net.fc1.weight") QCOMPARE(int(t.index), int(SparseIndex::NM));
        }
    }

    void sensitivityComparesOneLayerAtATime() {
        torch::manual_seed(7);
        ModelOptions mo;
        mo.hidden = {16};
        ZooNet net(mo, std::vector<int64_t>{8}, 3);
        const auto x = torch::randn({200, 8});
        torch::NoGradGuard guard;
        net->eval();
        const auto y = net->forward(x).argmax(1);  // the model is right on every sample
        const auto before = net->forward(x);
        SensitivityOptions o;
        o.sparsities = {0.0, 0.95};
        o.bits = {8};
        const Sensitivity s = layerSensitivity(net, x, y, o);
        QCOMPARE(s.baseline, 1.0);
        QCOMPARE(s.layers, (std::vector<std::string>{"net.fc1.weight", "net.out.weight"}));
        QCOMPARE(s.levels, (std::vector<std::string>{"sparsity 0", "sparsity 0.95", "int8"}));
        QCOMPARE(s.cells.size(), size_t(6));
        QCOMPARE(s.cells[0].drop, 0.0);              // nothing pruned: nothing lost
        QVERIFY(s.cells[1].drop > s.cells[2].drop);  // 95 % of a layer costs more than int8
        QVERIFY(s.cells[4].drop > 0.05);
        // Every weight is back as it was.
        QVERIFY(torch::equal(net->forward(x), before));
        const Sensitivity back = Sensitivity::fromJson(s.toJson());
        QCOMPARE(back.cells[4].accuracy, s.cells[4].accuracy);
        bool refused = false;
        try {
            layerSensitivity(net, x.slice(0, 0, 0), y.slice(0, 0, 0), o);
        } catch (const std::invalid_argument& e) {
            refused = QString(e.what()).contains("validation");
        }
        QVERIFY(refused);
    }

    void sensitivityFromTheCli() {
        const std::string project = file("sens.retort");
        {
            ProjectStore store(project);
            Json j = test::smallSyntheticSpec();
            QCOMPARE(test::runAll(store, j).front().status, RunStatus::Completed);
        }
        const auto r = test::runProgram(
            RETORT_CLI_PATH, {"sensitivity", "1", "--project", QString::fromStdString(project),
                              "--sparsities", "0.5,0.9", "--bits", "4", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const Json j = Json::parse(r.out.toStdString());
        QCOMPARE(j["cells"].size(), size_t(2 * 3));
        ProjectStore store(project, ProjectStore::Access::ReadOnly);
        QCOMPARE(Json::parse(*store.artifact(1, "sensitivity_student")), j);
        const auto teacher = test::runProgram(
            RETORT_CLI_PATH, {"sensitivity", "1", "--project", QString::fromStdString(project),
                              "--model", "teacher"});
        QVERIFY2(teacher.code == 0, qPrintable(teacher.err));
        QVERIFY(teacher.out.contains("net.fc1.weight"));
        const auto bad = test::runProgram(
            RETORT_CLI_PATH,
            {"sensitivity", "1", "--project", QString::fromStdString(project), "--bits", "3"});
        QCOMPARE(bad.code, 2);
        QVERIFY(bad.err.contains("8 or 4"));
    }

    void badCombinationsNameTheirKey() {
        auto issuesOf = [&](const Json& prune, const Json& quantize) {
            Json j = test::smallSyntheticSpec();
            if (!prune.is_null()) j["prune"] = prune;
            if (!quantize.is_null()) j["quantize"] = quantize;
            return ::issuesOf(j);
        };
        // Calibrated methods run under AGP too (recalibrating at every mask update); n:m once.
        QVERIFY(issuesOf({{"method", "wanda"}, {"sparsity", 0.8}}, nullptr).empty());
        QVERIFY(test::hasIssue(issuesOf({{"structure", "n:m"}}, nullptr), "prune.schedule",
                               "one_shot"));
        QVERIFY(
            test::hasIssue(issuesOf({{"method", "taylor"}}, nullptr), "prune.method", "neurons"));
        QVERIFY(test::hasIssue(issuesOf({{"structure", "channels"}}, nullptr), "prune.structure",
                               "cnn"));
        QVERIFY(test::hasIssue(
            issuesOf({{"structure", "n:m"}, {"schedule", "one_shot"}, {"n", 4}}, nullptr),
            "prune.n"));
        QVERIFY(test::hasIssue(
            issuesOf({{"structure", "neurons"}, {"method", "sparsegpt"}, {"schedule", "one_shot"}},
                     nullptr),
            "prune.method"));
        QVERIFY(test::hasIssue(issuesOf(nullptr, {{"mode", "qat"}, {"qat_epochs", 9}}),
                               "quantize.qat_epochs"));
        QVERIFY(
            test::hasIssue(issuesOf(nullptr, {{"group_size", 8}, {"granularity", "per_tensor"}}),
                           "quantize.group_size"));
        QVERIFY(test::hasIssue(issuesOf({{"structure", "pyramids"}}, nullptr), "prune.structure"));
        QVERIFY(
            issuesOf({{"method", "wanda"}, {"schedule", "one_shot"}, {"begin_epoch", 4}}, nullptr)
                .empty());
        QVERIFY(test::hasIssue(
            issuesOf({{"method", "wanda"}, {"schedule", "one_shot"}, {"begin_epoch", 5}}, nullptr),
            "prune.begin_epoch"));
    }
};

QTEST_APPLESS_MAIN(TestStructured)
#include "tst_structured.moc"

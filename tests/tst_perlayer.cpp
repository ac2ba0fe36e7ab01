// Per-layer targets: prune.per_layer gives a layer its own final sparsity (of weights or of
// units), quantize.per_layer its own bit width (32: fp32). The spec reads, writes and checks
// them with the key named; the pruner ramps each layer to its own target; a whole run stores
// each layer as asked, and the budget's expected size follows the same targets.
#include "testutil.h"

#include "compress/pruner.h"
#include "compress/quantizer.h"
#include "models/compressedmodel.h"
#include "models/modeldescription.h"
#include "spec/speckeys.h"
#include "spec/specvalidator.h"
#include "store/projectstore.h"
#include "train/runner.h"

using namespace retort;

namespace {

double sparsityOf(const torch::Tensor& t) {
    return 1.0 - double(t.count_nonzero().item<int64_t>()) / double(t.numel());
}

}  // namespace

class TestPerLayer : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string file(const std::string& n) {
        return m_dir.filePath(QString::fromStdString(n)).toStdString();
    }

private Q_SLOTS:
    void layerNamesAreShort() {
        QCOMPARE(layerName("net.fc1.weight"), std::string("fc1"));
        QCOMPARE(layerName("net.blocks.0.attn.q.weight"), std::string("blocks.0.attn.q"));
        QCOMPARE(layerName("conv2"), std::string("conv2"));
    }

    void specReadsWritesAndChecksTheMaps() {
        Json j = test::smallSyntheticSpec();
        j["prune"] = {{"sparsity", 0.5}, {"per_layer", {{"fc1", 0.9}, {"out", 0.0}}}};
        j["quantize"] = {{"bits", 8}, {"per_layer", {{"fc1", 4}, {"out", 32}}}};
        std::vector<SpecIssue> issues;
        const ExperimentSpec s = ExperimentSpec::fromJson(j, issues);
        QVERIFY(issues.empty());
        QCOMPARE(s.prune->sparsityFor("fc1"), 0.9);
        QCOMPARE(s.prune->sparsityFor("out"), 0.0);
        QCOMPARE(s.prune->sparsityFor("fc2"), 0.5);
        QCOMPARE(s.quantize->bitsFor("fc1"), int64_t(4));
        QCOMPARE(s.quantize->bitsFor("out"), int64_t(32));
        const Json back = s.toJson();
        QCOMPARE(back["prune"]["per_layer"], j["prune"]["per_layer"]);
        QCOMPARE(back["quantize"]["per_layer"], j["quantize"]["per_layer"]);
        QVERIFY(back["quantize"]["per_layer"]["fc1"].is_number_integer());
        QVERIFY(test::specIssues(j).empty());
        // Left out while empty: specs without per-layer targets keep their old JSON.
        Json plain = test::smallSyntheticSpec();
        plain["prune"] = {{"sparsity", 0.5}};
        QVERIFY(!ExperimentSpec::fromJson(plain, issues).toJson()["prune"].contains("per_layer"));
        const SpecKey* k = findSpecKey("prune.per_layer");
        QVERIFY(k && k->type == KeyType::NumberMap && !k->sweepable);
        QVERIFY(findSpecKey("quantize.per_layer")->type == KeyType::IntegerMap);
    }

    void badMapsNameTheLayer() {
        auto with = [](const Json& prune, const Json& quantize) {
            Json j = test::smallSyntheticSpec();
            if (!prune.is_null()) j["prune"] = prune;
            if (!quantize.is_null()) j["quantize"] = quantize;
            return test::specIssues(j);
        };
        QVERIFY(test::hasIssue(with({{"per_layer", {{"fc1", 1.5}}}}, nullptr),
                               "prune.per_layer.fc1", "[0, 1)"));
        QVERIFY(test::hasIssue(with({{"per_layer", {{"fc1", "lots"}}}}, nullptr),
                               "prune.per_layer.fc1", "a number"));
        QVERIFY(test::hasIssue(with({{"per_layer", 0.5}}, nullptr), "prune.per_layer", "object"));
        QVERIFY(test::hasIssue(with(nullptr, {{"per_layer", {{"fc1", 6}}}}),
                               "quantize.per_layer.fc1", "4, 8 or 32"));
        // A layer the student does not have: the message lists the ones it has.
        QVERIFY(test::hasIssue(with({{"per_layer", {{"conv9", 0.5}}}}, nullptr),
                               "prune.per_layer.conv9", "fc1, out"));
        QVERIFY(test::hasIssue(with(nullptr, {{"per_layer", {{"fc2", 4}}}}),
                               "quantize.per_layer.fc2", "not a layer"));
        QVERIFY(test::hasIssue(
            with({{"structure", "n:m"}, {"schedule", "one_shot"}, {"per_layer", {{"fc1", 0.5}}}},
                 nullptr),
            "prune.per_layer", "n:m"));
        QVERIFY(
            test::hasIssue(with({{"structure", "neurons"}, {"per_layer", {{"out", 0.5}}}}, nullptr),
                           "prune.per_layer.out", "classes"));
        QVERIFY(with({{"structure", "neurons"}, {"per_layer", {{"fc1", 0.5}}}}, nullptr).empty());
        QVERIFY(test::hasIssue(with(nullptr, {{"mode", "qat"}, {"per_layer", {{"fc1", 32}}}}),
                               "quantize.per_layer.fc1", "qat"));
    }

    void magnitudeGivesEachLayerItsTarget() {
        torch::manual_seed(3);
        ModelOptions mo;
        mo.hidden = {40, 20};
        ZooNet net(mo, std::vector<int64_t>{30}, 5);
        PruneOptions o;
        o.sparsity = 0.5;
        o.per_layer = {{"fc2", 0.9}};
        o.begin_epoch = 1;
        o.end_epoch = 2;
        o.updates_per_epoch = 1;
        const auto w = compressibleWeights(*net);  // fc1 1200, fc2 800, out 100
        Pruner p(o, 2, w, 1);
        // Halfway through the ramp every layer is at the same share of its own target.
        p.beforeStep(0);
        const double share = p.scheduleFraction(0);
        QVERIFY(share > 0 && share < 1);
        QCOMPARE(sparsityOf(w[1].second), double(std::llround(0.9 * share * 800)) / 800.0);
        QVERIFY(!p.done());
        p.beforeStep(1);
        QVERIFY(p.done());
        QCOMPARE(sparsityOf(w[1].second), double(std::llround(0.9 * 800)) / 800.0);
        // The others were ranked together (global scope) at the uniform 0.5.
        const int64_t pooled = 1200 + 100;
        const int64_t zeros = (w[0].second.numel() - w[0].second.count_nonzero().item<int64_t>()) +
                              (w[2].second.numel() - w[2].second.count_nonzero().item<int64_t>());
        QCOMPARE(zeros, std::llround(0.5 * double(pooled)));
        // A target of 0 keeps a layer dense, even under layer scope.
        o.scope = PruneScope::Layer;
        o.per_layer = {{"out", 0.0}};
        ZooNet net2(mo, std::vector<int64_t>{30}, 5);
        const auto w2 = compressibleWeights(*net2);
        Pruner q(o, 2, w2, 1);
        q.pruneToFinal();
        QCOMPARE(sparsityOf(w2[2].second), 0.0);
        QCOMPARE(sparsityOf(w2[0].second), 0.5);
        QCOMPARE(sparsityOf(w2[1].second), 0.5);
    }

    void unitsFollowTheirLayersTarget() {
        torch::manual_seed(4);
        ModelOptions mo;
        mo.hidden = {32, 16};
        ZooNet net(mo, std::vector<int64_t>{12}, 3);
        PruneOptions o;
        o.structure = PruneStructure::Neurons;
        o.schedule = PruneSchedule::OneShot;
        o.sparsity = 0.25;
        o.per_layer = {{"fc1", 0.75}};
        Pruner p(o, 1, compressibleWeights(*net), 1);
        p.pruneToFinal();
        const auto kept = p.keptUnits();
        QCOMPARE(kept.size(), size_t(2));
        QCOMPARE(kept[0].numel(), int64_t(8));   // fc1: 32 units, 75 % go
        QCOMPARE(kept[1].numel(), int64_t(12));  // fc2: 16 units at the uniform 25 %
    }

    void fakeQuantizationTakesABitWidthPerLayer() {
        torch::manual_seed(5);
        auto a = torch::randn({4, 64}), b = torch::randn({4, 64});
        WeightFakeQuantizer q({{"a", a}, {"b", b}}, std::vector<int>{4, 8}, true, 0);
        q.quantize();
        // Per row: int4 has at most 15 levels, int8 many more.
        QVERIFY(std::get<0>(at::_unique(a[0])).numel() <= 15);
        QVERIFY(std::get<0>(at::_unique(b[0])).numel() > 15);
        bool refused = false;
        try {
            WeightFakeQuantizer({{"a", a}}, std::vector<int>{4, 8}, true, 0);
        } catch (const std::invalid_argument&) {
            refused = true;
        }
        QVERIFY(refused);
    }

    void aRunStoresEachLayerAsAsked() {
        ProjectStore store(file("perlayer.retort"));
        Json j = test::smallSyntheticSpec();
        j["prune"] = {{"sparsity", 0.5}, {"per_layer", {{"fc1", 0.8}}}};
        j["quantize"] = {{"bits", 8}, {"per_layer", {{"fc1", 4}, {"out", 32}}}};
        const RunOutcome o = test::runAll(store, j).front();
        QVERIFY2(o.status == RunStatus::Completed, o.error.c_str());
        const CompressedModel cm = readCompressedModel(*store.artifact(1, "compressed"));
        int seen = 0;
        for (const auto& t : cm.tensors) {
            if (t.name == "net.fc1.weight") {
                QCOMPARE(t.bits, 4);
                QCOMPARE(sparsityOf(t.dequantized()), double(std::llround(0.8 * 576)) / 576.0);
                ++seen;
            } else if (t.name == "net.out.weight") {
                QCOMPARE(t.bits, 32);  // kept fp32
                QCOMPARE(sparsityOf(t.dequantized()), double(std::llround(0.5 * 64)) / 64.0);
                ++seen;
            }
        }
        QCOMPARE(seen, 2);
        // The layers table says the same.
        for (const auto& l : store.layers(1))
            if (l.layer == "net.fc1.weight") QCOMPARE(l.nonzero, 576 - std::llround(0.8 * 576));
        // The budget's estimate follows the per-layer targets: within 2 % of the real file.
        std::vector<SpecIssue> issues;
        const ExperimentSpec s = ExperimentSpec::fromJson(j, issues);
        DataShape shape;
        shape.sample_shape = {1, 6, 6};
        shape.classes = 4;
        const int64_t expected = expectedCompressedSize(s.student, shape, 0.5, 8, true,
                                                        s.prune->per_layer, s.quantize->per_layer);
        const int64_t uniform = expectedCompressedSize(s.student, shape, 0.5, 8, true);
        const auto actual = double(store.artifact(1, "compressed")->size());
        QVERIFY2(std::abs(double(expected) - actual) / actual < 0.02,
                 qPrintable(QStringLiteral("%1 vs %2").arg(expected).arg(actual)));
        QVERIFY(std::abs(double(uniform) - actual) / actual > 0.05);
    }

    void aNameTheModelLacksFailsTheRunBeforeTraining() {
        // Text students are not checked by the validator: the run says it, naming the key
        // (here the validator is bypassed to reach the same check).
        ProjectStore store(file("badname.retort"));
        Json j = test::smallSyntheticSpec();
        j["quantize"] = {{"per_layer", {{"fc7", 4}}}};
        std::vector<SpecIssue> issues;
        const ExperimentSpec spec = ExperimentSpec::fromJson(j, issues);
        QVERIFY(issues.empty());
        const int64_t id = store.createRun("bad", spec.toJson(), Json::object());
        Runner r(store, [](const Progress&) {});
        const RunOutcome o = r.run(id, spec);
        QCOMPARE(o.status, RunStatus::Failed);
        QVERIFY2(QString::fromStdString(o.error).contains("quantize.per_layer.fc7"),
                 o.error.c_str());
    }
};

QTEST_APPLESS_MAIN(TestPerLayer)
#include "tst_perlayer.moc"

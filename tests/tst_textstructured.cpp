// Compression of text models. Structured: a transformer's attention heads and feed-forward
// neurons, a bilstm's LSTM units and an embedding bag's hidden neurons are removed whole, the
// model is rebuilt smaller with the masked model's outputs (padding included) and no trace of
// what went; its description builds the smaller model; a run prunes heads end to end.
// Calibrated: the layer walk that wanda, sparsegpt and gptq read reproduces the forward pass
// and gives each layer the Hessian of its own inputs; a run prunes and quantizes with them.
#include "testutil.h"

#include "compress/calibration.h"
#include "compress/pruner.h"
#include "compress/rebuild.h"
#include "models/compressedmodel.h"
#include "models/modeldescription.h"
#include "spec/specvalidator.h"
#include "store/projectstore.h"

#include <map>
#include <set>

using namespace retort;

namespace {

constexpr int64_t kVocab = 40, kTokens = 10;

DataShape textShape() {
    return DataShape{{kTokens}, 3, kVocab, 6.0};
}

using test::transformer;

/// Token ids with [CLS] first and ragged lengths, right-padded with 0.
torch::Tensor ids(int64_t batch) {
    auto x = torch::randint(3, kVocab, {batch, kTokens}, torch::kInt64);
    x.select(1, 0).fill_(2);
    for (int64_t b = 0; b < batch; ++b) x[b].slice(0, 1 + (b * 3) % kTokens).fill_(0);
    return x;
}

std::unique_ptr<Pruner> pruner(ZooNet& net, const PruneOptions& o) {
    const auto weights = compressibleWeights(*net);
    return std::make_unique<Pruner>(o, 1, weights, 1, findUnitGroups(*net, o.structure, weights));
}

/// The rebuilt model gives the masked model's outputs, counts what describeModel counts, and
/// its description (what the compressed file and the exports carry) builds the same model.
void checkRebuilt(ZooNet& net, Pruner& p, ZooNet& small) {
    torch::NoGradGuard guard;
    net->eval();
    small->eval();
    const auto x = ids(7);
    const auto masked = net->forward(x);
    QVERIFY(torch::allclose(small->forward(x), masked, 1e-5, 1e-5));
    QCOMPARE(test::countParams(small), describeModel(small->options(), textShape()).param_count);
    ZooNet described = buildFromDescription(modelDescription(small));
    QCOMPARE(test::countParams(described), test::countParams(small));
    QCOMPARE(described->options().layer_heads, small->options().layer_heads);
    QCOMPARE(described->options().layer_ffn, small->options().layer_ffn);
    Q_UNUSED(p);
}

}  // namespace

class TestTextStructured : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void headsRebuildSmaller() {
        torch::manual_seed(1);
        ModelOptions mo = transformer(2, 16, 4, 24);
        ZooNet net(mo, textShape());
        // Head 2 of layer 1 has tiny q, k, v rows: the weight norm must pick it first.
        {
            torch::NoGradGuard g;
            auto params = net->named_parameters();
            for (const char* w : {"q", "k", "v"})
                params[std::string("net.layer1.attn.") + w + ".weight"].slice(0, 8, 12).mul_(1e-3);
        }
        PruneOptions o = test::oneShotPrune(PruneStructure::Heads, 0.5);
        o.per_layer = {{"layer1.attn", 0.75}};  // layer 1 keeps 1 head, layer 2 keeps 2
        auto p = pruner(net, o);
        QCOMPARE(p->unitGroups().size(), size_t(2));
        QCOMPARE(p->unitGroups()[0].name, std::string("layer1.attn"));
        p->pruneTo(0.5);
        const auto kept = p->keptUnits();
        QCOMPARE(kept[0].numel(), int64_t(1));
        QCOMPARE(kept[1].numel(), int64_t(2));
        // The masks remove whole heads: q, k, v rows and o's inputs of the pruned heads.
        const auto q1 = net->named_parameters()["net.layer1.attn.q.weight"];
        QCOMPARE(q1.slice(0, 8, 12).abs().sum().item<double>(), 0.0);
        const auto o2 = net->named_parameters()["net.layer2.attn.o.weight"];
        QCOMPARE((o2.abs().sum(0) == 0).sum().item<int64_t>(), int64_t(8));
        std::vector<UnitCount> counts;
        ZooNet small = rebuildWithoutPrunedUnits(net, *p, &counts);
        QCOMPARE(small->options().layer_heads, (std::vector<int64_t>{1, 2}));
        QVERIFY(small->options().layer_ffn.empty());  // untouched: no per-layer list
        QCOMPARE(counts.at(0).layer, std::string("layer1.attn"));
        auto params = small->named_parameters();
        QCOMPARE(params["net.layer1.attn.q.weight"].sizes().vec(), (std::vector<int64_t>{4, 16}));
        QCOMPARE(params["net.layer1.attn.q.bias"].numel(), int64_t(4));
        QCOMPARE(params["net.layer2.attn.o.weight"].sizes().vec(), (std::vector<int64_t>{16, 8}));
        // No trace: every kept row and input is a live one.
        for (const char* w : {"layer1.attn.q", "layer2.attn.v"})
            QVERIFY(
                (params[std::string("net.") + w + ".weight"].abs().sum(1) > 0).all().item<bool>());
        QVERIFY((params["net.layer2.attn.o.weight"].abs().sum(0) > 0).all().item<bool>());
        checkRebuilt(net, *p, small);
    }

    void globalHeadsRankAcrossLayers() {
        torch::manual_seed(2);
        ModelOptions mo = transformer(2, 16, 4, 16);
        ZooNet net(mo, textShape());
        {
            torch::NoGradGuard g;
            auto params = net->named_parameters();
            for (const char* w : {"q", "k", "v"})  // layer 2's heads 1-3 barely matter
                params[std::string("net.layer2.attn.") + w + ".weight"].slice(0, 4, 16).mul_(1e-3);
        }
        auto p =
            pruner(net, test::oneShotPrune(PruneStructure::Heads, 3.0 / 8.0, PruneScope::Global));
        p->pruneTo(3.0 / 8.0);
        QCOMPARE(p->keptUnits()[0].numel(), int64_t(4));
        QCOMPARE(p->keptUnits()[1].numel(), int64_t(1));
        ZooNet small = rebuildWithoutPrunedUnits(net, *p);
        QCOMPARE(small->options().layer_heads, (std::vector<int64_t>{4, 1}));
        checkRebuilt(net, *p, small);
    }

    void ffnRebuildSmaller() {
        torch::manual_seed(3);
        ModelOptions mo = transformer(2, 8, 2, 20);
        mo.pooling = Pooling::First;
        ZooNet net(mo, textShape());
        auto p = pruner(net, test::oneShotPrune(PruneStructure::Ffn, 0.75));
        QCOMPARE(p->unitGroups()[1].name, std::string("layer2.ff1"));
        p->pruneTo(0.75);
        ZooNet small = rebuildWithoutPrunedUnits(net, *p);
        QCOMPARE(small->options().layer_ffn, (std::vector<int64_t>{5, 5}));
        QVERIFY(small->options().layer_heads.empty());
        auto params = small->named_parameters();
        QCOMPARE(params["net.layer1.ff1.weight"].sizes().vec(), (std::vector<int64_t>{5, 8}));
        QCOMPARE(params["net.layer1.ff2.weight"].sizes().vec(), (std::vector<int64_t>{8, 5}));
        QCOMPARE(params["net.layer1.ff2.bias"].numel(), int64_t(8));  // a reader keeps its bias
        checkRebuilt(net, *p, small);
    }

    void lstmUnitsRebuildSmaller() {
        torch::manual_seed(4);
        ModelOptions mo;
        mo.arch = Arch::Bilstm;
        mo.embedding = 8;
        mo.hidden = {6, 4};
        ZooNet net(mo, textShape());
        auto p = pruner(net, test::oneShotPrune(PruneStructure::Neurons, 0.5));
        QCOMPARE(p->unitGroups().size(), size_t(2));
        QCOMPARE(p->unitGroups()[0].name, std::string("lstm1"));
        p->pruneTo(0.5);
        // Unit j goes from all four gates of both directions, from the recurrent inputs and
        // from both halves of what reads the layer.
        auto before = net->named_parameters();
        const auto hh = before["net.lstm1.weight_hh_l0_reverse"];
        QCOMPARE((hh.abs().sum(1) == 0).sum().item<int64_t>(), int64_t(4 * 3));
        QCOMPARE((hh.abs().sum(0) == 0).sum().item<int64_t>(), int64_t(3));
        QCOMPARE((before["net.out.weight"].abs().sum(0) == 0).sum().item<int64_t>(),
                 int64_t(2 * 2));
        ZooNet small = rebuildWithoutPrunedUnits(net, *p);
        QCOMPARE(small->options().hidden, (std::vector<int64_t>{3, 2}));
        auto params = small->named_parameters();
        QCOMPARE(params["net.lstm2.weight_ih_l0"].sizes().vec(), (std::vector<int64_t>{8, 6}));
        QCOMPARE(params["net.lstm1.bias_hh_l0_reverse"].numel(), int64_t(12));
        QCOMPARE(params["net.out.weight"].sizes().vec(), (std::vector<int64_t>{3, 4}));
        checkRebuilt(net, *p, small);
    }

    void embeddingBagNeuronsLeaveTheTable() {
        torch::manual_seed(5);
        ModelOptions mo;
        mo.arch = Arch::EmbeddingBag;
        mo.embedding = 8;
        mo.hidden = {10};
        ZooNet net(mo, textShape());
        auto p = pruner(net, test::oneShotPrune(PruneStructure::Neurons, 0.4));
        QCOMPARE(p->unitGroups().size(), size_t(1));
        p->pruneTo(0.4);
        ZooNet small = rebuildWithoutPrunedUnits(net, *p);
        QCOMPARE(small->options().hidden, (std::vector<int64_t>{6}));
        QCOMPARE(small->named_parameters()["net.tok.weight"].sizes().vec(),
                 (std::vector<int64_t>{kVocab, 8}));
        checkRebuilt(net, *p, small);
    }

    void wrongUnitsAreRefusedWithTheKey() {
        ModelOptions mo;
        mo.arch = Arch::Bilstm;
        ZooNet net(mo, textShape());
        try {
            findUnitGroups(*net, PruneStructure::Heads, compressibleWeights(*net));
            QFAIL("heads on a bilstm must be refused");
        } catch (const std::invalid_argument& e) {
            QVERIFY2(std::string(e.what()).find("neurons") != std::string::npos, e.what());
        }
        // The spec says it before any run: heads need a transformer, neurons are not a
        // transformer's units, calibrated methods rank single weights and do not walk a
        // bilstm yet.
        const std::string file = "/nonexistent.tsv";
        auto spec = [&](const Json& student, const Json& prune) {
            Json j = test::textRunSpec("t", file);
            j["student"] = student;
            j["prune"] = prune;
            j["train"] = {{"epochs", 2}};
            j["distill"] = {{"lambda", 0}};
            return j;
        };
        const Json transformer = {{"arch", "transformer"}, {"d_model", 8}, {"heads", 2}};
        auto issues = [](const Json& j) { return test::specIssues(j); };
        QVERIFY(test::hasIssue(issues(spec({{"arch", "bilstm"}}, {{"structure", "heads"}})),
                               "prune.structure", "transformer"));
        QVERIFY(test::hasIssue(issues(spec(transformer, {{"structure", "neurons"}})),
                               "prune.structure", "ffn"));
        QVERIFY(test::hasIssue(issues(spec({{"arch", "bilstm"}}, {{"method", "wanda"}})),
                               "prune.method", "not walked yet"));
        QVERIFY(
            test::hasIssue(issues(spec(transformer, {{"structure", "ffn"}, {"method", "wanda"}})),
                           "prune.method", "unstructured or n:m"));
        QVERIFY(!test::hasIssue(
            issues(spec(transformer, {{"structure", "heads"}, {"method", "taylor"}})),
            "prune.structure"));
        Json uneven = transformer;
        uneven["layer_heads"] = {1, 2, 2};
        QVERIFY(test::hasIssue(issues(spec(uneven, {{"sparsity", 0.5}})), "student.layer_heads",
                               "3 entries for 2 layers"));
    }

    void textWalkIsTheForwardPass() {
        torch::manual_seed(6);
        const auto x = ids(11);
        const auto real = x.ne(0);
        for (Arch arch : {Arch::Transformer, Arch::EmbeddingBag}) {
            ModelOptions mo = transformer(2, 8, 2, 12);
            mo.arch = arch;
            mo.embedding = 8;
            if (arch == Arch::EmbeddingBag) mo.hidden = {6};
            ZooNet net(mo, textShape());
            net->train();  // the walk evaluates without dropout and restores the mode
            std::vector<std::string> names;
            std::map<std::string, LayerCalibration> seen;
            const auto logits = calibrateLayers(net, x, [&](LayerCalibration& c) {
                names.push_back(layerName(c.name));
                seen[c.name] = c;
            });
            QVERIFY(net->is_training());
            net->eval();
            torch::NoGradGuard guard;
            QVERIFY(torch::allclose(logits, net->forward(x), 1e-5, 1e-5));
            // Every compressible weight, in forward order.
            std::vector<std::string> expected;
            for (const auto& w : compressibleWeights(*net)) expected.push_back(layerName(w.first));
            QCOMPARE(names, expected);
            QVERIFY(!seen["net.tok.weight"].hessian.defined());
            if (arch == Arch::Transformer) {
                // q's Hessian is (2/R)·AᵀA of the first norm's outputs at the R real tokens.
                auto block = net->layers()->named_children()["layer1"];
                auto* b = block->as<TransformerLayerImpl>();
                auto params = net->named_parameters();
                const auto h0 = params["net.tok.weight"].index({x}) +
                                params["net.pos.weight"].slice(0, 0, kTokens).unsqueeze(0);
                const auto a = b->ln1(h0).index({real}).to(torch::kFloat64);
                const auto& q = seen["net.layer1.attn.q.weight"];
                QCOMPARE(q.rows, real.sum().item<int64_t>());
                QVERIFY(torch::allclose(q.hessian, a.t().matmul(a) * (2.0 / double(q.rows)), 1e-9,
                                        1e-9));
                QVERIFY(torch::equal(seen["net.layer1.attn.k.weight"].hessian, q.hessian));
                QCOMPARE(seen["net.layer2.ff2.weight"].hessian.size(0), int64_t(12));
                QCOMPARE(seen["net.out.weight"].rows, int64_t(11));  // one pooled row a sample
            }
        }
        ModelOptions lstm;
        lstm.arch = Arch::Bilstm;
        ZooNet net(lstm, textShape());
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 calibrateLayers(net, x, [](LayerCalibration&) {}));
    }

    void calibratedRunsOnATransformer() {
        QTemporaryDir dir;
        Json j = test::textRunSpec("calibrated", test::writeSeparableTexts(dir, 30));
        j["student"] = {
            {"arch", "transformer"}, {"layers", 1}, {"d_model", 16}, {"heads", 2}, {"ffn", 32}};
        j["train"] = {{"epochs", 2}, {"batch_size", 16}, {"lr", 0.003}};
        j["distill"] = {{"lambda", 0}};
        j["sweep"] = Json::array(
            {{{"prune",
               {{{"method", "sparsegpt"}, {"sparsity", 0.5}, {"calibration_samples", 40}}}},
              {"quantize", {{{"mode", "gptq"}, {"bits", 4}, {"group_size", 16}}}}},
             {{"prune",
               {{{"method", "wanda"},
                 {"structure", "n:m"},
                 {"schedule", "one_shot"},
                 {"begin_epoch", 3}}}}}});
        ProjectStore store(dir.filePath("p.retort").toStdString());
        const auto outcomes = test::runAll(store, j);
        QCOMPARE(outcomes.size(), size_t(2));
        for (const auto& o : outcomes) {
            QVERIFY2(o.status == RunStatus::Completed, o.error.c_str());
            // Every compressible layer, the token table included, is at the target.
            for (const auto& l : store.layers(&o == &outcomes[0] ? 1 : 2)) {
                const double s = 1.0 - double(l.nonzero) / double(l.numel);
                QVERIFY2(std::abs(s - 0.5) < 0.02,
                         qPrintable(QString("%1: sparsity %2").arg(l.layer.c_str()).arg(s)));
            }
        }
        // GPTQ stored every compressible tensor (the token table by rounding) at 4 bits in
        // groups of 16, and nothing else.
        const CompressedModel cm = readCompressedModel(*store.artifact(1, "compressed"));
        std::set<std::string> compressible;
        ZooNet net = loadCompressedModel(*store.artifact(1, "compressed"));
        for (const auto& w : compressibleWeights(*net)) compressible.insert(w.first);
        QCOMPARE(compressible.size(), size_t(8));  // tok, q, k, v, o, ff1, ff2, out
        for (const auto& t : cm.tensors) {
            QCOMPARE(t.bits, compressible.count(t.name) ? 4 : 32);
            if (t.bits == 4) QCOMPARE(t.groupSize, int64_t(16));
        }
    }

    void headsRunEndToEnd() {
        QTemporaryDir dir;
        Json j = test::textRunSpec("heads", test::writeSeparableTexts(dir, 30));
        j["student"] = {
            {"arch", "transformer"}, {"layers", 2}, {"d_model", 16}, {"heads", 4}, {"ffn", 32}};
        j["train"] = {{"epochs", 3}, {"batch_size", 16}, {"lr", 0.003}};
        j["prune"] = {{"structure", "heads"},
                      {"sparsity", 0.5},
                      {"method", "taylor"},
                      {"calibration_samples", 32},
                      {"per_layer", {{"layer2.attn", 0.75}}}};
        j["quantize"] = {{"bits", 8}};
        j["distill"] = {{"lambda", 0}};
        ProjectStore store(dir.filePath("p.retort").toStdString());
        const auto outcomes = test::runAll(store, j);
        QCOMPARE(outcomes.size(), size_t(1));
        QCOMPARE(outcomes[0].status, RunStatus::Completed);
        QVERIFY2(outcomes[0].error.empty(), outcomes[0].error.c_str());
        const Json r = outcomes[0].results;
        QCOMPARE(r.at("deployed_form").get<std::string>(), std::string("rebuilt smaller (fp32)"));
        QCOMPARE(r.at("model").at("model").at("layer_heads"), Json({2, 1}));
        QVERIFY(r.at("param_count").get<int64_t>() < r.at("dense_param_count").get<int64_t>());
        QVERIFY(r.at("latency_ms_deployed").get<double>() > 0);
        // The stored compressed model is the smaller one and reads back.
        ZooNet back = loadCompressedModel(*store.artifact(1, "compressed"));
        QCOMPARE(back->options().layer_heads, (std::vector<int64_t>{2, 1}));
        // A per-layer target naming no unit group fails before the first epoch, naming it.
        j["prune"]["per_layer"] = {{"layer2.attn.q", 0.5}};
        j["name"] = "bad";
        const auto bad = test::runAll(store, j);
        QCOMPARE(bad[0].status, RunStatus::Failed);
        const std::string error = bad[0].error;
        QVERIFY2(error.find("prune.per_layer.layer2.attn.q") != std::string::npos, error.c_str());
        QVERIFY2(error.find("layer1.attn") != std::string::npos, error.c_str());
    }
};

QTEST_APPLESS_MAIN(TestTextStructured)
#include "tst_textstructured.moc"

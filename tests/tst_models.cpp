#include "testutil.h"

#include "compress/quantizer.h"
#include "models/archivecheck.h"
#include "models/compressedmodel.h"
#include "models/modeldescription.h"
#include "models/modelgraph.h"
#include "models/modelzoo.h"

using namespace retort;

namespace {}  // namespace

class TestModels : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Hand-computed: a multiply-add counts 2, plus one op per bias add, ReLU output and
    // (3 per output) 2x2 max-pool comparison.
    void mlp() {
        ModelOptions o;
        o.arch = Arch::Mlp;
        o.hidden = {128};
        ZooNet net(o, std::vector<int64_t>{1, 28, 28}, 10);
        // 784*128 + 128 + 128*10 + 10
        QCOMPARE(net->summary().param_count, int64_t(101770));
        QCOMPARE(test::countParams(net), int64_t(101770));
        // 2*784*128 + 128 (bias) + 128 (relu) + 2*128*10 + 10
        QCOMPARE(net->summary().flops, int64_t(203530));
        QCOMPARE(net->summary().size_bytes, int64_t(407080));
        QCOMPARE(net->forward(torch::zeros({3, 1, 28, 28})).sizes().vec(),
                 (std::vector<int64_t>{3, 10}));
    }

    void mlpNoHidden() {
        ModelOptions o;
        o.arch = Arch::Mlp;
        ZooNet net(o, std::vector<int64_t>{20}, 3);
        QCOMPARE(net->summary().param_count, int64_t(63));  // 20*3 + 3
        QCOMPARE(net->summary().flops, int64_t(123));       // 2*20*3 + 3
    }

    void lenet5() {
        ModelOptions o;
        o.arch = Arch::Lenet5;
        ZooNet net(o, std::vector<int64_t>{1, 28, 28}, 10);
        // conv1 156, conv2 2416, fc1 48120, fc2 10164, out 850
        QCOMPARE(net->summary().param_count, int64_t(61706));
        QCOMPARE(test::countParams(net), int64_t(61706));
        // conv1 239904, relu 4704, pool 3528, conv2 481600, relu 1600, pool 1200,
        // fc1 96120, relu 120, fc2 20244, relu 84, out 1690
        QCOMPARE(net->summary().flops, int64_t(850794));
        QCOMPARE(net->forward(torch::zeros({2, 1, 28, 28})).sizes().vec(),
                 (std::vector<int64_t>{2, 10}));
    }

    void cnn() {
        ModelOptions o;
        o.arch = Arch::Cnn;
        o.channels = {32, 64};
        o.hidden = {128};
        ZooNet net(o, std::vector<int64_t>{1, 28, 28}, 10);
        // conv1 320, conv2 18496, fc1 3136*128+128 = 401536, out 1290
        QCOMPARE(net->summary().param_count, int64_t(421642));
        QCOMPARE(test::countParams(net), int64_t(421642));
        // conv1 476672, relu 25088, pool 18816, conv2 7237888, relu 12544, pool 9408,
        // fc1 802944, relu 128, out 2570
        QCOMPARE(net->summary().flops, int64_t(8586058));
        QCOMPARE(net->forward(torch::zeros({2, 1, 28, 28})).sizes().vec(),
                 (std::vector<int64_t>{2, 10}));
    }

    void describeMatchesBuild() {
        ModelOptions o;
        o.arch = Arch::Cnn;
        o.channels = {4, 8};
        o.hidden = {16, 12};
        auto s = describeModel(o, {3, 17, 13}, 5);
        ZooNet net(o, std::vector<int64_t>{3, 17, 13}, 5);
        QCOMPARE(s.param_count, test::countParams(net));
        QCOMPARE(s.flops, net->summary().flops);
        QCOMPARE(net->forward(torch::zeros({1, 3, 17, 13})).size(1), int64_t(5));
    }

    void refusesWhatDoesNotFit() {
        ModelOptions o;
        o.arch = Arch::Cnn;
        o.channels = {4, 4, 4};
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, describeModel(o, {1, 4, 4}, 10));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, describeModel(o, {16}, 10));
        o.arch = Arch::Mlp;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, describeModel(o, {16}, 1));
    }

    void compressibleWeightsAreLinearAndConv() {
        ModelOptions o;
        o.arch = Arch::Lenet5;
        ZooNet net(o, std::vector<int64_t>{1, 28, 28}, 10);
        auto w = compressibleWeights(*net);
        QCOMPARE(w.size(), size_t(5));
        QCOMPARE(w[0].first, std::string("net.conv1.weight"));
        for (const auto& p : w) QVERIFY(p.second.dim() >= 2);
    }

    // ---------------------------------------------------------------- the model graph

    void graphOfAZooNetHasRolesAndReferences() {
        ModelOptions o;
        o.arch = Arch::Cnn;
        o.channels = {4};
        o.hidden = {8};
        ZooNet net(o, std::vector<int64_t>{1, 8, 8}, 3);
        const ModelGraph g = modelGraph(*net);
        // A chain: every node reads the one before it; the last one is the output.
        QCOMPARE(g.nodes.front().inputs, std::vector<std::string>{"input"});
        for (size_t i = 1; i < g.nodes.size(); ++i)
            QCOMPARE(g.nodes[i].inputs, std::vector<std::string>{g.nodes[i - 1].name});
        QCOMPARE(g.output, g.nodes.back().name);
        // Every parameter once, with the module's shapes; biases are never compressible.
        auto named = net->named_parameters();
        QCOMPARE(g.params().size(), named.size());
        std::vector<std::string> compressible;
        for (const GraphParam* p : g.params()) {
            QVERIFY2(named.find(p->name), p->name.c_str());
            QCOMPARE(p->shape, named.find(p->name)->sizes().vec());
            if (p->role == ParamRole::Bias) QVERIFY(!p->compressible);
            if (p->compressible) compressible.push_back(p->name);
        }
        // compressibleWeights reads the same roles.
        std::vector<std::string> fromZoo;
        for (const auto& [name, w] : compressibleWeights(*net)) fromZoo.push_back(name);
        QCOMPARE(fromZoo, compressible);
        QCOMPARE(compressible.size(), size_t(3));  // conv1, fc1, fc2 weights
        // The format reads back what it writes.
        QCOMPARE(ModelGraph::fromJson(g.toJson()).toJson(), g.toJson());
        // The optimizer's parameters in the module's own order (optimizer state depends on it).
        const auto all =
            selectParameters(*net, g, [](const GraphNode&, const GraphParam&) { return true; });
        const auto mine = net->parameters();
        QCOMPARE(all.size(), mine.size());
        for (size_t i = 0; i < all.size(); ++i) QVERIFY(all[i].is_same(mine[i]));
        const auto weights = selectParameters(
            *net, g, [](const GraphNode&, const GraphParam& p) { return p.compressible; });
        QCOMPARE(weights.size(), size_t(3));
    }

    void graphFormatTakesResidualsAndEmbeddings() {
        // Kinds no zoo model builds yet are part of the format: an embedding table is not
        // compressible unless the file says so; an add reads two earlier nodes.
        const Json j = Json::parse(R"({
          "input_shape": [16], "classes": 2, "output": "head",
          "nodes": [
            {"name": "emb", "type": "embedding", "inputs": ["input"], "num": 100, "dim": 8,
             "params": [{"name": "emb.weight", "role": "embedding", "shape": [100, 8]}]},
            {"name": "fc", "type": "linear", "inputs": ["emb"], "in": 8, "out": 8,
             "params": [{"name": "fc.weight", "role": "weight", "shape": [8, 8]},
                        {"name": "fc.bias", "role": "bias", "shape": [8]}]},
            {"name": "res", "type": "add", "inputs": ["emb", "fc"]},
            {"name": "norm", "type": "layernorm", "inputs": ["res"], "dim": 8,
             "params": [{"name": "norm.weight", "role": "norm", "shape": [8]}]},
            {"name": "head", "type": "linear", "inputs": ["norm"], "in": 8, "out": 2,
             "params": [{"name": "head.weight", "role": "weight", "shape": [2, 8]}]}]})");
        const ModelGraph g = ModelGraph::fromJson(j);
        std::vector<std::string> compressible;
        for (const GraphParam* p : g.params())
            if (p->compressible) compressible.push_back(p->name);
        QCOMPARE(compressible, (std::vector<std::string>{"fc.weight", "head.weight"}));
        QCOMPARE(g.nodes[2].kind, NodeKind::Add);
        // Bad graphs are refused naming the node.
        auto refused = [&](const std::function<void(Json&)>& change, const char* part) {
            Json bad = j;
            change(bad);
            try {
                ModelGraph::fromJson(bad);
            } catch (const FormatError& e) {
                return std::string(e.what()).find(part) != std::string::npos;
            }
            return false;
        };
        QVERIFY(
            refused([](Json& b) { b["nodes"][1]["type"] = "conv3d"; }, "unknown type 'conv3d'"));
        QVERIFY(refused([](Json& b) { b["nodes"][1]["inputs"] = {"norm"}; }, "comes later"));
        QVERIFY(refused([](Json& b) { b["nodes"][2]["inputs"] = {"fc"}; }, "two or more"));
        QVERIFY(refused([](Json& b) { b["nodes"][1].erase("out"); }, "needs the integer 'out'"));
        QVERIFY(refused([](Json& b) { b["nodes"][4]["name"] = "fc"; }, "appears twice"));
        QVERIFY(refused([](Json& b) { b["output"] = "nowhere"; }, "not a node"));
        QVERIFY(
            refused([](Json& b) { b["nodes"][0]["params"][0]["role"] = "gain"; }, "unknown role"));
    }

    void compressedFileRefusesAQuantizedBias() {
        // The reader holds the file to the graph's roles: a bias stored at 8 bits is a file no
        // writer makes (and would silently lose precision where nothing was quantized).
        ModelOptions o;
        o.hidden = {4};
        ZooNet net(o, std::vector<int64_t>{6}, 3);
        auto build = [&](bool quantizeBias) {
            CompressedModel cm;
            cm.model = modelDescription(net);
            for (const auto& p : net->named_parameters()) {
                CompressedTensor t;
                t.name = p.key();
                t.shape = p.value().sizes().vec();
                const bool bias = p.key().find(".bias") != std::string::npos;
                if (bias == quantizeBias && (bias || p.key() == "net.fc1.weight")) {
                    const QuantizedTensor q = quantizeSymmetric(p.value().detach(), 8, false);
                    t.bits = 8;
                    t.values = q.codes;
                    t.scales = q.scales;
                } else {
                    t.values = p.value().detach().clone();
                }
                cm.tensors.push_back(t);
            }
            return writeCompressedModel(cm);
        };
        loadCompressedModel(build(false));  // a quantized weight: fine
        try {
            loadCompressedModel(build(true));
            QFAIL("a quantized bias was accepted");
        } catch (const FormatError& e) {
            QVERIFY2(std::string(e.what()).find("is a bias") != std::string::npos, e.what());
        }
    }

    void saveLoadRoundTrip() {
        ModelOptions o;
        o.hidden = {8};
        ZooNet a(o, std::vector<int64_t>{5}, 3), b(o, std::vector<int64_t>{5}, 3);
        loadModule(*b, saveModule(*a));
        auto x = torch::randn({4, 5});
        QVERIFY(torch::equal(a->forward(x), b->forward(x)));
    }

    // LibTorch's zip reader skips the CRC-32s: one flipped bit in a weight loaded silently as a
    // different weight, and corrupted TorchScript code crashed its parser (docs/fuzzing.md).
    void corruptedArchivesAreRefusedBeforeLibTorchReadsThem() {
        torch::manual_seed(3);
        ModelOptions o;
        o.hidden = {8};
        ZooNet a(o, std::vector<int64_t>{5}, 3), b(o, std::vector<int64_t>{5}, 3);
        std::string bytes = saveModule(*a);
        verifyArchive(bytes, "module state");  // the sound archive passes
        // Flip one bit of the first weight's stored value.
        const float w0 = a->parameters()[0].flatten()[0].item<float>();
        const std::string needle(reinterpret_cast<const char*>(&w0), sizeof w0);
        const size_t at = bytes.find(needle);
        QVERIFY(at != std::string::npos);
        bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
        QVERIFY_THROWS_EXCEPTION(ArchiveError, loadModule(*b, bytes));
        try {
            loadModule(*b, bytes);
        } catch (const ArchiveError& e) {
            QVERIFY2(std::string(e.what()).find("CRC-32") != std::string::npos, e.what());
        }
        // Truncated: no central directory.
        QVERIFY_THROWS_EXCEPTION(ArchiveError,
                                 loadModule(*b, saveModule(*a).substr(0, bytes.size() / 2)));

        std::string tensor = serializeTensor(torch::arange(100, torch::kFloat32));
        QCOMPARE(deserializeTensor(tensor).sum().item<float>(), 4950.0f);
        tensor[tensor.size() / 3] = static_cast<char>(tensor[tensor.size() / 3] ^ 0x10);
        QVERIFY_THROWS_EXCEPTION(ArchiveError, deserializeTensor(tensor));

        torch::jit::Module scripted("Teacher");
        scripted.register_parameter("w", torch::randn({5, 3}), false);
        scripted.define("def forward(self, x):\n    return x.matmul(self.w)\n");
        std::ostringstream os;
        scripted.save(os);
        std::string pt = os.str();
        QCOMPARE(loadTorchScript(pt, "t.pt", torch::kCPU)
                     .forward({torch::zeros({1, 5})})
                     .toTensor()
                     .size(1),
                 int64_t(3));
        const size_t code = pt.find("matmul");
        QVERIFY(code != std::string::npos);
        pt[code] = 'X';
        QVERIFY_THROWS_EXCEPTION(ArchiveError, loadTorchScript(pt, "t.pt", torch::kCPU));
    }
};

QTEST_APPLESS_MAIN(TestModels)
#include "tst_models.moc"

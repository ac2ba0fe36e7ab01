#include "testutil.h"

#include "models/archivecheck.h"
#include "models/modelzoo.h"

using namespace retort;

namespace {
int64_t countParams(ZooNet& net) {
    int64_t n = 0;
    for (const auto& p : net->parameters()) n += p.numel();
    return n;
}
}  // namespace

class TestModels : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Hand-computed: a multiply-add counts 2, plus one op per bias add, ReLU output and
    // (3 per output) 2x2 max-pool comparison.
    void mlp() {
        ModelOptions o;
        o.arch = "mlp";
        o.hidden = {128};
        ZooNet net(o, std::vector<int64_t>{1, 28, 28}, 10);
        // 784*128 + 128 + 128*10 + 10
        QCOMPARE(net->summary().param_count, int64_t(101770));
        QCOMPARE(countParams(net), int64_t(101770));
        // 2*784*128 + 128 (bias) + 128 (relu) + 2*128*10 + 10
        QCOMPARE(net->summary().flops, int64_t(203530));
        QCOMPARE(net->summary().size_bytes, int64_t(407080));
        QCOMPARE(net->forward(torch::zeros({3, 1, 28, 28})).sizes().vec(),
                 (std::vector<int64_t>{3, 10}));
    }

    void mlpNoHidden() {
        ModelOptions o;
        o.arch = "mlp";
        ZooNet net(o, std::vector<int64_t>{20}, 3);
        QCOMPARE(net->summary().param_count, int64_t(63));  // 20*3 + 3
        QCOMPARE(net->summary().flops, int64_t(123));       // 2*20*3 + 3
    }

    void lenet5() {
        ModelOptions o;
        o.arch = "lenet5";
        ZooNet net(o, std::vector<int64_t>{1, 28, 28}, 10);
        // conv1 156, conv2 2416, fc1 48120, fc2 10164, out 850
        QCOMPARE(net->summary().param_count, int64_t(61706));
        QCOMPARE(countParams(net), int64_t(61706));
        // conv1 239904, relu 4704, pool 3528, conv2 481600, relu 1600, pool 1200,
        // fc1 96120, relu 120, fc2 20244, relu 84, out 1690
        QCOMPARE(net->summary().flops, int64_t(850794));
        QCOMPARE(net->forward(torch::zeros({2, 1, 28, 28})).sizes().vec(),
                 (std::vector<int64_t>{2, 10}));
    }

    void cnn() {
        ModelOptions o;
        o.arch = "cnn";
        o.channels = {32, 64};
        o.hidden = {128};
        ZooNet net(o, std::vector<int64_t>{1, 28, 28}, 10);
        // conv1 320, conv2 18496, fc1 3136*128+128 = 401536, out 1290
        QCOMPARE(net->summary().param_count, int64_t(421642));
        QCOMPARE(countParams(net), int64_t(421642));
        // conv1 476672, relu 25088, pool 18816, conv2 7237888, relu 12544, pool 9408,
        // fc1 802944, relu 128, out 2570
        QCOMPARE(net->summary().flops, int64_t(8586058));
        QCOMPARE(net->forward(torch::zeros({2, 1, 28, 28})).sizes().vec(),
                 (std::vector<int64_t>{2, 10}));
    }

    void describeMatchesBuild() {
        ModelOptions o;
        o.arch = "cnn";
        o.channels = {4, 8};
        o.hidden = {16, 12};
        auto s = describeModel(o, {3, 17, 13}, 5);
        ZooNet net(o, std::vector<int64_t>{3, 17, 13}, 5);
        QCOMPARE(s.param_count, countParams(net));
        QCOMPARE(s.flops, net->summary().flops);
        QCOMPARE(net->forward(torch::zeros({1, 3, 17, 13})).size(1), int64_t(5));
    }

    void refusesWhatDoesNotFit() {
        ModelOptions o;
        o.arch = "cnn";
        o.channels = {4, 4, 4};
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, describeModel(o, {1, 4, 4}, 10));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, describeModel(o, {16}, 10));
        o.arch = "mlp";
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, describeModel(o, {16}, 1));
    }

    void compressibleWeightsAreLinearAndConv() {
        ModelOptions o;
        o.arch = "lenet5";
        ZooNet net(o, std::vector<int64_t>{1, 28, 28}, 10);
        auto w = compressibleWeights(*net);
        QCOMPARE(w.size(), size_t(5));
        QCOMPARE(w[0].first, std::string("net.conv1.weight"));
        for (const auto& p : w) QVERIFY(p.second.dim() >= 2);
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

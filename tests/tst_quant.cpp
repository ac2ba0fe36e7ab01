#include "testutil.h"

#include "compress/int8kernels.h"
#include "compress/pruner.h"
#include "compress/quantizer.h"
#include "models/compressedmodel.h"
#include "models/modelzoo.h"
#include "store/projectstore.h"
#include "train/runner.h"

#include <zlib.h>

using namespace retort;

class TestQuant : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void roundTripErrorBound_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("perChannel");
        QTest::newRow("int8 per channel") << 8 << true;
        QTest::newRow("int8 per tensor") << 8 << false;
        QTest::newRow("int4 per channel") << 4 << true;
        QTest::newRow("int4 per tensor") << 4 << false;
    }
    void roundTripErrorBound() {
        QFETCH(int, bits);
        QFETCH(bool, perChannel);
        torch::manual_seed(1);
        auto w = torch::randn({16, 3, 3, 3}) * torch::linspace(0.1, 2.0, 16).view({16, 1, 1, 1});
        QuantizedTensor q = quantizeSymmetric(w, bits, perChannel);
        const int qmax = (1 << (bits - 1)) - 1;
        QVERIFY(q.codes.abs().max().item<int>() <= qmax);
        QCOMPARE(q.scales.numel(), perChannel ? int64_t(16) : int64_t(1));
        // |w - deq| <= scale / 2 elementwise; per channel max|w| = qmax * scale exactly.
        auto err = (w - q.dequantize()).abs();
        auto bound = (perChannel ? q.scales.view({16, 1, 1, 1}) : q.scales) / 2 + 1e-7;
        QVERIFY((err <= bound).all().item<bool>());
        auto maxAbs = perChannel ? w.abs().flatten(1).amax(1) : w.abs().max().reshape({1});
        QVERIFY(torch::allclose(maxAbs, q.scales * qmax));
        // Fewer bits: larger error.
        if (bits == 4) {
            auto e8 =
                (w - quantizeSymmetric(w, 8, perChannel).dequantize()).abs().mean().item<double>();
            QVERIFY(err.mean().item<double>() > e8);
        }
    }

    void zerosStayZero() {
        auto w = torch::randn({8, 8});
        w.index_put_({w.abs() < 0.5}, 0.0);
        QuantizedTensor q = quantizeSymmetric(w, 4, true);
        QVERIFY(((w == 0).logical_and(q.dequantize() != 0)).sum().item<int64_t>() == 0);
        auto allZero = torch::zeros({3, 4});
        QVERIFY(torch::equal(quantizeSymmetric(allZero, 8, true).dequantize(), allZero));
    }

    void compressedFileRoundTrip_data() {
        QTest::addColumn<double>("sparsity");
        QTest::addColumn<int>("bits");
        QTest::newRow("dense fp32") << 0.0 << 32;
        QTest::newRow("90% fp32") << 0.9 << 32;
        QTest::newRow("dense int8") << 0.0 << 8;
        QTest::newRow("50% int8") << 0.5 << 8;
        QTest::newRow("95% int4") << 0.95 << 4;
    }
    void compressedFileRoundTrip() {
        QFETCH(double, sparsity);
        QFETCH(int, bits);
        torch::manual_seed(2);
        ModelOptions mo;
        mo.arch = Arch::Cnn;
        mo.channels = {4};
        mo.hidden = {32};
        ZooNet net(mo, std::vector<int64_t>{1, 8, 8}, 5);
        net->eval();
        if (sparsity > 0) {
            PruneOptions po;
            po.sparsity = sparsity;
            Pruner(po, 1, compressibleWeights(*net), 1).pruneTo(sparsity);
        }
        CompressedModel cm;
        cm.model = modelDescription(net);
        std::map<std::string, QuantizedTensor> quantized;
        {
            torch::NoGradGuard g;
            for (auto& [name, w] : compressibleWeights(*net))
                if (bits != 32) {
                    quantized.emplace(name, quantizeSymmetric(w, bits, true));
                    w.copy_(quantized.at(name).dequantize());
                }
        }
        int64_t nonzeroValueBits = 0;
        for (const auto& p : net->named_parameters()) {
            CompressedTensor t{p.key(), p.value().sizes().vec(), 32, p.value().detach(), {}};
            if (quantized.count(p.key())) {
                t.bits = bits;
                t.values = quantized.at(p.key()).codes;
                t.scales = quantized.at(p.key()).scales;
            }
            nonzeroValueBits += t.values.count_nonzero().item<int64_t>() * t.bits;
            cm.tensors.push_back(t);
        }
        const std::string bytes = writeCompressedModel(cm);
        // The size is honest: at least the nonzero values at their width, plus per-tensor
        // index overhead whenever a sparse layout was chosen.
        QVERIFY(int64_t(bytes.size()) * 8 >= nonzeroValueBits);
        int64_t sum = 0;
        for (const auto& t : cm.tensors) {
            sum += t.bytes;
            if (t.index != SparseIndex::None)
                QVERIFY(t.bytes * 8 > t.values.count_nonzero().item<int64_t>() * t.bits);
        }
        QVERIFY(sum < int64_t(bytes.size()));  // plus header, description and checksum
        if (sparsity >= 0.9) QVERIFY(cm.tensors[0].index != SparseIndex::None);
        if (sparsity == 0) QCOMPARE(int(cm.tensors[0].index), int(SparseIndex::None));
        // Reads back to the same outputs.
        ZooNet back = loadCompressedModel(bytes);
        auto x = torch::randn({7, 1, 8, 8});
        torch::NoGradGuard g;
        QVERIFY(torch::equal(net->forward(x), back->forward(x)));
    }

    void exactByteSizeFromTheFormat() {
        // Every byte counted by hand from docs/spec.md's format (the old checks only bounded
        // the size, so a wrong header or index passed).
        CompressedModel cm;
        cm.model = Json::parse(R"({"x":1})");  // 7 bytes of description
        cm.tensors.push_back(
            {"w", {3, 4}, 32, torch::arange(1, 13, torch::kFloat32).view({3, 4}), {}});
        const auto q = quantizeSymmetric(torch::tensor({{7.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 3.5f},
                                                        {0.f, -7.f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f}}),
                                         4, true);
        QCOMPARE(q.codes.count_nonzero().item<int64_t>(), int64_t(4));
        cm.tensors.push_back({"q", {2, 8}, 4, q.codes, q.scales});
        cm.tensors.push_back({"b", {5}, 32, torch::ones({5}), {}});
        const std::string bytes = writeCompressedModel(cm);
        // w: name 2+1, rank 1 + dims 2*4, bits 1, layout 1, scale count 4, group size 4, 12 fp32
        // values 48.
        QCOMPARE(cm.tensors[0].bytes, int64_t(3 + 9 + 1 + 1 + 4 + 4 + 48));
        QCOMPARE(int(cm.tensors[0].index), int(SparseIndex::None));
        // q: 2+1, 1+8, 1, 1, 4 + 2 scales * 4; bitmap (16 bits: 2 bytes) beats dense int4
        // (8 bytes) and CSR (2 + 3 row pointers + 4 columns + 2); 4 nonzero int4 codes: 2 bytes.
        QCOMPARE(int(cm.tensors[1].index), int(SparseIndex::Bitmap));
        QCOMPARE(cm.tensors[1].bytes, int64_t(3 + 9 + 1 + 1 + 4 + 8 + 4 + 2 + 2));
        // b: 2+1, 1+4, 1, 1, 4, 4, 5 fp32 values 20.
        QCOMPARE(cm.tensors[2].bytes, int64_t(3 + 5 + 1 + 1 + 4 + 4 + 20));
        // File: magic 4, version 1 byte, length 4 + 7, count 4, the tensors, CRC 4.
        QCOMPARE(int64_t(bytes.size()), int64_t(4 + 1 + 4 + 7 + 4 + 70 + 34 + 38 + 4));
        const CompressedModel back = readCompressedModel(bytes);
        QVERIFY(torch::equal(back.tensors[1].dequantized(), q.dequantize()));
    }

    void nmLayoutStoresValuesAndPositions() {
        // 2:4 over a [2, 8] weight: 4 groups of 2 slots; one group has a single nonzero, so its
        // second slot holds a zero. Natural form: n, m, 8 positions of 2 bits (2 bytes), 8 values.
        const auto w = torch::tensor({0.f, 1.f, 0.f, 2.f, 3.f, 0.f, 0.f, 0.f,  //
                                      4.f, 5.f, 0.f, 0.f, 0.f, 0.f, 6.f, 7.f})
                           .view({2, 8});
        CompressedModel cm;
        cm.model = Json::object();
        CompressedTensor t{"w", {2, 8}, 32, w, {}};
        t.nmN = 2;
        t.nmM = 4;
        cm.tensors.push_back(t);
        const std::string bytes = writeCompressedModel(cm);
        QCOMPARE(int(cm.tensors[0].index), int(SparseIndex::NM));
        QCOMPARE(cm.tensors[0].bytes, int64_t(3 + 9 + 1 + 1 + 4 + 4 + 2 + 2 + 8 * 4));
        const CompressedModel back = readCompressedModel(bytes);
        QVERIFY(torch::equal(back.tensors[0].values, w));
        // int4 codes: 8 values in 4 bytes.
        auto q = quantizeSymmetric(w, 4, true);
        CompressedModel cq;
        cq.model = Json::object();
        CompressedTensor tq{"w", {2, 8}, 4, q.codes, q.scales};
        tq.nmN = 2;
        tq.nmM = 4;
        cq.tensors.push_back(tq);
        const std::string qb = writeCompressedModel(cq);
        QCOMPARE(cq.tensors[0].bytes, int64_t(3 + 9 + 1 + 1 + 4 + 2 * 4 + 4 + 2 + 2 + 4));
        QVERIFY(torch::equal(readCompressedModel(qb).tensors[0].dequantized(), q.dequantize()));
        // A tensor that breaks the pattern falls back to another layout.
        CompressedModel cb;
        cb.model = Json::object();
        CompressedTensor tb{"w", {2, 8}, 32, torch::ones({2, 8}), {}};
        tb.nmN = 2;
        tb.nmM = 4;
        cb.tensors.push_back(tb);
        writeCompressedModel(cb);
        QVERIFY(cb.tensors[0].index != SparseIndex::NM);
    }

    void groupScalesAreStoredAndCounted() {
        torch::manual_seed(6);
        const auto w = torch::randn({3, 10});
        const auto q = quantizeGroupwise(w, 4, 4);
        CompressedModel cm;
        cm.model = Json::object();
        CompressedTensor t{"w", {3, 10}, 4, q.codes, q.scales};
        t.groupSize = 4;
        cm.tensors.push_back(t);
        const std::string bytes = writeCompressedModel(cm);
        // 3 rows x 3 groups of scales (36 bytes) and 30 int4 codes (15 bytes).
        QCOMPARE(cm.tensors[0].bytes, int64_t(3 + 9 + 1 + 1 + 4 + 36 + 4 + 15));
        const CompressedModel back = readCompressedModel(bytes);
        QCOMPARE(back.tensors[0].groupSize, int64_t(4));
        QVERIFY(torch::equal(back.tensors[0].dequantized(), q.dequantize()));
    }

    void smallerThanDenseWhenCompressed() {
        ModelOptions mo;
        mo.hidden = {128};
        ZooNet net(mo, std::vector<int64_t>{1, 28, 28}, 10);
        PruneOptions po;
        Pruner(po, 1, compressibleWeights(*net), 1).pruneTo(0.9);
        CompressedModel cm;
        cm.model = modelDescription(net);
        for (const auto& p : net->named_parameters()) {
            CompressedTensor t{p.key(), p.value().sizes().vec(), 32, p.value().detach(), {}};
            if (p.value().dim() == 2) {
                auto q = quantizeSymmetric(p.value(), 8, true);
                t.bits = 8;
                t.values = q.codes;
                t.scales = q.scales;
            }
            cm.tensors.push_back(t);
        }
        const size_t size = writeCompressedModel(cm).size();
        // 90% sparse int8: ~10k values of 1 byte plus an index; far below 407,080 dense bytes,
        // but more than the values alone.
        QVERIFY(size < 407080 / 10);
        QVERIFY(size > 10177);
    }

    void craftedSizesAreRefusedWithoutAllocating() {
        // Found by fuzzing: a valid file whose description asks for a huge network, and a tiny
        // file whose sparse layout claims a billion elements.
        ModelOptions mo;
        mo.hidden = {4};
        ZooNet net(mo, std::vector<int64_t>{3}, 2);
        CompressedModel cm;
        cm.model = modelDescription(net);
        for (const auto& p : net->named_parameters())
            cm.tensors.push_back({p.key(), p.value().sizes().vec(), 32, p.value().detach(), {}});
        CompressedModel huge = cm;
        huge.model["model"]["hidden"] = {1 << 30};
        QVERIFY_THROWS_EXCEPTION(FormatError, loadCompressedModel(writeCompressedModel(huge)));
        // A 60-byte file claiming one CSR tensor of 2^29 zeros.
        std::string f = "RTCM";
        auto u32 = [&](uint32_t v) {
            for (int i = 0; i < 4; ++i) f += char((v >> (8 * i)) & 0xFF);
        };
        f += char(1);
        const std::string desc = cm.model.dump();
        u32(uint32_t(desc.size()));
        f += desc;
        u32(1);
        f += std::string("\x01\x00w", 3);  // name "w"
        f += char(2);                      // ndim
        u32(1);
        u32(1u << 29);  // dims 1 x 2^29
        f += char(8);   // bits
        f += char(2);   // CSR
        u32(1);
        f += std::string("\x00\x00\x80\x3f", 4);  // scale 1.0f
        f += std::string("\x01\x04\x00\x00", 4);  // widths, row pointers 0, 0
        u32(static_cast<uint32_t>(
            crc32(0L, reinterpret_cast<const Bytef*>(f.data()), static_cast<uInt>(f.size()))));
        try {
            readCompressedModel(f);
            QFAIL("a tiny file claiming 2^29 elements was accepted");
        } catch (const FormatError& e) {
            QVERIFY2(std::string(e.what()).find("larger than the file can describe") !=
                         std::string::npos,
                     e.what());
        }
    }

    void corruptFilesAreRefused() {
        ModelOptions mo;
        mo.hidden = {4};
        ZooNet net(mo, std::vector<int64_t>{3}, 2);
        CompressedModel cm;
        cm.model = modelDescription(net);
        for (const auto& p : net->named_parameters())
            cm.tensors.push_back({p.key(), p.value().sizes().vec(), 32, p.value().detach(), {}});
        const std::string good = writeCompressedModel(cm);
        QVERIFY_THROWS_EXCEPTION(FormatError, readCompressedModel(""));
        QVERIFY_THROWS_EXCEPTION(FormatError, readCompressedModel("XXXX" + good.substr(4)));
        QVERIFY_THROWS_EXCEPTION(FormatError, readCompressedModel(good.substr(0, good.size() - 5)));
        for (size_t i = 5; i < good.size(); i += 7) {
            std::string bad = good;
            bad[i] = char(bad[i] ^ 0x5A);
            QVERIFY_THROWS_EXCEPTION(FormatError, readCompressedModel(bad));
        }
    }

    void int8KernelsRunTheQuantizedModel() {
        if (!hasInt8Kernels()) QSKIP("this LibTorch has no int8 kernels");
        torch::manual_seed(11);
        ModelOptions mo;
        mo.hidden = {64, 32};
        ZooNet net(mo, std::vector<int64_t>{1, 8, 8}, 5);
        net->eval();
        torch::NoGradGuard guard;
        std::map<std::string, QuantizedTensor> q;
        for (auto& [name, w] : compressibleWeights(*net)) {
            QuantizedTensor t = quantizeSymmetric(w, 8, true);
            w.copy_(t.dequantize());
            q.emplace(name, std::move(t));
        }
        std::string why;
        const auto x = torch::randn({256, 1, 8, 8});
        const auto ref = net->forward(x);
        for (const auto& engine : int8Engines()) {
            const Int8Forward int8 = int8Forward(net, q, &why, engine);
            QVERIFY2(bool(int8), why.c_str());
            const auto got = int8(x);
            QCOMPARE(got.sizes(), ref.sizes());
            // Activations are quantized per call: close to the dequantized model, not equal.
            const double rel = ((got - ref).norm() / ref.norm()).item<double>();
            QVERIFY2(rel < 0.03 && rel > 0, std::to_string(rel).c_str());
            const double agree =
                got.argmax(1).eq(ref.argmax(1)).to(torch::kFloat).mean().item<double>();
            QVERIFY2(agree > 0.95, (engine + " " + std::to_string(agree)).c_str());
        }
        // What has no int8 kernel says so, naming the layer.
        auto q4 = q;
        q4.at("net.fc2.weight") = quantizeSymmetric(q.at("net.fc2.weight").dequantize(), 4, true);
        QVERIFY(!int8Forward(net, q4, &why));
        QVERIFY2(why.find("fc2") != std::string::npos && why.find("int4") != std::string::npos,
                 why.c_str());
        ModelOptions cnn;
        cnn.arch = Arch::Cnn;
        cnn.channels = {4};
        ZooNet conv(cnn, std::vector<int64_t>{1, 8, 8}, 5);
        QVERIFY(!int8Forward(conv, {}, &why));
        QVERIFY2(why.find("conv1") != std::string::npos, why.c_str());
    }

    void anInt8RunIsTimedOnInt8Kernels() {
        if (!hasInt8Kernels()) QSKIP("this LibTorch has no int8 kernels");
        QTemporaryDir dir;
        ProjectStore store(dir.filePath("int8.retort").toStdString());
        Json j = test::smallSyntheticSpec();
        j["quantize"] = {{"bits", 8}};
        const RunOutcome o = test::runAll(store, j).front();
        QVERIFY2(o.status == RunStatus::Completed, o.error.c_str());
        const Json& r = o.results;
        const std::string form = r["deployed_form"].get<std::string>();
        QVERIFY2(form.rfind("int8 kernels (", 0) == 0, form.c_str());
        QVERIFY(r["latency_ms_deployed"].get<double>() > 0);
        QVERIFY(std::abs(r["test_accuracy_deployed"].get<double>() -
                         r["test_accuracy"].get<double>()) < 0.05);
        QVERIFY2(r["deployed_note"].get<std::string>().find("int8 kernels") != std::string::npos,
                 r["deployed_note"].dump().c_str());
        // int4 stays dequantized, and says why.
        j["quantize"] = {{"bits", 4}};
        const RunOutcome o4 = test::runAll(store, j).front();
        QCOMPARE(o4.results["deployed_form"].get<std::string>(), std::string("dense fp32"));
        QVERIFY(!o4.results.contains("test_accuracy_deployed"));
        QVERIFY2(o4.results["deployed_note"].get<std::string>().find("int4") != std::string::npos,
                 o4.results["deployed_note"].dump().c_str());
    }
};

QTEST_APPLESS_MAIN(TestQuant)
#include "tst_quant.moc"

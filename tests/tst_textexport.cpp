// Export of text students: the ONNX graph of each text architecture (dense, pruned, int8 and
// int4, QDQ and float weights) run by an ONNX interpreter against LibTorch on ragged batches;
// what OpenCV's DNN module makes of them; the PyTorch checkpoint run by examples/
// load_student.py; and the tokenizer written beside the model by retort-cli.
#include "testutil.h"

#include "export/modelexport.h"
#include "models/compressedmodel.h"
#include "store/projectstore.h"

#ifdef RETORT_TEST_ONNX
#include "onnxinterpreter.h"
#endif
#ifdef RETORT_TEST_OPENCV
#include <opencv2/dnn.hpp>
#endif

#include <torch/serialize.h>

using namespace retort;

namespace {

/// A teacher and four students covering every text node: a pruned int8 mean-pooled Transformer,
/// a first-token Transformer rebuilt without half its heads, a 2-layer int8 BiLSTM rebuilt
/// without half its LSTM units and an int4 embedding bag with a hidden layer.
Json textExportSpec(const std::string& file) {
    const Json transformer = {
        {"arch", "transformer"},  {"layers", 2}, {"d_model", 16}, {"heads", 2}, {"ffn", 24},
        {"hidden", Json::array()}};
    Json first = transformer;
    first["pooling"] = "first";
    Json j = test::textRunSpec("text-export", file);
    j.update(
        Json{{"teacher",
              {{"arch", "embedding_bag"},
               {"embedding", 16},
               {"train", {{"epochs", 2}, {"batch_size", 16}, {"lr", 0.01}}}}},
             {"distill", {{"lambda", 0.5}}},
             {"train", {{"epochs", 2}, {"batch_size", 16}, {"lr", 0.003}}},
             {"sweep",
              Json::array(
                  {{{"student", {transformer}},
                    {"prune", {{{"sparsity", 0.5}}}},
                    {"quantize", {{{"bits", 8}}}}},
                   {{"student", {first}},
                    {"prune",
                     {{{"structure", "heads"},
                       {"sparsity", 0.5},
                       {"schedule", "one_shot"},
                       {"begin_epoch", 3}}}}},
                   {{"student", {{{"arch", "bilstm"}, {"embedding", 12}, {"hidden", {10, 6}}}}},
                    {"prune", {{{"structure", "neurons"}, {"sparsity", 0.5}}}},
                    {"quantize", {{{"bits", 8}}}}},
                   {{"student", {{{"arch", "embedding_bag"}, {"embedding", 12}, {"hidden", {8}}}}},
                    {"quantize", {{{"bits", 4}, {"granularity", "per_tensor"}}}}}})}});
    return j;
}

/// Ragged token ids: [CLS] then random pieces, lengths 1 .. max_length, right-padded with 0.
torch::Tensor raggedIds(int64_t batch, int64_t maxLength, int64_t vocab) {
    torch::manual_seed(11);
    auto ids = torch::randint(3, vocab, {batch, maxLength}, torch::kInt64);
    ids.select(1, 0).fill_(2);
    for (int64_t b = 0; b < batch; ++b) {
        const int64_t len = 1 + (b * 7) % maxLength;
        ids[b].slice(0, len).fill_(0);
    }
    return ids;
}

}  // namespace

class TestTextExport : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string m_project, m_lmProject;
    std::string file(const char* n) { return m_dir.filePath(n).toStdString(); }

    /// Expected logits of run @p id on @p ids, from its stored compressed model in LibTorch.
    torch::Tensor libtorchLogits(const ProjectStore& store, int64_t id, const torch::Tensor& ids) {
        ZooNet net = loadCompressedModel(*store.artifact(id, "compressed"));
        torch::NoGradGuard guard;
        return net->forward(ids);
    }

#ifdef RETORT_TEST_ONNX
    /// Exports run @p id to ONNX (QDQ, or float weights with @p floats), runs the graph on
    /// @p ids with the test's interpreter and fails unless it gives @p expected within 1e-4.
    /// The graph's bytes and the ops it ran go to @p bytes and @p ops.
    void checkOnnx(const ProjectStore& store, int64_t id, const torch::Tensor& ids,
                   const torch::Tensor& expected, bool floats, std::string& bytes,
                   std::map<std::string, int>& ops) {
        ModelExportOptions o;
        o.onnxFloatWeights = floats;
        bytes = exportRunModel(store, id, o);
        test::OnnxInterpreter onnx(bytes);
        const torch::Tensor got = onnx.run(ids);
        ops = onnx.ops();
        QCOMPARE(got.sizes().vec(), expected.sizes().vec());
        const double diff = (got - expected).abs().max().item<double>();
        QVERIFY2(diff < 1e-4, qPrintable(QString("run %1%2: max |diff| %3")
                                             .arg(id)
                                             .arg(floats ? " (float weights)" : "")
                                             .arg(diff)));
    }
#endif

private Q_SLOTS:
    void initTestCase() {
        m_project = file("text.retort");
        ProjectStore store(m_project);
        const auto outcomes =
            test::runAll(store, textExportSpec(test::writeSeparableTexts(m_dir, 40)));
        QCOMPARE(outcomes.size(), size_t(4));
        for (const auto& o : outcomes) QCOMPARE(o.status, RunStatus::Completed);
        // What the exports below must carry: the rebuilt smaller students.
        QCOMPARE(outcomes[1].results.at("model").at("model").at("layer_heads"), Json({1, 1}));
        QCOMPARE(outcomes[2].results.at("model").at("model").at("hidden"), Json({5, 3}));
        // Language models: a decoder dense, int8, and int8 with its output tied to the table.
        m_lmProject = file("lm.retort");
        ProjectStore lm(m_lmProject);
        QTemporaryDir texts;
        Json j = test::textRunSpec("lm-export", test::writeSeparableTexts(texts, 20));
        j["task"] = "language_model";
        j["student"] = {
            {"arch", "transformer"}, {"layers", 2}, {"d_model", 16}, {"heads", 2}, {"ffn", 24},
            {"dropout", 0.0}};
        j["train"] = {{"epochs", 1}, {"batch_size", 16}, {"lr", 0.003}};
        QCOMPARE(test::runAll(lm, j).front().status, RunStatus::Completed);
        j["quantize"] = {{"bits", 8}};
        QCOMPARE(test::runAll(lm, j).front().status, RunStatus::Completed);
        j["student"]["tie_embeddings"] = true;
        const auto tied = test::runAll(lm, j).front();
        QVERIFY2(tied.status == RunStatus::Completed, tied.error.c_str());
        QCOMPARE(tied.results.at("model").at("model").at("tie_embeddings"), Json(true));
    }

    void onnxTextStudentsMatchLibTorch() {
        if (!onnxSupported())
            QFAIL(RETORT_MISSING("libonnx-dev", "ONNX export (Retort was built without it)"));
#ifndef RETORT_TEST_ONNX
        QFAIL(RETORT_MISSING("libonnx-dev", "libonnx for the test's ONNX interpreter"));
#else
        ProjectStore store(m_project, ProjectStore::Access::ReadOnly);
        const std::vector<std::string> expectOps = {"Softmax", "Softmax", "LSTM", "Gemm"};
        for (int64_t id = 1; id <= 4; ++id) {
            const Json results = store.run(id)->results;
            // Batches padded to their longest: 12 tokens here, not the model's 16.
            const torch::Tensor ids = raggedIds(9, 12, results.at("vocab_size").get<int64_t>());
            const torch::Tensor expected = libtorchLogits(store, id, ids);
            for (bool floats : {false, true}) {
                std::string bytes;
                std::map<std::string, int> ops;
                checkOnnx(store, id, ids, expected, floats, bytes, ops);
                if (QTest::currentTestFailed()) return;
                QVERIFY(bytes.find("retort.tokenizer") != std::string::npos);
                QVERIFY2(ops.count(expectOps[size_t(id - 1)]),
                         qPrintable(QString("run %1 has no %2 node")
                                        .arg(id)
                                        .arg(expectOps[size_t(id - 1)].c_str())));
                // Quantized runs carry their codes: one DequantizeLinear per weight.
                const bool quantized = id != 2;
                QCOMPARE(ops.count("DequantizeLinear") > 0, quantized && !floats);
            }
            // Padding changes nothing: the same samples padded further give the same logits.
            auto wider = torch::cat({ids, torch::zeros({ids.size(0), 4}, torch::kInt64)}, 1);
            const torch::Tensor widened =
                test::OnnxInterpreter(exportRunModel(store, id, {})).run(wider);
            QVERIFY(torch::allclose(widened, expected, 1e-4, 1e-4));
        }
#endif
    }

    void onnxLanguageModelMatchesLibTorch() {
        // A causal decoder (dense, int8, and int8 with its output tied to the token table)
        // exported as one forward pass over a context: the interpreter's next-token logits at
        // every position equal LibTorch's, so no position sees a later token (LibTorch's
        // decoder is checked for that in tst_lm).
        if (!onnxSupported())
            QFAIL(RETORT_MISSING("libonnx-dev", "ONNX export (Retort was built without it)"));
#ifndef RETORT_TEST_ONNX
        QFAIL(RETORT_MISSING("libonnx-dev", "libonnx for the test's ONNX interpreter"));
#else
        ProjectStore store(m_lmProject, ProjectStore::Access::ReadOnly);
        for (int64_t id = 1; id <= 3; ++id) {
            const Json results = store.run(id)->results;
            const int64_t vocab = results.at("vocab_size").get<int64_t>();
            const torch::Tensor ids = raggedIds(7, 12, vocab);
            const torch::Tensor expected = libtorchLogits(store, id, ids);
            QCOMPARE(expected.sizes().vec(), (std::vector<int64_t>{7, 12, vocab}));
            for (bool floats : {false, true}) {
                std::string bytes;
                std::map<std::string, int> ops;
                checkOnnx(store, id, ids, expected, floats, bytes, ops);
                if (QTest::currentTestFailed()) return;
                QVERIFY(bytes.find("causal_table") != std::string::npos);
                QVERIFY(bytes.find("test_perplexity") != std::string::npos);
                QCOMPARE(ops.count("DequantizeLinear") > 0, id >= 2 && !floats);
            }
            // A longer (padded) input leaves the first positions' logits as they were.
            auto wider = torch::cat({ids, torch::zeros({ids.size(0), 4}, torch::kInt64)}, 1);
            const torch::Tensor widened =
                test::OnnxInterpreter(exportRunModel(store, id, {})).run(wider);
            QCOMPARE(widened.size(1), int64_t(16));
            QVERIFY(torch::allclose(widened.slice(1, 0, 12), expected, 1e-4, 1e-4));
        }
#endif
    }

    void opencvRefusesTextGraphsWithAClearError() {
        // What the README says about OpenCV 4.6: it imports none of the text graphs (integer
        // token ids and their shape arithmetic). When a later OpenCV runs one, this test fails
        // and the README's runtime table must say so.
#ifdef RETORT_TEST_OPENCV
        ProjectStore store(m_project, ProjectStore::Access::ReadOnly);
        for (int64_t id = 1; id <= 4; ++id) {
            ModelExportOptions o;
            o.onnxFloatWeights = true;
            const std::string bytes = exportRunModel(store, id, o);
            bool ran = false;
            try {
                cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
                const torch::Tensor ids = raggedIds(2, 8, 60).to(torch::kFloat32);
                std::vector<int> shape(ids.sizes().begin(), ids.sizes().end());
                cv::Mat in(int(shape.size()), shape.data(), CV_32F, ids.data_ptr<float>());
                net.setInput(in);
                cv::Mat out = net.forward();
                ran = !out.empty();
            } catch (const cv::Exception& e) {
                qInfo("run %lld: OpenCV: %s", (long long)id, e.what());
            }
            QVERIFY2(!ran,
                     qPrintable(QString("OpenCV now runs text run %1: update the README").arg(id)));
        }
#else
        QFAIL(RETORT_MISSING("libopencv-dnn-dev", "OpenCV's DNN module (found at configure time)"));
#endif
    }

    void checkpointLoadsIntoPyTorch() {
        // examples/load_student.py rebuilds every text student, and the language models
        // (causal, and with a tied output), with the same logits as LibTorch.
        const QString python = test::pythonWithTorch();
        if (python.isEmpty()) QFAIL(RETORT_MISSING("python3-torch", "python3 with torch"));
        for (const auto& [project, runs] :
             {std::pair{m_project, int64_t(4)}, std::pair{m_lmProject, int64_t(3)}}) {
            ProjectStore store(project, ProjectStore::Access::ReadOnly);
            for (int64_t id = 1; id <= runs; ++id) {
                ModelExportOptions o;
                o.format = "pt";
                const torch::Tensor x =
                    raggedIds(9, 12, store.run(id)->results.at("vocab_size").get<int64_t>());
                const auto r = test::checkCheckpointInPython(
                    python, m_dir, exportRunModel(store, id, o), x, libtorchLogits(store, id, x));
                QVERIFY2(
                    r.code == 0,
                    qPrintable(QString("%1 run %2: ").arg(QString::fromStdString(project)).arg(id) +
                               r.out + r.err));
            }
        }
    }

    void cliWritesTheTokenizerBesideTheModel() {
        const QString out = QString::fromStdString(file("bag.onnx"));
        const test::ProgramResult r = test::runProgram(
            RETORT_CLI_PATH, {"export-model", "4", "--project", QString::fromStdString(m_project),
                              "--format", "onnx", "--out", out});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("bag.tokenizer.model"), qPrintable(r.err));
        ProjectStore store(m_project, ProjectStore::Access::ReadOnly);
        const auto expected = runTokenizerModel(store, 4);
        QVERIFY(expected && !expected->empty());
        QCOMPARE(test::readFile(file("bag.tokenizer.model")), *expected);
        QCOMPARE(tokenizerPathBeside("a/b.c/model"), std::string("a/b.c/model.tokenizer.model"));
        QCOMPARE(tokenizerPathBeside("s.pt"), std::string("s.tokenizer.model"));
        // The tokenizer never lands on a project: a project named p.tokenizer.model exported
        // to p.onnx is refused, and neither file is touched.
        const std::string project = file("p.tokenizer.model");
        QVERIFY(QFile::copy(QString::fromStdString(m_project), QString::fromStdString(project)));
        const std::string before = test::readFile(project);
        const test::ProgramResult clash = test::runProgram(
            RETORT_CLI_PATH, {"export-model", "4", "--project", QString::fromStdString(project),
                              "--format", "onnx", "--out", QString::fromStdString(file("p.onnx"))});
        QVERIFY(clash.code != 0);
        QVERIFY2(clash.err.contains("p.tokenizer.model"), qPrintable(clash.err));
        QCOMPARE(test::readFile(project), before);
        QVERIFY(!QFile::exists(QString::fromStdString(file("p.onnx"))));
    }
};

QTEST_APPLESS_MAIN(TestTextExport)
#include "tst_textexport.moc"

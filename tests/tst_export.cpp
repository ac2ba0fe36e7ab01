// Data and model export: CSV/JSON of runs and metrics, the ONNX student run through OpenCV's
// DNN module against LibTorch, the PyTorch checkpoint loaded by the README's Python, and the
// reproduce commands the report prints.
#include "testutil.h"

#include "export/dataexport.h"
#include "export/modelexport.h"
#include "models/compressedmodel.h"
#include "spec/specvalidator.h"
#include "store/projectstore.h"
#include "train/runner.h"

#ifdef RETORT_TEST_OPENCV
#include <opencv2/dnn.hpp>
#endif
#ifdef RETORT_TEST_ONNX
#include <onnx/onnx_pb.h>
#endif

#include <torch/serialize.h>

#include <cstring>
#include <sstream>

using namespace retort;

namespace {

/// A small CNN student on synthetic images: dense fp32, pruned + int8 per channel, int4 per
/// tensor; the ONNX graph then has Conv, MaxPool, Flatten, Gemm, Relu and both QDQ forms.
Json exportSpec() {
    Json j = test::smallSyntheticSpec();
    j["data"]["shape"] = {1, 8, 8};
    j["student"] = {{"arch", "cnn"}, {"channels", {4}}, {"hidden", {16}}};
    j["sweep"] = Json::array({{{"quantize", {nullptr}}},
                              {{"prune.sparsity", {0.6}}, {"quantize.bits", {8}}},
                              {{"quantize", {{{"bits", 4}, {"granularity", "per_tensor"}}}}}});
    return j;
}

/// Test inputs: normalized-scale noise of the model's input shape.
torch::Tensor inputs(const Json& description, int64_t batch) {
    std::vector<int64_t> shape{batch};
    for (const auto& d : description["input_shape"]) shape.push_back(d.get<int64_t>());
    torch::manual_seed(7);
    return torch::randn(shape);
}

#ifdef RETORT_TEST_ONNX
/// Replaces each DequantizeLinear of an initializer by the float initializer it computes,
/// following the ONNX definition y = (x - zero_point) * scale (per axis 0 when scale is 1-D).
/// OpenCV 4.6 cannot run weight QDQ; this lets it run the rest of the same graph.
std::string foldDequantize(const std::string& bytes, int* folded) {
    onnx::ModelProto m;
    if (!m.ParseFromString(bytes)) throw std::runtime_error("not an ONNX model");
    auto* g = m.mutable_graph();
    std::map<std::string, onnx::TensorProto> inits;
    for (const auto& t : g->initializer()) inits[t.name()] = t;
    onnx::GraphProto out = *g;
    out.clear_node();
    out.clear_initializer();
    std::set<std::string> consumed;
    std::vector<onnx::TensorProto> made;
    for (const auto& n : g->node()) {
        if (n.op_type() != "DequantizeLinear") {
            *out.add_node() = n;
            continue;
        }
        const auto& q = inits.at(n.input(0));
        const auto& s = inits.at(n.input(1));
        const auto& z = inits.at(n.input(2));
        if (q.data_type() != onnx::TensorProto::INT8) throw std::runtime_error("codes not int8");
        std::vector<int64_t> dims(q.dims().begin(), q.dims().end());
        const auto* codes = reinterpret_cast<const int8_t*>(q.raw_data().data());
        const auto* scales = reinterpret_cast<const float*>(s.raw_data().data());
        const auto* zeros = reinterpret_cast<const int8_t*>(z.raw_data().data());
        const int64_t count = int64_t(q.raw_data().size());
        const int64_t channels = s.dims_size() == 0 ? 1 : s.dims(0);
        const int64_t per = count / dims[0];
        std::vector<float> values(static_cast<size_t>(count));
        for (int64_t i = 0; i < count; ++i) {
            const int64_t c = channels == 1 ? 0 : i / per;
            values[size_t(i)] = float(codes[i] - zeros[c]) * scales[c];
        }
        onnx::TensorProto t;
        t.set_name(n.output(0));
        t.set_data_type(onnx::TensorProto::FLOAT);
        for (int64_t d : dims) t.add_dims(d);
        t.set_raw_data(
            std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4));
        made.push_back(t);
        for (int i = 0; i < 3; ++i) consumed.insert(n.input(i));
        ++*folded;
    }
    for (const auto& [name, t] : inits)
        if (!consumed.count(name)) *out.add_initializer() = t;
    for (const auto& t : made) *out.add_initializer() = t;
    *g = out;
    std::string result;
    m.SerializeToString(&result);
    return result;
}
#endif

#ifdef RETORT_TEST_OPENCV
/// Runs an ONNX model through OpenCV's DNN module.
torch::Tensor opencvForward(const std::string& onnx, const torch::Tensor& x) {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(onnx.data(), onnx.size());
    std::vector<int> shape(x.sizes().begin(), x.sizes().end());
    cv::Mat in(int(shape.size()), shape.data(), CV_32F, x.contiguous().data_ptr<float>());
    net.setInput(in);
    cv::Mat out = net.forward();
    return torch::from_blob(out.ptr<float>(), {out.size[0], out.size[1]}, torch::kFloat32).clone();
}
#endif

}  // namespace

class TestExport : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string file(const char* n) { return m_dir.filePath(n).toStdString(); }
    std::string m_project;

private Q_SLOTS:
    void initTestCase() {
        m_project = file("export.retort");
        ProjectStore store(m_project);
        SpecValidator v(&store);
        Runner runner(store);
        for (const auto& p : v.plan(exportSpec())) {
            const int64_t id = store.createRun(p.name, p.spec.toJson(), p.params);
            QCOMPARE(runner.run(id, p.spec).status, RunStatus::Completed);
        }
        QCOMPARE(store.runs().size(), size_t(3));
    }

    void runsAndMetricsInLongForm() {
        ProjectStore store(m_project, ProjectStore::Access::ReadOnly);
        const auto runs = store.runs();
        size_t points = 0;
        for (const auto& r : runs) points += store.metrics(r.id).size();
        QVERIFY(points > 0);

        const std::string csv = metricsCsv(store, runs);
        std::istringstream lines(csv);
        std::string line;
        std::getline(lines, line);
        QCOMPARE(line, std::string("run,metric,step,value"));
        size_t rows = 0;
        double lastLoss = -1;
        while (std::getline(lines, line)) {
            ++rows;
            // run 1's train_loss at step 3 is the stored value, read back exactly.
            if (line.rfind("1,train_loss,3,", 0) == 0) lastLoss = std::stod(line.substr(15));
        }
        QCOMPARE(rows, points);
        double stored = -2;
        for (const auto& m : store.metrics(1))
            if (m.name == "train_loss" && m.epoch == 3) stored = m.value;
        QCOMPARE(lastLoss, stored);

        const Json j = metricsJson(store, runs);
        QCOMPARE(j["metrics"].size(), points);
        QCOMPARE(j["metrics"][0]["run"].get<int64_t>(), int64_t(1));
        QVERIFY(j["metrics"][0].contains("step"));

        const std::string runsText = runsCsv(runs);
        QVERIFY(runsText.rfind("id,name,status,", 0) == 0);
        QCOMPARE(std::count(runsText.begin(), runsText.end(), '\n'), 4L);
        // Object-valued sweep points are named by their contents.
        QVERIFY(runs[2].name.find("quantize={bits:4,granularity:per_tensor}") != std::string::npos);
        QVERIFY(runsJson(m_project, runs)["runs"][1]["results"].contains("input_normalization"));
    }

    void onnxStudentRunsInOpenCvToLibTorchOutputs() {
        if (!onnxSupported())
            QFAIL(RETORT_MISSING("libonnx-dev", "ONNX export (Retort was built without it)"));
        ProjectStore store(m_project, ProjectStore::Access::ReadOnly);
        for (int64_t id = 1; id <= 3; ++id) {
            const std::string compressed = *store.artifact(id, "compressed");
            const CompressedModel cm = readCompressedModel(compressed);
            ZooNet net = loadCompressedModel(compressed);
            torch::NoGradGuard guard;
            const torch::Tensor x = inputs(cm.model, 5);
            const torch::Tensor expected = net->forward(x);

            ModelExportOptions o;
            const std::string qdq = exportRunModel(store, id, o);
            o.onnxFloatWeights = true;
            const std::string floats = exportRunModel(store, id, o);
            const bool quantized = id > 1;
            // int8 codes make the QDQ file smaller than the float one; dense runs are the same.
            QCOMPARE(qdq.size() < floats.size(), quantized);
            QVERIFY(qdq.find("DequantizeLinear") != std::string::npos || !quantized);
            QVERIFY(qdq.find("input_normalization") != std::string::npos);

#ifdef RETORT_TEST_OPENCV
            const torch::Tensor viaFloats = opencvForward(floats, x);
            QVERIFY2(torch::allclose(viaFloats, expected, 0, 1e-4),
                     qPrintable(QString("run %1: max diff %2")
                                    .arg(id)
                                    .arg((viaFloats - expected).abs().max().item<double>())));
#ifdef RETORT_TEST_ONNX
            int folded = 0;
            const torch::Tensor viaQdq = opencvForward(foldDequantize(qdq, &folded), x);
            QCOMPARE(folded, quantized ? 3 : 0);  // conv1, fc1, out
            QVERIFY2(torch::allclose(viaQdq, expected, 0, 1e-4),
                     qPrintable(QString("run %1 (QDQ): max diff %2")
                                    .arg(id)
                                    .arg((viaQdq - expected).abs().max().item<double>())));
#endif
#else
            QFAIL(RETORT_MISSING("libopencv-dnn-dev",
                                 "OpenCV's DNN module (found at configure time)"));
#endif
        }
    }

    void onnxExportRefusesRunsWithoutAModel() {
        ProjectStore store(file("empty.retort"));
        const int64_t id = store.createRun("queued", test::smallSyntheticSpec(), Json::object());
        bool threw = false;
        try {
            exportRunModel(store, id, {});
        } catch (const std::invalid_argument& e) {
            threw = std::string(e.what()).find("queued") != std::string::npos;
        }
        QVERIFY(threw);
        try {
            exportRunModel(store, 42, {});
            QFAIL("exported a run that does not exist");
        } catch (const std::invalid_argument&) {
        }
    }

    void checkpointLoadsIntoPyTorch() {
        const QString python = test::pythonWithTorch();
        if (python.isEmpty()) QFAIL(RETORT_MISSING("python3-torch", "python3 with torch"));
        ProjectStore store(m_project, ProjectStore::Access::ReadOnly);
        for (int64_t id : {int64_t(1), int64_t(2)}) {
            ModelExportOptions o;
            o.format = "pt";
            const std::string compressed = *store.artifact(id, "compressed");
            ZooNet net = loadCompressedModel(compressed);
            torch::NoGradGuard guard;
            const torch::Tensor x = inputs(readCompressedModel(compressed).model, 4);
            const auto r = test::checkCheckpointInPython(
                python, m_dir, exportRunModel(store, id, o), x, net->forward(x));
            QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
        }
    }

    void showSpecReproducesARun() {
        // The report's reproduce commands: `show --spec` then `run` gives the same results.
        const test::ProgramResult s = test::runProgram(
            RETORT_CLI_PATH,
            {"show", "2", "--project", QString::fromStdString(m_project), "--spec"});
        QCOMPARE(s.code, 0);
        test::writeFile(file("run-2.json"), s.out.toStdString());
        const test::ProgramResult r = test::runProgram(
            RETORT_CLI_PATH, {"run", QString::fromStdString(file("run-2.json")), "--project",
                              QString::fromStdString(file("again.retort")), "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        ProjectStore a(m_project, ProjectStore::Access::ReadOnly);
        ProjectStore b(file("again.retort"), ProjectStore::Access::ReadOnly);
        const Json ra = a.run(2)->results, rb = b.run(1)->results;
        for (const char* k :
             {"test_accuracy", "compressed_size_bytes", "nonzero_params", "sparsity"})
            QCOMPARE(rb[k].dump(), ra[k].dump());
        QCOMPARE(*b.artifact(1, "compressed"), *a.artifact(2, "compressed"));
    }

    void cliExportsModelsAndMetrics() {
        const QString project = QString::fromStdString(m_project);
        test::ProgramResult r = test::runProgram(
            RETORT_CLI_PATH, {"export", "--project", project, "--format", "csv", "--metrics",
                              "--out", QString::fromStdString(file("m.csv"))});
        QCOMPARE(r.code, 0);
        QVERIFY(test::readFile(file("m.csv")).rfind("run,metric,step,value\n", 0) == 0);
        r = test::runProgram(RETORT_CLI_PATH,
                             {"export-model", "2", "--project", project, "--format", "pt", "--out",
                              QString::fromStdString(file("cli.pt"))});
        QCOMPARE(r.code, 0);
        QVERIFY(test::readFile(file("cli.pt")).size() > 1000);
        // A run that does not exist: exit 2, nothing written.
        r = test::runProgram(RETORT_CLI_PATH,
                             {"export-model", "9", "--project", project, "--format", "onnx",
                              "--out", QString::fromStdString(file("none.onnx"))});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("run 9 does not exist"));
        QVERIFY(!QFile::exists(QString::fromStdString(file("none.onnx"))));
    }
};

QTEST_APPLESS_MAIN(TestExport)
#include "tst_export.moc"

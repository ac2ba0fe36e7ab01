// The zoo's text models (transformer, bilstm, embedding_bag): their counts against hand-computed
// values, padding that changes nothing, their graphs, macro-F1, length bucketing, and a text run
// end to end with its tokenizer kept in the project.

#include "testutil.h"

#include "compress/featuredistiller.h"
#include "data/dataset.h"
#include "models/modelgraph.h"
#include "models/modelzoo.h"
#include "train/stagesupport.h"
#include "train/trainloop.h"

#include <random>
#include <set>

using namespace retort;

namespace {

DataShape textShape(int64_t vocab, int64_t maxLength, double meanTokens, int64_t classes) {
    DataShape s;
    s.sample_shape = {maxLength};
    s.classes = classes;
    s.vocab = vocab;
    s.mean_tokens = meanTokens;
    return s;
}

using test::transformer;

ModelOptions textModel(Arch arch, int64_t embedding, std::vector<int64_t> hidden) {
    ModelOptions o;
    o.arch = arch;
    o.embedding = embedding;
    o.hidden = std::move(hidden);
    return o;
}

int64_t moduleParams(torch::nn::Module& m) {
    int64_t n = 0;
    for (const auto& p : m.parameters()) n += p.numel();
    return n;
}

/// Ids of one sample ([CLS] first) padded with 0 to @p length.
torch::Tensor sample(const std::vector<int64_t>& ids, int64_t length) {
    auto t = torch::zeros({1, length}, torch::kInt64);
    for (size_t i = 0; i < ids.size(); ++i) t[0][int64_t(i)] = ids[i];
    return t;
}

}  // namespace

class TestTextModels : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void transformerCountsByHand() {
        // vocab 100, 16 positions, d 8, 2 heads, ffn 16, 2 layers, 3 classes, 10 tokens/sample.
        const DataShape data = textShape(100, 16, 10.0, 3);
        const ModelOptions o = transformer(2, 8, 2, 16);
        const ModelSummary s = describeModel(o, data);
        // tok 100*8, pos 16*8; per layer: two norms 2*2*8, q/k/v/o 4*(8*8+8), ff1 8*16+16,
        // ff2 16*8+8 = 600; final norm 16; head 8*3+3.
        QCOMPARE(s.param_count, int64_t(800 + 128 + 2 * 600 + 16 + 27));
        QCOMPARE(s.embedding_params, int64_t(928));
        // Per layer at T = 10: T*(4*(2*64+8) + (2*8*16+16) + (2*16*8+8)) + 2*2*T*T*8 = 14000.
        QCOMPARE(s.flops, int64_t(2 * 14000 + 2 * 8 * 3 + 3));
        ZooNet net(o, data);
        QCOMPARE(moduleParams(*net), s.param_count);
        QCOMPARE(net->summary().param_count, s.param_count);
    }

    void bilstmAndEmbeddingBagCountsByHand() {
        const DataShape data = textShape(50, 12, 7.0, 3);
        const ModelOptions lstm = textModel(Arch::Bilstm, 6, {4, 5});
        const ModelSummary s = describeModel(lstm, data);
        // tok 50*6; per direction 4h(in+h) + 8h: layer 1 (in 6, h 4) 2*192, layer 2 (in 8, h 5)
        // 2*300; head 10*3+3.
        QCOMPARE(s.param_count, int64_t(300 + 384 + 600 + 33));
        // Per token and direction 2*4h(in+h) + 8h, two directions, 7 tokens; then the head.
        QCOMPARE(s.flops, int64_t(7 * 2 * (320 + 32) + 7 * 2 * (520 + 40) + 63));
        ZooNet net(lstm, data);
        QCOMPARE(moduleParams(*net), s.param_count);

        const ModelOptions bag = textModel(Arch::EmbeddingBag, 6, {5});
        const ModelSummary b = describeModel(bag, data);
        QCOMPARE(b.param_count, int64_t(300 + 35 + 18));
        QCOMPARE(b.flops, int64_t(65 + 5 + 33));  // fc1, relu1, out
        ZooNet bagNet(bag, data);
        QCOMPARE(moduleParams(*bagNet), b.param_count);
        // Without hidden widths a bilstm has one layer of `embedding` units.
        QCOMPARE(describeModel(textModel(Arch::Bilstm, 6, {}), data).param_count,
                 int64_t(300 + 2 * (4 * 6 * 12 + 48) + 12 * 3 + 3));
    }

    void textArchitecturesRefuseFeaturesAndBack() {
        DataShape image;
        image.sample_shape = {1, 28, 28};
        image.classes = 10;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 describeModel(transformer(1, 8, 2, 16), image));
        ModelOptions mlp;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 describeModel(mlp, textShape(100, 16, 0, 3)));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, describeModel(transformer(1, 10, 3, 16),
                                                                      textShape(100, 16, 0, 3)));
    }

    void paddingChangesNothing_data() {
        QTest::addColumn<int>("arch");
        QTest::newRow("transformer mean") << 0;
        QTest::newRow("transformer first") << 1;
        QTest::newRow("bilstm") << 2;
        QTest::newRow("embedding_bag") << 3;
    }
    void paddingChangesNothing() {
        // The same sample alone, padded further, and batched beside a longer one must give the
        // same logits: attention, recurrence and pooling must see only its real tokens.
        QFETCH(int, arch);
        torch::manual_seed(3);
        ModelOptions o = arch <= 1   ? transformer(2, 16, 4, 32)
                         : arch == 2 ? textModel(Arch::Bilstm, 8, {6})
                                     : textModel(Arch::EmbeddingBag, 8, {5});
        if (arch == 1) o.pooling = Pooling::First;
        ZooNet net(o, textShape(40, 20, 0, 4));
        net->eval();
        torch::NoGradGuard guard;
        const std::vector<int64_t> a = {2, 5, 7, 9}, b = {2, 11, 12, 13, 14, 15, 16, 17, 18};
        const auto alone = net->forward(sample(a, 4));
        const auto padded = net->forward(sample(a, 20));
        const auto batch = net->forward(torch::cat({sample(a, 9), sample(b, 9)}));
        QVERIFY(torch::allclose(alone, padded, 1e-5, 1e-6));
        QVERIFY(torch::allclose(alone, batch.slice(0, 0, 1), 1e-5, 1e-6));
        // And a different sample gives different logits (the check above is not vacuous).
        QVERIFY(!torch::allclose(alone, batch.slice(0, 1, 2), 1e-4, 1e-5));
    }

    void graphsDescribeEveryParameter() {
        for (const ModelOptions& o : {transformer(2, 16, 4, 32), textModel(Arch::Bilstm, 8, {6}),
                                      textModel(Arch::EmbeddingBag, 8, {5})}) {
            ZooNet net(o, textShape(40, 20, 0, 4));
            const ModelGraph g = modelGraph(*net);
            // Every parameter once (selectParameters throws otherwise).
            const auto all =
                selectParameters(*net, g, [](const GraphNode&, const GraphParam&) { return true; });
            QCOMPARE(int64_t(all.size()), int64_t(net->parameters().size()));
            std::set<std::string> compressible;
            for (const auto& [name, w] : compressibleWeights(*net)) compressible.insert(name);
            QVERIFY(compressible.count("net.tok.weight"));  // the table is most of the model
            QVERIFY(compressible.count("net.out.weight"));
            QVERIFY(!compressible.count("net.out.bias"));
            QVERIFY(!compressible.count("net.pos.weight"));
            for (const auto& n : compressible) {
                QVERIFY2(n.find("bias") == std::string::npos, n.c_str());
                QVERIFY2(n.find("ln") == std::string::npos, n.c_str());
            }
            if (o.arch == Arch::Transformer) {
                QVERIFY(compressible.count("net.layer1.attn.q.weight"));
                QVERIFY(compressible.count("net.layer2.ff2.weight"));
                QVERIFY(!compressible.count("net.norm.weight"));
            }
            if (o.arch == Arch::Bilstm) {
                QVERIFY(compressible.count("net.lstm1.weight_ih_l0"));
                QVERIFY(compressible.count("net.lstm1.weight_hh_l0_reverse"));
            }
            // The graph survives its JSON form.
            const ModelGraph back = ModelGraph::fromJson(g.toJson());
            QCOMPARE(back.toJson(), g.toJson());
        }
    }

    void macroF1ByHand() {
        using stagesupport::macroF1;
        const auto p = torch::tensor({0, 0, 1, 2}, torch::kInt64);
        const auto y = torch::tensor({0, 1, 1, 1}, torch::kInt64);
        // Class 0: F1 2*1/(2+1); class 1: 2*1/(1+3); class 2: 0 (predicted, never true); class
        // 3 in neither: not averaged.
        QVERIFY(std::abs(macroF1(p, y, 4) - (2.0 / 3 + 0.5 + 0.0) / 3) < 1e-12);
        QCOMPARE(macroF1(y, y, 4), 1.0);
    }

    void bucketingCoversEverySampleOnce() {
        // 1000 samples of lengths 2..41 in random order, batch 16.
        Dataset d;
        std::mt19937 rng(1);
        d.train_x = torch::zeros({1000, 41}, torch::kInt64);
        for (int64_t i = 0; i < 1000; ++i) {
            const int64_t len = 2 + int64_t(rng() % 40);
            d.train_x[i].slice(0, 0, len).fill_(5);
        }
        d.shape = textShape(10, 41, 0, 2);
        auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
        const auto batches = pipeline::batchOrder(d, 16, gen);
        std::vector<int> seen(1000, 0);
        int64_t padded = 0, real = 0;
        const auto lengths = d.train_x.ne(0).sum(1);
        for (const auto& b : batches) {
            QVERIFY(b.size(0) <= 16);
            const auto l = lengths.index_select(0, b);
            padded += l.max().item<int64_t>() * b.size(0);
            real += l.sum().item<int64_t>();
            for (int64_t i = 0; i < b.size(0); ++i) ++seen[size_t(b[i].item<int64_t>())];
        }
        for (int s : seen) QCOMPARE(s, 1);
        // Random batches of 16 pad to about the longest of 16 (~39 of a mean 21.5); bucketed
        // windows of 50 batches pad to little more than each sample.
        QVERIFY2(double(padded) / double(real) < 1.15,
                 qPrintable(QString::number(double(padded) / double(real))));
        // Not simply sorted: lengths of consecutive batches are shuffled.
        int increasing = 0;
        for (size_t i = 1; i < batches.size(); ++i)
            increasing += lengths.index_select(0, batches[i]).max().item<int64_t>() >=
                          lengths.index_select(0, batches[i - 1]).max().item<int64_t>();
        QVERIFY(increasing < int(batches.size()) - 10);
    }

    void probeEstimatesTokensFromWords() {
        // Before any tokenizer, the editor's budget counts FLOPs at an estimate: 1 ([CLS]) +
        // 1.4 pieces per word, cut at max_length; flagged as an estimate.
        QTemporaryDir dir;
        std::string tsv = "text\tlabel\n";
        for (int i = 0; i < 40; ++i)
            tsv += (i % 2 ? "w" + std::to_string(i) + " two  three\ta"
                          : " w" + std::to_string(i) + " five six \tb") +
                   "\n";
        const std::string file = dir.filePath("w.tsv").toStdString();
        test::writeFile(file, tsv);
        std::vector<SpecIssue> issues;
        Json j = test::textRunSpec("probe", file);
        j["data"]["validation_fraction"] = 0.0;
        ExperimentSpec spec = ExperimentSpec::fromJson(j, issues);
        QVERIFY(issues.empty());
        DataShape shape = probeData(spec.data);
        QVERIFY(shape.mean_tokens_estimated);
        // Three words in every text, however spaced: 1 + 1.4 * 3.
        QVERIFY2(std::abs(shape.mean_tokens - 5.2) < 1e-9,
                 qPrintable(QString::number(shape.mean_tokens)));
        spec.data.tokenizer.max_length = 4;
        QCOMPARE(probeData(spec.data).mean_tokens, 4.0);  // cut at max_length
    }

    void textRunEndToEnd() {
        QTemporaryDir dir;
        const std::string file = test::writeSeparableTexts(dir, 120);
        Json j = test::textRunSpec("text", file);
        j["data"]["validation_fraction"] = 0.15;
        j.update(Json{{"teacher",
                       {{"arch", "transformer"},
                        {"layers", 1},
                        {"d_model", 16},
                        {"heads", 2},
                        {"ffn", 32},
                        {"train", {{"epochs", 6}, {"batch_size", 16}, {"lr", 0.003}}}}},
                      {"student", {{"arch", "embedding_bag"}, {"embedding", 16}}},
                      {"distill", {{"lambda", 0.5}, {"temperature", 2.0}}},
                      {"prune", {{"sparsity", 0.5}}},
                      {"quantize", {{"bits", 8}}},
                      {"train", {{"epochs", 6}, {"batch_size", 16}, {"lr", 0.01}}},
                      {"sweep", {{"seed", {1, 2}}}}});
        const std::string project = dir.filePath("p.retort").toStdString();
        ProjectStore store(project);
        const auto outcomes = test::runAll(store, j);
        QCOMPARE(outcomes.size(), size_t(2));
        for (const auto& o : outcomes) {
            QCOMPARE(o.status, RunStatus::Completed);
            const Json& r = o.results;
            // Separable classes: well above chance (1/3), on accuracy and macro-F1.
            QVERIFY2(r.at("test_accuracy").get<double>() > 0.8, r.dump().c_str());
            QVERIFY2(r.at("test_macro_f1").get<double>() > 0.8, r.dump().c_str());
            QVERIFY(r.at("teacher_test_accuracy").get<double>() > 0.8);
            QCOMPARE(r.at("classes").get<int64_t>(), int64_t(3));
            QCOMPARE(r.at("labels"), Json({"music", "rock", "water"}));
            QVERIFY(r.at("vocab_size").get<int64_t>() <= 60);
            QVERIFY(r.at("mean_tokens").get<double>() > 4);
            QVERIFY(std::abs(r.at("sparsity").get<double>() - 0.5) < 0.01);
            QVERIFY(r.at("compressed_size_bytes").get<int64_t>() <
                    r.at("size_bytes").get<int64_t>() / 3);
            QCOMPARE(r.at("tokenizer_key"), outcomes[0].results.at("tokenizer_key"));
        }
        // One tokenizer for both seeds: trained by the first run, found by the second.
        sqlite3* db = nullptr;
        QCOMPARE(sqlite3_open(project.c_str(), &db), SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(db, "SELECT count(*) FROM tokenizers", -1, &st, nullptr);
        QCOMPARE(sqlite3_step(st), SQLITE_ROW);
        QCOMPARE(sqlite3_column_int(st, 0), 1);
        sqlite3_finalize(st);
        sqlite3_close(db);
        // The per-epoch validation macro-F1 is stored beside the accuracy.
        bool f1 = false;
        for (const auto& m : store.metrics(1)) f1 |= m.name == "val_macro_f1";
        QVERIFY(f1);
    }

    void featureLossesByHand() {
        QCOMPARE(uniformLayerMap(2, 3), (std::vector<int64_t>{1, 2}));
        QCOMPARE(uniformLayerMap(3, 3), (std::vector<int64_t>{0, 1, 2}));
        QCOMPARE(uniformLayerMap(2, 4), (std::vector<int64_t>{1, 3}));
        QCOMPARE(uniformLayerMap(1, 4), (std::vector<int64_t>{3}));
        const auto real = torch::tensor({1, 0}, torch::kBool).reshape({1, 2});
        // Token 0 only: mean((1-0)², (2-0)²) = 2.5; the padding token's error is ignored.
        const auto s = torch::tensor({1.f, 2.f, 30.f, 40.f}).reshape({1, 2, 2});
        QCOMPARE(hiddenMse(s, torch::zeros({1, 2, 2}), real).item<double>(), 2.5);
        // Query 0: KL([1, 0] ‖ [0.5, 0.5]) = log 2; the teacher's zero weight adds nothing (no
        // NaN from 0·log 0), and query 1 (padding) is ignored.
        const auto t = torch::tensor({1.f, 0.f, 0.3f, 0.7f}).reshape({1, 1, 2, 2});
        const auto a = torch::tensor({0.5f, 0.5f, 0.9f, 0.1f}).reshape({1, 1, 2, 2});
        QVERIFY(std::abs(attentionKl(a, t, real).item<double>() - std::log(2.0)) < 1e-6);
        QCOMPARE(attentionKl(t, t, real).item<double>(), 0.0);
    }

    void teacherLayersInitAndZeroFeatureLoss() {
        torch::manual_seed(5);
        const DataShape data = textShape(40, 20, 0, 3);
        ZooNet teacher(transformer(4, 16, 2, 32), data), student(transformer(2, 16, 2, 32), data);
        initFromTeacherLayers(*student, *teacher);
        auto sp = student->named_parameters(), tp = teacher->named_parameters();
        QVERIFY(torch::equal(*sp.find("net.layer1.ff1.weight"), *tp.find("net.layer2.ff1.weight")));
        QVERIFY(torch::equal(*sp.find("net.layer2.attn.q.weight"),
                             *tp.find("net.layer4.attn.q.weight")));
        QVERIFY(torch::equal(*sp.find("net.tok.weight"), *tp.find("net.tok.weight")));
        QVERIFY(torch::equal(*sp.find("net.out.weight"), *tp.find("net.out.weight")));
        // A student of other width cannot start so.
        ZooNet narrow(transformer(2, 8, 2, 32), data);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, initFromTeacherLayers(*narrow, *teacher));

        // Student layers that are the teacher's mapped layers... a teacher of 2 layers and the
        // same student: every feature loss is 0.
        ZooNet twin(transformer(2, 16, 2, 32), data);
        initFromTeacherLayers(*twin, *student);
        twin->eval();
        FeatureOptions fo;
        FeatureDistiller fd(fo, student, twin->options());
        const auto ids = torch::cat({sample({2, 5, 7, 9}, 6), sample({2, 3, 4, 5, 6, 7}, 6)});
        TextFeatures tf;
        torch::NoGradGuard guard;
        twin->forwardText(ids, &tf);
        const auto terms = fd->loss(tf, ids);
        QVERIFY(terms.hidden.item<double>() < 1e-10);
        QVERIFY(terms.attention.item<double>() < 1e-6);
        // And a different student does not get 0 (the check is not vacuous); widths differ, so
        // the distiller learns a projection per student layer.
        TextFeatures nf;
        ZooNet other(transformer(2, 8, 2, 32), data);
        other->eval();
        other->forwardText(ids, &nf);
        FeatureDistiller projected(fo, student, other->options());
        QCOMPARE(projected->parameters().size(), size_t(4));  // two Linear(8, 16)
        const auto diff = projected->loss(nf, ids);
        QVERIFY(diff.hidden.item<double>() > 1e-3);
        QVERIFY(diff.attention.item<double>() > 1e-4);
    }

    void featureDistillationRun() {
        QTemporaryDir dir;
        const std::string file = test::writeSeparableTexts(dir, 60);
        Json j = test::textRunSpec("features", file);
        j.update(Json{
            {"teacher",
             {{"arch", "transformer"},
              {"layers", 2},
              {"d_model", 16},
              {"heads", 2},
              {"ffn", 32},
              {"train", {{"epochs", 3}, {"batch_size", 16}, {"lr", 0.003}}}}},
            {"student",
             {{"arch", "transformer"}, {"layers", 1}, {"d_model", 8}, {"heads", 2}, {"ffn", 16}}},
            {"distill", {{"lambda", 0.5}, {"features", {{"hidden", 1.0}, {"attention", 1.0}}}}},
            {"train", {{"epochs", 4}, {"batch_size", 16}, {"lr", 0.01}}}});
        QTemporaryDir pd;
        ProjectStore store(pd.filePath("p.retort").toStdString());
        const auto outcomes = test::runAll(store, j);
        QCOMPARE(outcomes.size(), size_t(1));
        QVERIFY2(outcomes[0].status == RunStatus::Completed, outcomes[0].error.c_str());
        std::map<int64_t, double> hidden, attention;
        for (const auto& m : store.metrics(1)) {
            if (m.name == "train_hidden_loss") hidden[m.epoch] = m.value;
            if (m.name == "train_attention_loss") attention[m.epoch] = m.value;
        }
        QCOMPARE(hidden.size(), size_t(4));
        QCOMPARE(attention.size(), size_t(4));
        // The terms are trained: lower after four epochs than in the first.
        QVERIFY(hidden[4] < hidden[1]);
        QVERIFY(attention[4] < attention[1]);
        // Cancelled after epoch 2 and resumed, the run ends where the uninterrupted one did:
        // the learned projections are checkpointed with the student and its optimizer.
        {
            QTemporaryDir rd;
            ProjectStore resumed(rd.filePath("r.retort").toStdString());
            std::atomic<bool> cancel{false};
            const auto first = test::runAll(resumed, j, nullptr, &cancel, [&](const Progress& p) {
                if (p.kind == Progress::Kind::Epoch && p.stage == "student" && p.epoch == 2)
                    cancel = true;
            });
            QCOMPARE(first[0].status, RunStatus::Cancelled);
            const RunOutcome o = Runner(resumed).resume(1);
            QVERIFY2(o.status == RunStatus::Completed, o.error.c_str());
            QCOMPARE(o.results["test_accuracy"], outcomes[0].results["test_accuracy"]);
            QVERIFY2(*resumed.artifact(1, "compressed") == *store.artifact(1, "compressed"),
                     "the resumed student differs from the uninterrupted one");
        }
        // A student with other heads cannot match the teacher's attention maps.
        std::vector<SpecIssue> issues;
        Json bad = j;
        bad["student"]["heads"] = 4;
        QVERIFY(test::hasIssue(checkRanges(ExperimentSpec::fromJson(bad, issues)),
                               "distill.features.attention", "heads"));
    }

    void textSpecErrorsNameTheKey() {
        std::vector<SpecIssue> issues;
        ExperimentSpec s = ExperimentSpec::fromJson(Json::parse(R"({"data": {"format": "wordnet"},
                            "student": {"arch": "mlp"},
                            "teacher": {"arch": "transformer", "d_model": 30, "heads": 4}})"),
                                                    issues);
        QVERIFY(issues.empty());
        const auto r = checkRanges(s);
        QVERIFY(test::hasIssue(r, "student.arch", "reads features, not text"));
        QVERIFY(test::hasIssue(r, "teacher.heads", "must divide teacher.d_model"));
        {
            // Read with its data, the same spec says it once (the model's description also
            // refused it: "teacher.arch: d_model 30 is not divisible by heads 4").
            QTemporaryDir dir;
            Json j = test::textRunSpec("heads", test::writeSeparableTexts(dir, 20));
            j["student"] = {{"arch", "transformer"}, {"d_model", 30}, {"heads", 4}};
            const auto all = test::specIssues(j);
            const auto said = std::count_if(all.begin(), all.end(), [](const SpecIssue& i) {
                return i.key.rfind("student.", 0) == 0;
            });
            QVERIFY2(said == 1, test::issuesText(all).c_str());
        }
        s = ExperimentSpec::fromJson(Json::parse(R"({"student": {"arch": "bilstm"},
                            "data": {"tokenizer": {"lowercase": 1}}})"),
                                     issues);
        QVERIFY(test::hasIssue(issues, "data.tokenizer.lowercase", "true or false"));
        QVERIFY(test::hasIssue(checkRanges(s), "student.arch", "reads text"));
    }
};

QTEST_APPLESS_MAIN(TestTextModels)
#include "tst_textmodels.moc"

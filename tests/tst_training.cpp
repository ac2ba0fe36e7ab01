// Training does what it claims: teacher outputs line up with their samples, lambda > 0 changes
// the student, test accuracy cannot come from memorized training labels, the optimizers and the
// cosine schedule do what they say, and the runner's compressed file holds the evaluated model.
#include "testutil.h"

#include "compress/pruner.h"
#include "models/compressedmodel.h"
#include "spec/specvalidator.h"
#include "store/projectstore.h"
#include "train/pipeline.h"
#include "train/pretraining.h"
#include "train/runner.h"
#include "train/stagesupport.h"
#include "train/trainloop.h"

#include <cmath>
#include <map>
#include <random>
#include <sstream>

using namespace retort;

namespace {

RunOutcome runOne(ProjectStore& store, const Json& j) {
    return test::runAll(store, j).front();
}

/// Writes train.csv and test.csv: @p classes Gaussian clusters in @p dims dimensions; the
/// training labels are a random permutation of the true ones when @p shuffleTrainLabels.
void writeClusters(const std::string& dir, bool shuffleTrainLabels) {
    const int classes = 4, dims = 8, perClassTrain = 150, perClassTest = 50;
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(0.0, 0.6);
    std::vector<std::vector<double>> centers(classes, std::vector<double>(dims));
    for (auto& c : centers)
        for (auto& v : c) v = noise(rng) * 3;
    auto rows = [&](int perClass, std::vector<int>& labels) {
        std::vector<std::vector<double>> out;
        for (int k = 0; k < classes; ++k)
            for (int i = 0; i < perClass; ++i) {
                std::vector<double> x(dims);
                for (int d = 0; d < dims; ++d) x[d] = centers[k][d] + noise(rng);
                out.push_back(x);
                labels.push_back(k);
            }
        return out;
    };
    std::vector<int> trainY, testY;
    const auto trainX = rows(perClassTrain, trainY), testX = rows(perClassTest, testY);
    if (shuffleTrainLabels) std::shuffle(trainY.begin(), trainY.end(), rng);
    auto write = [](const std::string& path, const std::vector<std::vector<double>>& x,
                    const std::vector<int>& y) {
        std::ostringstream os;
        for (size_t i = 0; i < x.size(); ++i) {
            os << y[i];
            for (double v : x[i]) os << ',' << v;
            os << '\n';
        }
        test::writeFile(path, os.str());
    };
    write(dir + "/train.csv", trainX, trainY);
    write(dir + "/test.csv", testX, testY);
}

}  // namespace

class TestTraining : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string file(const std::string& n) {
        return m_dir.filePath(QString::fromStdString(n)).toStdString();
    }

private Q_SLOTS:
    void softTargetsAloneTeachTheTask() {
        // lambda = 1: the student sees only the teacher's outputs. It can only learn the task if
        // each cached output is used with its own sample; a permutation of the two (batch
        // indices of the samples but not of the logits, say) leaves it near chance.
        ProjectStore store(file("soft.retort"));
        Json j = test::smallSyntheticSpec();
        j["distill"] = {{"temperature", 2.0}, {"lambda", 1.0}};
        j["train"]["epochs"] = 5;
        const RunOutcome o = runOne(store, j);
        QCOMPARE(o.status, RunStatus::Completed);
        QVERIFY2(o.results["teacher_test_accuracy"].get<double>() > 0.65, o.results.dump().c_str());
        QVERIFY2(o.results["test_accuracy"].get<double>() > 0.5, o.results.dump().c_str());
        QVERIFY2(o.results["test_accuracy"].get<double>() >
                     o.results["teacher_test_accuracy"].get<double>() - 0.15,
                 o.results.dump().c_str());
    }

    void lambdaChangesTheStudentAndTemperatureAloneDoesNot() {
        ProjectStore store(file("lambda.retort"));
        Json j = test::smallSyntheticSpec();
        auto studentOf = [&](double lambda, double temperature) {
            j["distill"] = {{"temperature", temperature}, {"lambda", lambda}};
            runOne(store, j);
            return *store.artifact(store.runs().back().id, "compressed");
        };
        const std::string labelsT2 = studentOf(0.0, 2.0), labelsT8 = studentOf(0.0, 8.0);
        const std::string distilled = studentOf(0.5, 2.0);
        // Without the soft loss the temperature cannot matter: the same bytes.
        QVERIFY(labelsT2 == labelsT8);
        // With it, the student differs (same seed, same data order).
        QVERIFY(labelsT2 != distilled);
    }

    void shuffledTrainingLabelsGiveChanceOnTest() {
        // Test accuracy is measured on the test file only: a model trained on labels that carry
        // no information cannot score above chance there, however well it fits them.
        for (const bool shuffled : {false, true}) {
            const std::string dir = file(shuffled ? "shuffled" : "true");
            QDir().mkpath(QString::fromStdString(dir));
            writeClusters(dir, shuffled);
            ProjectStore store(dir + "/p.retort");
            Json j = Json::parse(R"({"name": "labels", "seed": 3, "threads": 1, "device": "cpu",
                "student": {"arch": "mlp", "hidden": [32]}, "distill": {"lambda": 0},
                "train": {"epochs": 30, "batch_size": 50}})");
            j["data"] = {{"format", "csv"}, {"path", dir}};
            const RunOutcome o = runOne(store, j);
            QCOMPARE(o.status, RunStatus::Completed);
            const double acc = o.results["test_accuracy"].get<double>();
            if (shuffled)
                QVERIFY2(acc < 0.40, qPrintable(QString::number(acc)));  // chance: 0.25
            else
                QVERIFY2(acc > 0.90, qPrintable(QString::number(acc)));
        }
    }

    void optimizersAndCosineSchedule() {
        std::map<std::string, std::string> students;
        for (const char* optimizer : {"adam", "adamw", "sgd"}) {
            ProjectStore store(file(std::string("opt-") + optimizer + ".retort"));
            Json j = test::smallSyntheticSpec();
            j["train"]["optimizer"] = optimizer;
            j["train"]["lr"] = std::string(optimizer) == "sgd" ? 0.05 : 0.01;
            j["train"]["weight_decay"] = std::string(optimizer) == "adamw" ? 0.1 : 0.0;
            j["train"]["lr_schedule"] = "cosine";
            const RunOutcome o = runOne(store, j);
            QCOMPARE(o.status, RunStatus::Completed);
            QVERIFY2(o.results["test_accuracy"].get<double>() > 0.6, optimizer);
            students[optimizer] = *store.artifact(1, "student");
            // Cosine over 3 epochs, by hand: lr/2 (1 + cos(pi (e - 1) / 3)).
            const double lr = j["train"]["lr"].get<double>();
            const double expected[] = {lr, lr * 0.75, lr * 0.25};
            for (const auto& m : store.metrics(1))
                if (m.name == "lr")
                    QVERIFY2(std::abs(m.value - expected[m.epoch - 1]) < 1e-12, optimizer);
        }
        QVERIFY(students["adam"] != students["adamw"]);
        QVERIFY(students["adam"] != students["sgd"]);
    }

    void gradClipBoundsEachStep() {
        // train.grad_clip, added through the key registry: one SGD step with lr 1 moves the
        // weights by exactly the clipped gradient, so by at most the clip value; unclipped the
        // same step moves them much further (else this test could not fail).
        auto stepNorm = [&](double clip, const std::string& name) {
            ProjectStore store(file(name));
            Json j = test::smallSyntheticSpec();
            j.erase("teacher");
            j.erase("distill");
            j["train"] = {{"epochs", 1}, {"batch_size", 100000}, {"optimizer", "sgd"},
                          {"lr", 1.0},   {"momentum", 0.0},      {"grad_clip", clip}};
            const RunOutcome o = runOne(store, j);
            if (o.status != RunStatus::Completed) return -1.0;
            ModelOptions m;
            m.hidden = {16};
            torch::manual_seed(5);  // the spec's seed: the runner's initialization
            ZooNet init(m, std::vector<int64_t>{1, 6, 6}, 4),
                after(m, std::vector<int64_t>{1, 6, 6}, 4);
            loadModule(*after, *store.artifact(1, "student"));
            double sq = 0;
            for (size_t i = 0; i < init->parameters().size(); ++i)
                sq += (after->parameters()[i] - init->parameters()[i]).pow(2).sum().item<double>();
            return std::sqrt(sq);
        };
        const double clipped = stepNorm(0.01, "clip.retort"), free = stepNorm(0, "noclip.retort");
        QVERIFY2(clipped > 0 && clipped <= 0.01 * (1 + 1e-4), qPrintable(QString::number(clipped)));
        QVERIFY2(free > 0.1, qPrintable(QString::number(free)));
    }

    void etaCountsTheEpochsStillToCome() {
        // Before: a batch's ETA covered the rest of its own epoch only, so the status bar read
        // "epoch 1/3 … 0 s left" at the end of every epoch.
        ProjectStore store(file("eta.retort"));
        Json j = test::smallSyntheticSpec();
        j.erase("teacher");
        j["distill"] = {{"lambda", 0.0}};
        double lastOfFirstEpoch = -1, lastOfLastEpoch = -1, elapsedFirst = 0;
        int64_t epochs = 0;
        test::runAll(store, j, nullptr, nullptr, [&](const Progress& p) {
            if (p.kind != Progress::Kind::Batch || p.stage != "student" || p.batch != p.batches)
                return;
            epochs = p.epochs;
            if (p.epoch == 1) {
                lastOfFirstEpoch = p.eta_s;
                elapsedFirst = p.elapsed_s;
            }
            if (p.epoch == p.epochs) lastOfLastEpoch = p.eta_s;
        });
        QVERIFY(epochs >= 2);
        // After epoch 1 of E, about (E - 1) epochs' worth remain: the elapsed time is one epoch.
        QVERIFY2(lastOfFirstEpoch > 0.5 * elapsedFirst * double(epochs - 1),
                 qPrintable(QString::number(lastOfFirstEpoch)));
        QCOMPARE(lastOfLastEpoch, 0.0);
    }

    // The real training loop (not a test optimiser): a language model's epoch loss is the token
    // NLL, whatever the lengths of its batches; head-only training keeps the frozen encoder in
    // eval mode (its loss is the eval-mode loss) and bit-identical through gradient clipping.
    void trainingLoopWeighsTokensAndKeepsFrozenPartsFrozen() {
        torch::manual_seed(11);
        QTemporaryDir dir;
        ProjectStore store(dir.filePath("p.retort").toStdString());
        pipeline::StageServices services(store, nullptr, nullptr);
        ModelOptions mo = test::transformer(1, 16, 2, 32, 0.0);
        // Ragged texts: 24 short (3 tokens) and 24 long (20): batches of 4, bucketed by length.
        const int64_t n = 48, width = 20, vocab = 30;
        auto x = torch::randint(3, vocab, {n, width}, torch::kInt64);
        x.select(1, 0).fill_(Tokenizer::kCls);
        for (int64_t i = 0; i < n; i += 2) x[i].slice(0, 3).fill_(0);
        Dataset text;
        text.train_x = x;
        text.shape.sample_shape = {width};
        text.shape.vocab = vocab;
        const Dataset lm = languageModelData(text);
        ZooNet net(mo, lm.shape);
        torch::optim::SGD frozenRate(net->parameters(), torch::optim::SGDOptions(0.0));
        TrainOptions t;
        t.batch_size = 4;
        int64_t step = 0;
        const auto s =
            pipeline::trainEpoch(net, frozenRate, lm, torch::Tensor(), t, DistillOptions{}, nullptr,
                                 nullptr, 5, 1, step, 0, "student", services);
        net->eval();
        const auto nll = std::log(
            stagesupport::nextTokenScores([&](const torch::Tensor& in) { return net->forward(in); },
                                          lm.train_x, lm.train_y)
                .perplexity);
        QVERIFY2(std::abs(s.loss - nll) < 1e-4,
                 (std::to_string(s.loss) + " vs token NLL " + std::to_string(nll)).c_str());

        // Head-only: dropout 0.5 in the encoder would make the training loss noisy and higher.
        mo.dropout = 0.5;
        DataShape cls = text.shape;
        cls.classes = 3;
        Dataset c = text;
        c.shape = cls;
        c.train_y = torch::randint(0, 3, {n}, torch::kInt64);
        ZooNet probe(mo, cls);
        const auto before = probe->named_parameters().values();
        std::vector<torch::Tensor> copies;
        for (const auto& p : before) copies.push_back(p.detach().clone());
        t.finetune = Finetune::Head;
        t.grad_clip = 0.5;
        auto params = pipeline::finetuneParameters(probe, t);
        torch::optim::SGD none(params, torch::optim::SGDOptions(0.0));
        const auto h = pipeline::trainEpoch(probe, none, c, torch::Tensor(), t, DistillOptions{},
                                            nullptr, nullptr, 5, 1, step, 0, "student", services);
        probe->eval();
        double evalLoss = 0;
        {
            torch::NoGradGuard guard;
            evalLoss =
                torch::nn::functional::cross_entropy(probe->forward(x), c.train_y).item<double>();
        }
        QVERIFY2(std::abs(h.loss - evalLoss) < 1e-4,
                 (std::to_string(h.loss) + " vs eval " + std::to_string(evalLoss)).c_str());
        torch::optim::Adam moving(params, torch::optim::AdamOptions(0.05));
        pipeline::trainEpoch(probe, moving, c, torch::Tensor(), t, DistillOptions{}, nullptr,
                             nullptr, 6, 2, step, 0, "student", services);
        int moved = 0;
        for (size_t i = 0; i < before.size(); ++i) {
            const bool head = probe->named_parameters().keys()[i].find("out.") != std::string::npos;
            const bool same = torch::equal(before[i], copies[i]);
            if (head)
                moved += !same;
            else
                QVERIFY2(same, probe->named_parameters().keys()[i].c_str());
        }
        QCOMPARE(moved, 2);

        // BitFit under pruning, in the real loop: the pruner cuts the frozen weights (as the
        // spec's warning says) and the optimizer moves none of what it kept.
        ZooNet fit(mo, cls);
        std::map<std::string, torch::Tensor> frozenBefore;
        for (const auto& [name, w] : compressibleWeights(*fit))
            frozenBefore[name] = w.detach().clone();
        t.finetune = Finetune::Bitfit;
        auto fitParams = pipeline::finetuneParameters(fit, t);
        PruneOptions po;
        po.schedule = PruneSchedule::OneShot;
        po.sparsity = 0.5;
        po.begin_epoch = po.end_epoch = 1;
        auto weights = compressibleWeights(*fit);
        Pruner pruner(po, 1, weights, (n + t.batch_size - 1) / t.batch_size);
        torch::optim::Adam fitOpt(fitParams, torch::optim::AdamOptions(0.05).weight_decay(0.1));
        int64_t fitStep = 0;
        pipeline::trainEpoch(fit, fitOpt, c, torch::Tensor(), t, DistillOptions{}, &pruner, nullptr,
                             7, 1, fitStep, 0, "student", services);
        int64_t cut = 0, all = 0;
        for (const auto& [name, w] : compressibleWeights(*fit)) {
            if (name.find("out.") != std::string::npos) continue;  // the classifier trains
            const auto& old = frozenBefore.at(name);
            QVERIFY2(torch::equal(torch::where(w.eq(0), torch::zeros_like(w), old), w),
                     name.c_str());
            cut += w.eq(0).sum().item<int64_t>();
            all += w.numel();
        }
        QVERIFY2(std::abs(double(cut) / double(all) - 0.5) < 0.02, std::to_string(cut).c_str());

        // QAT in the real loop at learning rate 0: the forward sees quantized weights, and the
        // float weights come back bit for bit after every step.
        ZooNet q(mo, cls);
        std::map<std::string, torch::Tensor> floats;
        for (const auto& p : q->named_parameters()) floats[p.key()] = p.value().detach().clone();
        t.finetune = Finetune::Full;
        WeightFakeQuantizer qat(compressibleWeights(*q), 4, true, 0);
        torch::optim::SGD still(q->parameters(), torch::optim::SGDOptions(0.0));
        const auto qs =
            pipeline::trainEpoch(q, still, c, torch::Tensor(), t, DistillOptions{}, nullptr,
                                 nullptr, 8, 1, fitStep, 0, "student", services, &qat);
        QVERIFY(std::isfinite(qs.loss));
        for (const auto& p : q->named_parameters())
            QVERIFY2(torch::equal(p.value(), floats.at(p.key())), p.key().c_str());
    }

    void compressedFileHoldsTheEvaluatedModel() {
        // The runner's own assembly: quantized weights as 8-bit codes with per-channel scales,
        // biases fp32, names of the model's parameters, and outputs equal to the stored
        // (dequantized) student's.
        ProjectStore store(file("assembly.retort"));
        Json j = test::smallSyntheticSpec();
        j["prune"] = {{"sparsity", 0.5}};
        j["quantize"] = {{"bits", 8}};
        const RunOutcome o = runOne(store, j);
        QCOMPARE(o.status, RunStatus::Completed);
        const std::string bytes = *store.artifact(1, "compressed");
        const CompressedModel cm = readCompressedModel(bytes);
        std::map<std::string, const CompressedTensor*> byName;
        for (const auto& t : cm.tensors) byName[t.name] = &t;
        ZooNet student = buildFromDescription(o.results["model"]);
        loadModule(*student, *store.artifact(1, "student"));
        QCOMPARE(byName.size(), student->named_parameters().size());
        for (const auto& p : student->named_parameters()) {
            QVERIFY2(byName.count(p.key()), p.key().c_str());
            const CompressedTensor& t = *byName[p.key()];
            const bool weight = p.value().dim() == 2;
            QCOMPARE(t.bits, weight ? 8 : 32);
            if (weight) QCOMPARE(t.scales.numel(), p.value().size(0));
            QVERIFY2(torch::equal(t.dequantized(), p.value()), p.key().c_str());
        }
        ZooNet back = loadCompressedModel(bytes);
        const auto x = torch::randn({16, 1, 6, 6});
        torch::NoGradGuard guard;
        student->eval();
        QVERIFY(torch::allclose(back->forward(x), student->forward(x), 1e-6, 1e-6));
    }
};

QTEST_APPLESS_MAIN(TestTraining)
#include "tst_training.moc"

// Causal language models (task language_model): the decoder's mask hides the future, the top-k
// teacher targets give the full-softmax divergences when k covers the vocabulary and never more
// when it does not, next-token data and scores are what they claim, generation stops and is
// seeded, the validator names what language models do not take yet, the calibration walk
// (wanda, sparsegpt, gptq) is a decoder's forward pass, and runs (label-only, distilled,
// pruned + int8, calibrated) end with perplexities, next-token accuracies and generated text.
#include "testutil.h"

#include "compress/calibration.h"
#include "compress/distillation.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "models/compressedmodel.h"
#include "models/modelgraph.h"
#include "train/generation.h"
#include "train/pipeline.h"
#include "train/stagesupport.h"
#include "train/trainloop.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

using namespace retort;

namespace {

constexpr int64_t kVocab = 40, kTokens = 20;

ModelOptions decoder() {
    return test::transformer(2, 16, 2, 32, 0.0);
}

DataShape lmShape(bool languageModel = true) {
    DataShape s;
    s.sample_shape = {kTokens};
    s.classes = languageModel ? kVocab : 3;
    s.vocab = kVocab;
    s.mean_tokens = 10;
    s.language_model = languageModel;
    return s;
}

/// Token ids [batch, kTokens] of real tokens only, [CLS] first.
torch::Tensor ids(int64_t batch) {
    auto x = torch::randint(3, kVocab, {batch, kTokens}, torch::kInt64);
    x.select(1, 0).fill_(Tokenizer::kCls);
    return x;
}

/// The full-softmax divergences the collapsed ones must equal at k = V.
torch::Tensor fullDivergence(const torch::Tensor& s, const torch::Tensor& t, double temp,
                             Divergence d) {
    const auto logP = torch::log_softmax(s / temp, 1), logQ = torch::log_softmax(t / temp, 1);
    auto kl = [](const torch::Tensor& la, const torch::Tensor& lb) {
        return (la.exp() * (la - lb)).sum(1);
    };
    if (d == Divergence::ForwardKl) return kl(logQ, logP);
    if (d == Divergence::ReverseKl) return kl(logP, logQ);
    const auto logM = torch::logaddexp(logQ, logP) - std::log(2.0);
    return 0.5 * kl(logQ, logM) + 0.5 * kl(logP, logM);
}

Json lmSpec(const std::string& file) {
    Json j = test::textRunSpec("lm", file);
    j["task"] = "language_model";
    j["data"]["tokenizer"]["max_length"] = 12;
    j["teacher"] = {{"arch", "transformer"},
                    {"layers", 2},
                    {"d_model", 32},
                    {"heads", 2},
                    {"ffn", 64},
                    {"dropout", 0.0},
                    {"train", {{"epochs", 12}, {"batch_size", 16}, {"lr", 3e-3}}}};
    j["student"] = {
        {"arch", "transformer"}, {"layers", 1}, {"d_model", 16}, {"heads", 2}, {"ffn", 32},
        {"dropout", 0.0}};
    j["distill"] = {{"lambda", 0.5}, {"temperature", 2.0}, {"top_k", 8}};
    j["train"] = {{"epochs", 10}, {"batch_size", 16}, {"lr", 3e-3}};
    return j;
}

}  // namespace

class TestLanguageModel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(1); }

    // Changing a token never changes a logit before it; it does change the logits from it on
    // (so the probe is not vacuous), and a classifier's encoder (no mask) lets it leak back.
    void causalMaskHidesTheFuture() {
        torch::manual_seed(1);
        ZooNet lm(decoder(), lmShape());
        lm->eval();
        torch::NoGradGuard guard;
        const auto x = ids(4);
        const auto before = lm->forward(x);
        QCOMPARE(before.sizes().vec(), (std::vector<int64_t>{4, kTokens, kVocab}));
        for (int64_t t : {int64_t(1), int64_t(7), kTokens - 1}) {
            auto y = x.clone();
            y.select(1, t).copy_((x.select(1, t) - 3 + 1) % (kVocab - 3) + 3);
            const auto after = lm->forward(y);
            const double past =
                (after.slice(1, 0, t) - before.slice(1, 0, t)).abs().max().item<double>();
            const double here =
                (after.select(1, t) - before.select(1, t)).abs().max().item<double>();
            QVERIFY2(past == 0.0, qPrintable(QString("position %1 leaked %2").arg(t).arg(past)));
            QVERIFY(here > 1e-4);
        }
        // The same weights without the mask: the future reaches position 0.
        ZooNet encoder(decoder(), lmShape(false));
        encoder->eval();
        const auto h0 = encoder->tokenStates(x), h1 = [&] {
            auto y = x.clone();
            y.select(1, kTokens - 1).fill_(5);
            return encoder->tokenStates(y);
        }();
        QVERIFY((h0.select(1, 0) - h1.select(1, 0)).abs().max().item<double>() > 1e-6);
    }

    // A tied output is the token table: no vocab × d matrix of its own (the counted parameters
    // say so), logits = states · tableᵀ + bias, and the output's gradient reaches the table.
    void tiedOutputIsTheTokenTable() {
        torch::manual_seed(3);
        ModelOptions tiedOptions = decoder();
        tiedOptions.tie_embeddings = true;
        ZooNet untied(decoder(), lmShape()), tied(tiedOptions, lmShape());
        const int64_t d = decoder().d_model;
        auto count = [](ZooNet& n) {
            int64_t c = 0;
            for (const auto& p : n->parameters()) c += p.numel();
            return c;
        };
        QCOMPARE(count(untied) - count(tied), kVocab * d);
        QCOMPARE(tied->summary().param_count, count(tied));
        QCOMPARE(untied->summary().param_count, count(untied));
        for (const auto& p : tied->named_parameters()) QVERIFY(p.key() != "net.out.weight");
        tied->eval();
        const auto x = ids(3);
        const auto logits = tied->forward(x);
        const auto manual = torch::matmul(tied->tokenStates(x), tied->tokenTable().t()) +
                            tied->named_parameters()["net.out.bias"];
        QVERIFY(torch::allclose(logits, manual, 1e-5, 1e-6));
        // The loss through the output alone moves the table: zero the states' path by
        // checking the gradient of a table row no input reads.
        tied->zero_grad();
        auto unread = x.clone();
        unread.masked_fill_(unread.eq(kVocab - 1), 3);
        tied->forward(unread).select(2, kVocab - 1).sum().backward();
        QVERIFY(tied->tokenTable().grad()[kVocab - 1].abs().sum().item<double>() > 0);
        // The graph names the tie, so exports and the checkpoint rebuild it.
        const ModelGraph g = modelGraph(*tied);
        QCOMPARE(g.nodes.back().attrs.value("tied", std::string()), std::string("tok"));
        QCOMPARE(g.nodes.back().params.size(), size_t(1));  // the bias
        // A classifier refuses it, naming the key.
        QTemporaryDir dir;
        Json cls = lmSpec(test::writeSeparableTexts(dir, 5));
        cls.erase("task");
        cls["distill"] = {{"lambda", 0.5}};
        cls["student"]["tie_embeddings"] = true;
        QVERIFY(test::hasIssue(test::specIssues(cls), "student.tie_embeddings", "language_model"));
    }

    // The teacher's rows a training batch reads are its own positions': for a length-bucketed
    // batch of samples of many lengths, the rows teacherTokenRows picks from the stored targets
    // are exactly the top-k of the teacher run on that batch.
    void teacherRowsLineUpWithBucketedBatches() {
        torch::manual_seed(9);
        Dataset text;
        const int64_t n = 150;
        text.train_x = torch::zeros({n, kTokens}, torch::kInt64);
        for (int64_t i = 0; i < n; ++i) {
            const int64_t len = 2 + (i * 7) % (kTokens - 3);  // 2 .. kTokens - 2 tokens
            text.train_x[i].slice(0, 0, len).copy_(ids(1)[0].slice(0, 0, len));
        }
        text.shape = lmShape(false);
        const Dataset d = languageModelData(text);
        ZooNet teacher(decoder(), d.shape);
        teacher->eval();
        const stagesupport::Forward fwd = [&](const torch::Tensor& x) {
            return teacher->forward(x);
        };
        const pipeline::TeacherTokenTargets targets = pipeline::teacherTokenTargets(fwd, d, 2.0, 5);
        auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
        const auto batches = pipeline::batchOrder(d, 16, gen);
        int checked = 0;
        torch::NoGradGuard guard;
        for (size_t b = 0; b < batches.size(); b += 3) {
            const auto& idx = batches[b];
            const auto x = trimPadding(d.train_x.index_select(0, idx));
            const auto mask = d.train_y.index_select(0, idx).slice(1, 0, x.size(1)).ne(0);
            const auto lengths = mask.sum(1);
            QVERIFY(lengths.max().item<int64_t>() > lengths.min().item<int64_t>() ||
                    idx.size(0) == 1);
            const TopKTargets direct = topKTargets(teacher->forward(x).index({mask}), 2.0, 5);
            const TopKTargets read =
                targets.topk.select(pipeline::teacherTokenRows(targets, idx, mask), torch::kCPU);
            QVERIFY(torch::equal(read.index, direct.index));
            QVERIFY(torch::allclose(read.logProbs, direct.logProbs, 1e-5, 1e-6));
            QVERIFY(torch::allclose(read.logTail, direct.logTail, 1e-5, 1e-6));
            ++checked;
        }
        QVERIFY(checked >= 3);
    }

    // With k = V the collapsed divergences are the full-softmax ones; with k < V forward KL
    // never exceeds the full one and equals it when the student's tail has the teacher's shape;
    // the stored tail is the probability the k tokens leave.
    void topKTargetsAgainstFullSoftmax() {
        torch::manual_seed(2);
        const int64_t n = 64, v = 12;
        const auto t = torch::randn({n, v}) * 3, s = torch::randn({n, v}) * 3;
        for (const double temp : {1.0, 2.5})
            for (const Divergence d :
                 {Divergence::ForwardKl, Divergence::ReverseKl, Divergence::Jsd}) {
                const auto full = fullDivergence(s, t, temp, d);
                const auto exact = collapsedDivergence(s, topKTargets(t, temp, v), temp, d);
                QVERIFY2(torch::allclose(exact, full, 1e-5, 1e-6),
                         qPrintable(QString("%1 at T %2").arg(choiceName(d)).arg(temp)));
                const auto part = collapsedDivergence(s, topKTargets(t, temp, 4), temp, d);
                QVERIFY(part.le(full + 1e-6).all().item<bool>());
                QVERIFY(part.ge(-1e-6).all().item<bool>());
            }
        const TopKTargets k4 = topKTargets(t, 1.0, 4);
        QCOMPARE(k4.index.scalar_type(), torch::kInt32);
        QVERIFY(torch::allclose(k4.logTail.exp(), 1 - k4.logProbs.exp().sum(1), 1e-5, 1e-6));
        // The student's tail shaped like the teacher's (its logits there shifted by a constant):
        // nothing is lost by collapsing it.
        auto shaped = t.clone();
        const auto top = k4.index.to(torch::kInt64);
        shaped += 0.7;
        shaped.scatter_(1, top, torch::randn({n, 4}) * 3);
        const auto full = fullDivergence(shaped, t, 1.0, Divergence::ForwardKl);
        const auto part = collapsedDivergence(shaped, k4, 1.0, Divergence::ForwardKl);
        QVERIFY(torch::allclose(part, full, 1e-5, 1e-6));
        // k = V leaves an empty tail: the loss and its gradient stay finite.
        auto logits = s.clone().requires_grad_(true);
        const auto targets = torch::randint(0, v, {n}, torch::kInt64);
        const TopKTargets all = topKTargets(t, 2.0, v);
        for (const Divergence d : {Divergence::ForwardKl, Divergence::ReverseKl, Divergence::Jsd}) {
            logits.mutable_grad() = torch::Tensor();
            const DistillLoss l = tokenDistillLoss(logits, &all, targets, 2.0, 0.5, d);
            l.total.backward();
            QVERIFY(std::isfinite(l.total.item<double>()));
            QVERIFY(torch::isfinite(logits.grad()).all().item<bool>());
            QVERIFY(l.soft.item<double>() > 0);
        }
        // The soft term is scaled by T², so its gradient keeps the hard term's scale (Hinton):
        // forward KL at k = V, λ 1: ∂/∂s = T · (softmax(s/T) − softmax(t/T)) / n.
        for (const double temp : {1.0, 2.0, 4.0}) {
            logits.mutable_grad() = torch::Tensor();
            const TopKTargets every = topKTargets(t, temp, v);
            tokenDistillLoss(logits, &every, targets, temp, 1.0, Divergence::ForwardKl)
                .total.backward();
            const auto expected =
                temp * (torch::softmax(s / temp, 1) - torch::softmax(t / temp, 1)) / double(n);
            QVERIFY2(torch::allclose(logits.grad(), expected, 1e-4, 1e-7),
                     qPrintable(QString("T %1").arg(temp)));
        }
    }

    // The end mark after each sample that was not cut, targets shifted by one, classes the
    // vocabulary, a fingerprint of its own.
    void nextTokenData() {
        Dataset text;
        text.train_x =
            torch::tensor({2, 5, 6, 0, 0, 0, 2, 7, 0, 0, 0, 0, 2, 3, 4, 5, 6, 7}, torch::kInt64)
                .view({3, 6});
        text.train_y = torch::tensor({0, 1, 0}, torch::kInt64);
        text.val_x = torch::zeros({0, 6}, torch::kInt64);
        text.val_y = torch::zeros({0}, torch::kInt64);
        text.test_x = text.train_x.slice(0, 0, 1).clone();
        text.test_y = text.train_y.slice(0, 0, 1).clone();
        text.shape = {{6}, 2, 9, 3.0};
        text.fingerprint = "abc";
        const Dataset lm = languageModelData(text);
        const auto want =
            torch::tensor({2, 5, 6, 2, 0, 0, 2, 7, 2, 0, 0, 0, 2, 3, 4, 5, 6, 7}, torch::kInt64)
                .view({3, 6});
        const auto next =
            torch::tensor({5, 6, 2, 0, 0, 0, 7, 2, 0, 0, 0, 0, 3, 4, 5, 6, 7, 0}, torch::kInt64)
                .view({3, 6});
        QVERIFY(torch::equal(lm.train_x, want));
        QVERIFY(torch::equal(lm.train_y, next));
        QVERIFY(torch::equal(lm.test_x, want.slice(0, 0, 1)));
        QCOMPARE(lm.val_x.size(0), int64_t(0));
        QVERIFY(lm.shape.language_model);
        QCOMPARE(lm.shape.classes, int64_t(9));
        QVERIFY(lm.fingerprint != text.fingerprint);
        Dataset image = text;
        image.shape.vocab = 0;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, languageModelData(image));
    }

    // Uniform logits score perplexity V exactly; logits that put the next token first score
    // accuracy 1 and perplexity near 1; positions without a target do not count.
    void nextTokenScoresAreExact() {
        const auto x = torch::tensor({2, 5, 6, 2, 0, 2, 7, 2, 0, 0}, torch::kInt64).view({2, 5});
        const auto y = torch::tensor({5, 6, 2, 0, 0, 7, 2, 0, 0, 0}, torch::kInt64).view({2, 5});
        const stagesupport::Forward uniform = [](const torch::Tensor& in) {
            return torch::zeros({in.size(0), in.size(1), 9});
        };
        const auto u = stagesupport::nextTokenScores(uniform, x, y, 1);
        QCOMPARE(u.tokens, int64_t(5));
        QVERIFY(std::abs(u.perplexity - 9.0) < 1e-4);
        const auto yy = y;
        auto row = std::make_shared<int64_t>(0);
        const stagesupport::Forward oracle = [yy, row](const torch::Tensor& in) {
            // Knows each sample's next tokens (one sample a batch, in order, below).
            auto out = torch::zeros({in.size(0), in.size(1), 9});
            const auto target = yy[(*row)++].slice(0, 0, in.size(1));
            for (int64_t t = 0; t < in.size(1); ++t) out[0][t][target[t].item<int64_t>()] = 30.0;
            return out;
        };
        const auto o = stagesupport::nextTokenScores(oracle, x, y, 1);
        QCOMPARE(o.accuracy, 1.0);
        QVERIFY(o.perplexity < 1.0 + 1e-6);
        QCOMPARE(stagesupport::accuracy(uniform, x, y), 0.0);  // argmax 0: never a target
    }

    // Greedy is deterministic, sampling is seeded, generation runs past the context through a
    // sliding window and says why it stopped; a classifier and an empty prompt are refused.
    void generationIsBoundedAndSeeded() {
        torch::manual_seed(4);
        ZooNet lm(decoder(), lmShape());
        const std::vector<int64_t> prompt = {2, 5, 9};
        GenerationOptions o;
        o.max_new_tokens = 100;
        GenerationStop stop;
        const auto greedy = generate(lm, prompt, o, &stop);
        QCOMPARE(generate(lm, prompt, o), greedy);
        QVERIFY(int64_t(greedy.size()) <= 100);
        QCOMPARE(stop.tokens, int64_t(greedy.size()));
        QVERIFY(stop.end_mark || stop.tokens == 100);
        for (int64_t id : greedy) QVERIFY(id != Tokenizer::kCls && id >= 0 && id < kVocab);
        o.top_k = 5;
        o.seed = 9;
        o.max_new_tokens = 6;
        const auto sampled = generate(lm, prompt, o);
        QVERIFY(sampled.size() <= 6);
        QCOMPARE(generate(lm, prompt, o), sampled);
        // A model that most wants padding or the unknown piece never gets them: neither is
        // text (the decoded text would drop them).
        {
            torch::NoGradGuard guard;
            auto params = lm->named_parameters();
            QVERIFY(params.contains("net.out.bias"));
            params["net.out.bias"].slice(0, 0, 2).fill_(100.0);
        }
        for (int64_t k : {0, 3}) {
            GenerationOptions g;
            g.max_new_tokens = 8;
            g.top_k = k;
            const auto text = generate(lm, prompt, g);
            QVERIFY(!text.empty());
            for (int64_t id : text)
                QVERIFY2(id != Tokenizer::kPad && id != Tokenizer::kUnknown,
                         std::to_string(id).c_str());
        }
        // A model that never ends its text: generation runs to the tokens asked for, past its
        // context (it stopped silently at the context's end: kTokens − 3 tokens here), the
        // window sliding on with [CLS] first; an overlong prompt is read through the window.
        {
            torch::NoGradGuard guard;
            lm->named_parameters()["net.out.bias"][Tokenizer::kCls].fill_(-100.0);
        }
        GenerationOptions many;
        many.max_new_tokens = 3 * kTokens;
        GenerationStop slid;
        QCOMPARE(int64_t(generate(lm, prompt, many, &slid).size()), 3 * kTokens);
        QVERIFY(!slid.end_mark);
        QCOMPARE(slid.slid_after, kTokens - 3);
        QVERIFY2(slid.text().find("context was full after 17") != std::string::npos,
                 slid.text().c_str());
        std::vector<int64_t> longPrompt(kTokens + 5, 3);
        longPrompt[0] = Tokenizer::kCls;
        many.max_new_tokens = 4;
        QCOMPARE(generate(lm, longPrompt, many, &slid).size(), size_t(4));
        QCOMPARE(slid.slid_after, int64_t(0));
        ZooNet classifier(decoder(), lmShape(false));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, generate(classifier, prompt, o));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, generate(lm, {}, o));
        const std::vector<std::string> vocab = {"<pad>",
                                                "<unk>",
                                                "<s>",
                                                "\xE2\x96\x81"
                                                "the",
                                                "\xE2\x96\x81"
                                                "cat",
                                                "s",
                                                "\xE2\x96\x81"
                                                "sat"};
        QCOMPARE(Tokenizer::decode({2, 3, 4, 5, 1, 6, 0}, vocab), std::string("the cats sat"));
        QCOMPARE(firstWords("  a  quick brown fox", 3), std::string("a quick brown"));
    }

    void validatorNamesWhatLanguageModelsLack() {
        QTemporaryDir dir;
        // 60 texts: 15 would leave none for the test split (refused at load).
        const std::string file = test::writeSeparableTexts(dir, 20);
        const Json base = lmSpec(file);
        const auto clean = test::specIssues(base);
        QVERIFY2(clean.empty(),
                 clean.empty() ? "" : (clean.front().key + ": " + clean.front().message).c_str());
        auto issues = [&](const std::function<void(Json&)>& edit) {
            Json j = base;
            edit(j);
            return test::specIssues(j);
        };
        QVERIFY(test::hasIssue(issues([](Json& j) {
                                   j["data"] = {{"format", "synthetic"}};
                                   j.erase("teacher");
                                   j["student"] = {{"arch", "mlp"}};
                                   j["distill"] = {{"lambda", 0}};
                               }),
                               "task", "text data"));
        QVERIFY(test::hasIssue(issues([](Json& j) { j["student"]["arch"] = "bilstm"; }),
                               "student.arch", "causal transformer"));
        QVERIFY(test::hasIssue(issues([](Json& j) { j["teacher"]["arch"] = "embedding_bag"; }),
                               "teacher.arch", "causal transformer"));
        QVERIFY(
            test::hasIssue(issues([](Json& j) { j["distill"]["top_k"] = 0; }), "distill.top_k"));
        QVERIFY(test::hasIssue(issues([](Json& j) { j["distill"]["divergence"] = "kl"; }),
                               "distill.divergence"));
        // Calibrated methods walk decoders; removing heads or units is not there yet.
        for (const char* method : {"wanda", "sparsegpt"})
            QVERIFY(issues([&](Json& j) { j["prune"] = {{"method", method}}; }).empty());
        QVERIFY(issues([](Json& j) { j["quantize"] = {{"mode", "gptq"}}; }).empty());
        QVERIFY(test::hasIssue(issues([](Json& j) {
                                   j["prune"] = {{"structure", "heads"}, {"method", "magnitude"}};
                               }),
                               "prune.structure", "unstructured or n:m"));
        QVERIFY(test::hasIssue(issues([](Json& j) { j["distill"]["features"] = Json::object(); }),
                               "distill.features"));
        // A decoder pretrains on next tokens: it has no masking to set.
        QVERIFY(issues([](Json& j) { j["student"]["pretrain"] = Json::object(); }).empty());
        QVERIFY(test::hasIssue(issues([](Json& j) {
                                   j["student"]["pretrain"] = {{"mask_fraction", 0.3}};
                               }),
                               "student.pretrain.mask_fraction", "next tokens"));
        // A classifier refuses the language-model divergences; its spec writes none of the keys.
        Json cls = base;
        cls.erase("task");
        cls["distill"] = {{"lambda", 0.5}, {"divergence", "jsd"}};
        QVERIFY(test::hasIssue(test::specIssues(cls), "distill.divergence", "language_model"));
        std::vector<SpecIssue> ignored;
        const Json written = ExperimentSpec::fromJson(test::smallSyntheticSpec(), ignored).toJson();
        QVERIFY(!written.contains("task"));
        QVERIFY(!written["distill"].contains("divergence"));
        QVERIFY(!written["distill"].contains("top_k"));
        Json lmWritten = ExperimentSpec::fromJson(base, ignored).toJson();
        QCOMPARE(lmWritten["task"].get<std::string>(), std::string("language_model"));
        QCOMPARE(lmWritten["distill"]["top_k"].get<int64_t>(), int64_t(8));
    }

    // A language model on the researcher's own corpus needs no labels: a .txt of one document per
    // line, a TSV or JSON Lines file of texts alone, and a TSV whose label is one constant all
    // validate, and all give the labelled file's data token for token, fingerprint included
    // (labels never reach next-token data). A classifier still refuses each, in words that
    // name the way out. Before: "no label column 'label'", "one class only", and for .txt
    // "cannot tell the format" naming a key no spec has.
    void ownCorpusWithoutLabels() {
        QTemporaryDir dir;
        const std::string labelled = test::writeSeparableTexts(dir, 20);
        std::ifstream in(labelled);
        std::string line, txt, tsv = "id\ttext\n", constant = "text\tlabel\n", jsonl;
        std::getline(in, line);  // the header
        for (int n = 0; std::getline(in, line); ++n) {
            const std::string text = line.substr(0, line.find('\t'));
            txt += text + (n % 7 == 3 ? "\r\n\n" : "\n");  // CRLF and blank lines
            tsv += std::to_string(n) + "\t" + text + "\n";
            constant += text + "\tsame\n";
            jsonl += Json{{"text", text}, {"source", "mine"}}.dump() + "\n";
        }
        const std::map<std::string, std::string> files = {{"corpus.txt", txt},
                                                          {"texts-only.tsv", tsv},
                                                          {"constant.tsv", constant},
                                                          {"texts-only.jsonl", jsonl}};
        Json base = lmSpec(labelled);
        auto options = [](const Json& j) {
            std::vector<SpecIssue> ignored;
            return ExperimentSpec::fromJson(j, ignored).data;
        };
        auto data = [&](const Json& j) {
            return loadDataset(options(j), nullptr, Task::LanguageModel);
        };
        const Dataset reference = data(base);
        for (const auto& [name, bytes] : files) {
            const std::string path = dir.filePath(QString::fromStdString(name)).toStdString();
            test::writeFile(path, bytes);
            Json j = base;
            j["data"]["path"] = path;
            const auto issues = test::specIssues(j);
            QVERIFY2(issues.empty(), (name + ": " + test::issuesText(issues)).c_str());
            const Dataset d = data(j);
            QVERIFY2(d.fingerprint == reference.fingerprint, name.c_str());
            QVERIFY(torch::equal(d.train_x, reference.train_x));
            QVERIFY(torch::equal(d.test_x, reference.test_x));
            QCOMPARE(d.shape.classes, int64_t(0));  // no labels: next-token data gives them
            QVERIFY(d.label_names.empty());
            const Dataset lm = languageModelData(d);
            QCOMPARE(lm.shape.classes, lm.shape.vocab);
            // The same file for a classifier: refused, saying why.
            Json cls = j;
            cls.erase("task");
            const auto refused = test::specIssues(cls);
            const char* why = name == "corpus.txt"       ? "a classifier needs a .tsv, .csv"
                              : name == "constant.tsv"   ? "one class only"
                              : name == "texts-only.tsv" ? "has no label column 'label'"
                                                         : "has no label key 'label'";
            QVERIFY2(test::hasIssue(refused, "data.path", why),
                     (name + ": " + test::issuesText(refused)).c_str());
        }
        // An extension that names no layout says which ones do.
        const std::string odd = dir.filePath("corpus.text").toStdString();
        test::writeFile(odd, txt);
        base["data"]["path"] = odd;
        QVERIFY2(test::hasIssue(test::specIssues(base), "data.path", ".txt (one document per line"),
                 test::issuesText(test::specIssues(base)).c_str());
        // data.stream: the lines in order are one stream of tokens in max_length windows, no
        // token lost (a line longer than a window too), the last tenth of the lines test.
        {
            std::string lines;
            std::vector<std::string> texts;
            std::istringstream all(txt);
            while (std::getline(all, line))
                if (!line.empty() && line != "\r") texts.push_back(line.substr(0, line.find('\r')));
            texts[5] = texts[5] + " " + texts[6] + " " + texts[7] + " " + texts[8];  // > 12 pieces
            for (const auto& t : texts) lines += t + "\n";
            const std::string path = dir.filePath("stream.txt").toStdString();
            test::writeFile(path, lines);
            Json j = lmSpec(path);
            j["data"]["stream"] = true;
            const auto issues = test::specIssues(j);
            QVERIFY2(issues.empty(), test::issuesText(issues).c_str());
            const Dataset d = data(j);
            const int64_t width = 12;
            QCOMPARE(d.train_x.size(1), width);
            const size_t n = texts.size(), tested = n / 10,
                         validated = size_t(double(n - tested) * 0.1);
            QCOMPARE(d.test_texts,
                     std::vector<std::string>(texts.end() - long(tested), texts.end()));
            const Tokenizer tok = Tokenizer::fromModel(d.tokenizer_model, options(j).tokenizer);
            auto stream = [&](size_t from, size_t to) {  // the lines' ids one after another
                std::vector<int64_t> out;
                const std::vector<std::string> some(texts.begin() + long(from),
                                                    texts.begin() + long(to));
                for (const auto& ids : tok.encode(some, false))
                    out.insert(out.end(), ids.begin(), ids.end());
                return out;
            };
            auto tokens = [&](size_t from, size_t to) { return int64_t(stream(from, to).size()); };
            const int64_t trainTokens = tokens(0, n - tested - validated);
            QVERIFY(tokens(5, 6) > width);  // the long line would have been cut
            QCOMPARE(d.train_x.ne(0).sum().item<int64_t>(), trainTokens);
            QCOMPARE(d.train_x.size(0), (trainTokens + width - 1) / width);
            QCOMPARE(d.val_x.ne(0).sum().item<int64_t>(),
                     tokens(n - tested - validated, n - tested));
            QCOMPARE(d.test_x.ne(0).sum().item<int64_t>(), tokens(n - tested, n));
            // Windows follow each other: each row starts where the one before stopped.
            const auto flat = d.train_x.reshape({-1}).slice(0, 0, trainTokens).contiguous();
            QCOMPARE(std::vector<int64_t>(flat.data_ptr<int64_t>(),
                                          flat.data_ptr<int64_t>() + trainTokens),
                     stream(0, n - tested - validated));
            const Dataset lm = languageModelData(d);
            QVERIFY(torch::equal(lm.train_y.slice(1, 0, width - 1), lm.train_x.slice(1, 1, width)));
            // A different stream from the lines as samples; a classifier refuses it.
            QVERIFY(d.fingerprint != data(lmSpec(path)).fingerprint);
            Json cls = j;
            cls.erase("task");
            QVERIFY(test::hasIssue(test::specIssues(cls), "data.stream", "task to language_model"));
        }
        // And a run on the .txt: trained, scored and stored like any language model.
        // It asks for more pieces than the corpus has (SentencePiece stops short).
        ProjectStore store(dir.filePath("own.retort").toStdString());
        Json run = lmSpec(dir.filePath("corpus.txt").toStdString());
        run.erase("teacher");
        run["distill"] = {{"lambda", 0}};
        run["train"]["epochs"] = 2;
        run["data"]["tokenizer"]["vocab_size"] = 5000;
        const auto outcomes = test::runAll(store, run);
        QCOMPARE(outcomes.size(), size_t(1));
        QVERIFY2(outcomes[0].status == RunStatus::Completed, outcomes[0].error.c_str());
        const RunRecord first = store.runs().front();
        const Json res = first.results;
        const int64_t pieces = res["vocab_size"].get<int64_t>();
        QVERIFY2(res["test_perplexity"].get<double>() > 1 &&
                     res["test_perplexity"].get<double>() < double(pieces),
                 res.dump().c_str());
        QVERIFY(pieces < 5000);
        // Once the project holds the tokenizer, the validator (and the editor's budget) count
        // its pieces, not the 5,000 asked for (the budget was 44× off); without the project,
        // the size asked is all there is.
        std::string error;
        const DataOptions asked = options(run);
        const auto held = SpecValidator(&store).dataShape(asked, Task::LanguageModel, error),
                   alone = SpecValidator().dataShape(asked, Task::LanguageModel, error);
        QVERIFY2(held && alone, error.c_str());
        QCOMPARE(held->vocab, pieces);
        QCOMPARE(alone->vocab, int64_t(5000));
        // The probe names the tokenizer the run uses (limit_train's subset, a stream's lines):
        // the budget finds the stored one by it.
        for (const bool stream : {false, true}) {
            Json j = run;
            j["data"]["limit_train"] = 20;
            j["data"]["stream"] = stream;
            QCOMPARE(probeData(options(j), Task::LanguageModel).tokenizer_key,
                     data(j).tokenizer_key);
        }
        // WordNet's glosses are samples of a fixed split, never a stream.
        Json wordnet = run;
        wordnet["data"] = {{"format", "wordnet"}, {"stream", true}};
        std::vector<SpecIssue> parsed;
        QVERIFY(test::hasIssue(checkRanges(ExperimentSpec::fromJson(wordnet, parsed)),
                               "data.stream", "set data.format to text"));
        // So a student distilled from that run validates: before, its teacher "predicts a
        // vocabulary of <pieces> pieces, the data's tokenizer 5000 pieces" and was refused.
        Json taught = run;
        taught["teacher"] = {{"run", first.id}};
        taught["distill"] = {{"lambda", 0.5}, {"top_k", 8}};
        const auto issues = test::specIssues(taught, &store);
        QVERIFY2(issues.empty(), test::issuesText(issues).c_str());
    }

    // Next-token pretraining of a decoder, on the training texts and on a file of its own:
    // stored once per corpus and reused, its output layer kept (the task's own head), and
    // refused by a classifier that names it as its pretrained source.
    void decoderPretrainsOnNextTokens() {
        QTemporaryDir dir;
        const std::string file = test::writeSeparableTexts(dir, 30);
        const std::string corpus = dir.filePath("corpus.txt").toStdString();
        {
            std::ofstream out(corpus);
            for (int i = 0; i < 60; ++i)
                out << "sample " << i << " river stone song water rock music\n\n";
        }
        ProjectStore store(dir.filePath("pretrain.retort").toStdString());
        Json j = lmSpec(file);
        j.erase("teacher");
        j["distill"] = {{"lambda", 0.0}};
        j["train"]["epochs"] = 2;
        const Json pre = {{"epochs", 3}, {"batch_size", 16}, {"lr", 3e-3}};
        Json scratch = j, onTexts = j, onFile = j;
        onTexts["student"]["pretrain"] = pre;
        // A learning rate too small to move anything: its first epoch shows the decoder as
        // its pretraining left it.
        onTexts["sweep"] = Json::array({{{"train.lr", {1e-9, 3e-3}}}});
        onFile["student"]["pretrain"] = pre;
        onFile["student"]["pretrain"]["path"] = corpus;
        std::vector<std::string> messages;
        for (const Json& spec : {scratch, onTexts, onFile})
            for (const auto& o : test::runAll(store, spec, &messages))
                QVERIFY2(o.status == RunStatus::Completed, o.error.c_str());
        const auto runs = store.runs();
        QCOMPARE(runs.size(), size_t(4));
        int pretrainings = 0, reused = 0;
        for (const auto& m : messages) {
            pretrainings += m == "next-token pretraining";
            reused += m.rfind("reusing the stored pretrained model", 0) == 0;
        }
        QCOMPARE(pretrainings, 2);  // the training texts once, the file once
        QCOMPARE(reused, 1);        // the second learning rate reused the first's
        QCOMPARE(store.pretrainedList().size(), size_t(2));
        auto firstEpoch = [&](int64_t id) {
            for (const auto& m : store.metrics(id))
                if (m.name == "val_perplexity" && m.epoch == 1) return m.value;
            return std::nan("");
        };
        const Json& p = runs[1].results.at("pretrain");
        QCOMPARE(p["objective"].get<std::string>(), std::string("next_token"));
        QCOMPARE(p["epochs"].size(), size_t(3));
        const double first = p["epochs"][0]["val_perplexity"].get<double>(),
                     last = p["epochs"][2]["val_perplexity"].get<double>();
        QVERIFY2(last < first, qPrintable(QString("%1 -> %2").arg(first).arg(last)));
        QVERIFY(p["epochs"][2]["predicted_tokens"].get<double>() > 0);
        // The pretrained decoder starts where its pretraining ended, output layer included (a
        // fresh one would start near the vocabulary's perplexity): unmoved by lr 1e-9, its
        // first epoch scores what the pretraining's last did. Trained, it is ahead of the same
        // decoder trained from scratch.
        const double unmoved = firstEpoch(runs[1].id), trained = firstEpoch(runs[2].id),
                     scratchFirst = firstEpoch(runs[0].id);
        QVERIFY2(std::abs(unmoved - last) < 1e-3 * last && trained < scratchFirst,
                 qPrintable(QString("unmoved %1, pretraining's last %2, trained %3, scratch %4")
                                .arg(unmoved)
                                .arg(last)
                                .arg(trained)
                                .arg(scratchFirst)));
        QCOMPARE(runs[3].results.at("pretrain")["objective"].get<std::string>(),
                 std::string("next_token"));
        // A classifier cannot start from a decoder's next-token pretraining.
        Json cls = j;
        cls.erase("task");
        cls["student"]["pretrained"] = p["id"];
        const auto refused = test::runAll(store, cls);
        QCOMPARE(refused.front().status, RunStatus::Failed);
        QVERIFY2(refused.front().error.find("student.pretrained") != std::string::npos &&
                     refused.front().error.find("next tokens") != std::string::npos,
                 refused.front().error.c_str());
    }

    // The calibration walk (wanda, sparsegpt, gptq) of a decoder is its forward pass, and the
    // output layer's Hessian is over every real token's final state, not a pooled one; a tied
    // output adds no layer of its own (the table is visited once, as the token table).
    void decoderCalibrationWalk() {
        torch::manual_seed(8);
        auto x = ids(9);
        x.slice(1, 14).slice(0, 0, 4).zero_();  // padding at the end of four samples
        const auto real = x.ne(0);
        for (const bool tied : {false, true}) {
            ModelOptions mo = decoder();
            mo.tie_embeddings = tied;
            ZooNet net(mo, lmShape());
            std::vector<std::string> names;
            std::map<std::string, LayerCalibration> seen;
            const auto walked = calibrateLayers(net, x, [&](LayerCalibration& c) {
                names.push_back(c.name);
                seen[c.name] = c;
            });
            torch::NoGradGuard guard;
            net->eval();
            // It returns the final states (not the vocabulary-wide logits), as the network's.
            const auto states = net->tokenStates(x);
            QCOMPARE(walked.sizes(), states.sizes());
            QVERIFY(torch::allclose(walked.index({real}), states.index({real}), 1e-5, 1e-5));
            std::vector<std::string> expected;
            for (const auto& w : compressibleWeights(*net)) expected.push_back(w.first);
            QCOMPARE(names, expected);
            QVERIFY(!seen["net.tok.weight"].hessian.defined());
            QCOMPARE(seen.count("net.out.weight"), size_t(tied ? 0 : 1));
            if (!tied) {
                const auto h = states.index({real}).to(torch::kFloat64);
                const auto& out = seen["net.out.weight"];
                QCOMPARE(out.rows, real.sum().item<int64_t>());
                QVERIFY(torch::allclose(out.hessian, h.t().matmul(h) * (2.0 / double(out.rows)),
                                        1e-7, 1e-7));
            }
        }
    }

    // Wanda (2:4, one-shot), SparseGPT (gradual) and GPTQ on a tied decoder student, end to end:
    // each reaches its target on every compressible layer and the model still predicts.
    void calibratedCompressionOfDecoders() {
        QTemporaryDir dir;
        const std::string file = test::writeSeparableTexts(dir, 40);
        ProjectStore store(dir.filePath("calibrated.retort").toStdString());
        Json j = lmSpec(file);
        j.erase("teacher");
        j["distill"] = {{"lambda", 0}};
        j["student"]["tie_embeddings"] = true;
        j["train"]["epochs"] = 6;
        const Json prune = {
            {"sparsity", 0.5}, {"begin_epoch", 1}, {"end_epoch", 3}, {"calibration_samples", 40}};
        auto with = [&](const Json& extra) {
            Json p = prune;
            p.update(extra);
            return p;
        };
        j["sweep"] = Json::array(
            {{{"prune",
               {with({{"method", "wanda"},
                      {"structure", "n:m"},
                      {"schedule", "one_shot"},
                      {"begin_epoch", 3}})}}},
             {{"prune", {with({{"method", "sparsegpt"}})}}},
             {{"quantize", {Json{{"mode", "gptq"}, {"bits", 4}, {"group_size", 16}}}}}});
        const auto outcomes = test::runAll(store, j);
        QCOMPARE(outcomes.size(), size_t(3));
        for (const auto& o : outcomes) QVERIFY2(o.status == RunStatus::Completed, o.error.c_str());
        const auto runs = store.runs();
        const double vocab = runs[0].results["vocab_size"].get<double>();
        for (const auto& r : runs) {
            const double ppl = r.results["test_perplexity"].get<double>();
            QVERIFY2(ppl > 1 && ppl < vocab / 3, r.results.dump().c_str());
        }
        for (size_t i = 0; i < 2; ++i)
            for (const auto& l : store.layers(runs[i].id)) {
                const double s = 1.0 - double(l.nonzero) / double(l.numel);
                QVERIFY2(std::abs(s - 0.5) < 0.02, qPrintable(QString("run %1, %2: sparsity %3")
                                                                  .arg(runs[i].id)
                                                                  .arg(l.layer.c_str())
                                                                  .arg(s)));
            }
        // GPTQ: every compressible tensor (the tied table by rounding) at 4 bits, the rest fp32.
        const std::string blob = *store.artifact(runs[2].id, "compressed");
        std::set<std::string> compressible;
        ZooNet net = loadCompressedModel(blob);
        for (const auto& w : compressibleWeights(*net)) compressible.insert(w.first);
        QVERIFY(compressible.count("net.tok.weight"));
        for (const auto& t : readCompressedModel(blob).tensors)
            QCOMPARE(t.bits, compressible.count(t.name) ? 4 : 32);
    }

    // A teacher, then label-only, distilled (jsd) and pruned + int8 students: perplexities well
    // under the vocabulary's (a uniform guess), the teacher's top-k computed once, generated text.
    void languageModelRunsEndToEnd() {
        QTemporaryDir dir;
        const std::string file = test::writeSeparableTexts(dir, 40);
        ProjectStore store(dir.filePath("lm.retort").toStdString());
        Json j = lmSpec(file);
        j["sweep"] = Json::array(
            {{{"distill.lambda", {0.0}}},
             {{"distill.lambda", {0.5}}, {"distill.divergence", {"jsd"}}},
             {{"distill.lambda", {0.5}},
              {"prune", {Json{{"sparsity", 0.5}, {"begin_epoch", 1}, {"end_epoch", 6}}}},
              {"quantize", {Json{{"bits", 8}}}}}});
        std::vector<std::string> messages;
        const auto outcomes = test::runAll(store, j, &messages);
        QCOMPARE(outcomes.size(), size_t(3));
        for (const auto& o : outcomes) QVERIFY2(o.status == RunStatus::Completed, o.error.c_str());
        std::vector<RunRecord> runs = store.runs();  // in the order they were created
        QCOMPARE(runs.size(), size_t(3));
        int computed = 0;
        for (const auto& m : messages)
            computed += m.find("computing the frozen teacher's top-8") == 0;
        QCOMPARE(computed, 1);  // the pruned run reuses the distilled run's targets (same T, k)
        const double vocab = runs[0].results["vocab_size"].get<double>();
        for (const auto& r : runs) {
            const Json& res = r.results;
            QCOMPARE(res["task"].get<std::string>(), std::string("language_model"));
            const double ppl = res["test_perplexity"].get<double>();
            QVERIFY2(ppl > 1 && ppl < vocab / 3, res.dump().c_str());
            QVERIFY(res["val_perplexity"].get<double>() > 1);
            QVERIFY(res["test_accuracy"].get<double>() > 0.1);
            QVERIFY(res["teacher_test_perplexity"].get<double>() < vocab / 3);
            QVERIFY(!res.contains("test_macro_f1"));
            QCOMPARE(res["generated_samples"].size(), size_t(3));
            for (const auto& g : res["generated_samples"]) {
                QVERIFY(!g["prompt"].get<std::string>().empty());
                QVERIFY(g.contains("student_greedy") && g.contains("teacher_sampled"));
            }
            QCOMPARE(res["model"]["language_model"].get<bool>(), true);
        }
        // Label-only trains on the next tokens alone; the distilled runs' soft loss is there.
        auto soft = [&](const RunRecord& r) {
            double v = 0;
            for (const auto& m : store.metrics(r.id))
                if (m.name == "train_soft_loss") v += m.value;
            return v;
        };
        QCOMPARE(soft(runs[0]), 0.0);
        QVERIFY(soft(runs[1]) > 0);
        // Distillation moves the student toward its teacher: the distilled student's test
        // predictions are closer to the teacher's (KL) than the label-only student's. A broken
        // soft term (another position's rows, a wrong temperature or sign) fails this, which
        // the perplexities and a positive soft loss do not see.
        const double alone = runs[0].results["test_teacher_kl"].get<double>(),
                     taught = runs[1].results["test_teacher_kl"].get<double>();
        QVERIFY2(taught < 0.9 * alone,
                 (std::to_string(taught) + " vs label-only " + std::to_string(alone)).c_str());
        const Json& pruned = runs[2].results;
        QVERIFY(std::abs(pruned["sparsity"].get<double>() - 0.5) < 0.02);
        // 50 % sparse int8 weights take 0.5 + 0.125 (bitmap) bytes of every 4; the description,
        // biases and norms of a model this small stay fp32: at least 2.5× smaller in all.
        QVERIFY2(pruned["compressed_size_bytes"].get<int64_t>() * 5 / 2 <
                     runs[1].results["compressed_size_bytes"].get<int64_t>(),
                 (pruned["compressed_size_bytes"].dump() + " vs " +
                  runs[1].results["compressed_size_bytes"].dump())
                     .c_str());
        // A teacher run of another vocabulary is refused in pieces, not "classes".
        Json other = lmSpec(file);
        other["teacher"] = {{"run", runs[0].id}};
        other["data"]["tokenizer"]["vocab_size"] = int64_t(vocab) - 5;
        other["distill"].erase("top_k");
        const auto refused = test::specIssues(other, &store);
        QVERIFY2(test::hasIssue(refused, "teacher", "predicts a vocabulary of"),
                 test::issuesText(refused).c_str());
        // The validation perplexity per epoch, as a curve.
        int epochs = 0;
        for (const auto& m : store.metrics(runs[1].id)) epochs += m.name == "val_perplexity";
        QCOMPARE(epochs, 10);
    }
};

QTEST_GUILESS_MAIN(TestLanguageModel)
#include "tst_lm.moc"

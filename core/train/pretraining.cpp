#include "train/pretraining.h"

#include "data/dataset.h"
#include "models/archivecheck.h"
#include "models/modelgraph.h"
#include "store/fnv1a.h"
#include "train/stagesupport.h"
#include "train/trainloop.h"

#include <cmath>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

namespace retort {

MaskedTokens maskTokens(const torch::Tensor& ids, double fraction, int64_t vocab,
                        at::Generator& gen) {
    const auto cpu = ids.to(torch::kCPU, torch::kInt64);
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
    const auto eligible = cpu.ne(Tokenizer::kPad).logical_and(cpu.ne(Tokenizer::kCls));
    const auto pick = torch::rand(cpu.sizes(), gen, f32).lt(fraction).logical_and(eligible);
    const auto kind = torch::rand(cpu.sizes(), gen, f32);
    const auto random = torch::randint(kFirstPiece, std::max(vocab, kFirstPiece + 1), cpu.sizes(),
                                       gen, torch::TensorOptions().dtype(torch::kInt64));
    auto input = torch::where(pick.logical_and(kind.lt(0.8)), torch::full_like(cpu, vocab), cpu);
    input = torch::where(pick.logical_and(kind.ge(0.8)).logical_and(kind.lt(0.9)), random, input);
    const auto target = torch::where(pick, cpu, torch::full_like(cpu, -100));
    return {input.to(ids.device()), target.to(ids.device())};
}

MaskRow::MaskRow(ZooNetImpl& net) : m_table(net.tokenTable()), m_rows(net.vocab()) {
    if (!m_table.defined() || m_table.size(0) != m_rows)
        throw std::logic_error("MaskRow: the token table has " +
                               std::to_string(m_table.defined() ? m_table.size(0) : 0) +
                               " rows, the vocabulary " + std::to_string(m_rows));
    torch::NoGradGuard guard;
    // Initialized as the other rows are (BERT's N(0, 0.02)).
    const auto row = torch::empty({1, m_table.size(1)}, m_table.options()).normal_(0.0, 0.02);
    m_table.set_data(torch::cat({m_table.detach(), row}));
    m_table.mutable_grad() = torch::Tensor();
}

MaskRow::~MaskRow() {
    torch::NoGradGuard guard;
    m_table.set_data(m_table.detach().slice(0, 0, m_rows).clone());
    m_table.mutable_grad() = torch::Tensor();
}

MlmHeadImpl::MlmHeadImpl(int64_t width, int64_t embedding, int64_t vocab) {
    dense = register_module("dense", torch::nn::Linear(width, embedding));
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({embedding})));
    bias = register_parameter("bias", torch::zeros({vocab}));
}

torch::Tensor MlmHeadImpl::forward(const torch::Tensor& states, const torch::Tensor& table) {
    return torch::nn::functional::linear(norm(torch::gelu(dense(states))), table, bias);
}

namespace {

/// The masked positions' cross-entropy summed, and how many there were.
std::pair<torch::Tensor, int64_t> mlmLossSum(ZooNetImpl& net, MlmHeadImpl& head,
                                             const MaskedTokens& m) {
    const auto picked = m.target.ne(-100);
    const int64_t count = picked.sum().item<int64_t>();
    if (count == 0) return {torch::Tensor(), 0};
    const auto states = net.tokenStates(m.input).index({picked});
    const auto logits = head.forward(states, net.tokenTable());
    return {torch::nn::functional::cross_entropy(
                logits, m.target.index({picked}),
                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)),
            count};
}

/// A decoder's next-token cross-entropy over the positions with a target (y ≠ 0) summed, and
/// how many there were: the language-model task's own loss, with its own output layer.
std::pair<torch::Tensor, int64_t> nextTokenLossSum(ZooNetImpl& net, const torch::Tensor& x,
                                                   const torch::Tensor& y) {
    const auto target = y.slice(1, 0, x.size(1));
    const auto picked = target.ne(0);
    const int64_t count = picked.sum().item<int64_t>();
    if (count == 0) return {torch::Tensor(), 0};
    return {torch::nn::functional::cross_entropy(
                net.forward(x).index({picked}), target.index({picked}),
                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)),
            count};
}

/// The width of the states tokenStates returns.
int64_t stateWidth(const ModelOptions& m) {
    if (m.arch == Arch::Transformer) return m.d_model;
    if (m.arch == Arch::Bilstm) return 2 * (m.hidden.empty() ? m.embedding : m.hidden.back());
    return m.embedding;
}

}  // namespace

double maskedLmLoss(ZooNetImpl& net, MlmHeadImpl& head, const torch::Tensor& ids, double fraction,
                    uint64_t seed, int64_t batchSize) {
    if (net.tokenTable().size(0) != net.vocab() + 1)
        throw std::logic_error("maskedLmLoss: the token table has no [MASK] row (MaskRow)");
    torch::NoGradGuard guard;
    const bool wasTraining = net.is_training();
    net.eval();
    head.eval();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    double sum = 0;
    int64_t count = 0;
    for (int64_t i = 0; i < ids.size(0); i += batchSize) {
        const auto x = trimPadding(ids.slice(0, i, std::min(i + batchSize, ids.size(0))));
        const auto [loss, n] = mlmLossSum(net, head, maskTokens(x, fraction, net.vocab(), gen));
        if (n == 0) continue;
        sum += loss.item<double>();
        count += n;
    }
    net.train(wasTraining);
    return count > 0 ? sum / double(count) : std::nan("");
}

std::vector<torch::Tensor> encoderParameters(ZooNet& net) {
    const ModelGraph graph = modelGraph(*net);
    return selectParameters(
        *net, graph, [&](const GraphNode& n, const GraphParam&) { return n.name != graph.output; });
}

namespace pipeline {

using namespace stagesupport;

namespace {

/// Token ids [texts, max_length] of a UTF-8 file, one document per line (empty lines skipped).
torch::Tensor readCorpus(const std::string& key, const std::string& path, const Dataset& d,
                         const DataOptions& data, std::string& bytes) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw std::runtime_error(key + ": cannot read '" + path + "'");
    std::ostringstream all;
    all << file.rdbuf();
    bytes = all.str();
    std::istringstream in(bytes);
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
    }
    if (lines.empty()) throw std::runtime_error(key + ": '" + path + "' has no text");
    const Tokenizer tok = Tokenizer::fromModel(d.tokenizer_model, data.tokenizer);
    const auto enc = tok.encode(lines);  // each cut to data.tokenizer.max_length
    // The corpus's own lengths, up to max_length: not the task's longest training text, which
    // would cut a corpus of long documents to a few tokens.
    int64_t width = 1;
    for (const auto& e : enc) width = std::max<int64_t>(width, int64_t(e.size()));
    width = std::min<int64_t>(width, std::max<int64_t>(data.tokenizer.max_length, 1));
    auto ids = torch::zeros({int64_t(enc.size()), width}, torch::kInt64);
    auto a = ids.accessor<int64_t, 2>();
    for (size_t i = 0; i < enc.size(); ++i)
        for (size_t j = 0; j < enc[i].size() && int64_t(j) < width; ++j)
            a[int64_t(i)][int64_t(j)] = enc[i][j];
    return ids;
}

/// A hash of each row's token ids, in order (padding dropped; with @p endMark, a trailing end
/// mark too, as next-token data appends one).
std::vector<uint64_t> rowHashes(const torch::Tensor& x, bool endMark) {
    std::vector<uint64_t> out;
    if (!x.defined() || x.dim() != 2) return out;
    const auto cpu = x.to(torch::kCPU, torch::kInt64).contiguous();
    const int64_t* row = cpu.data_ptr<int64_t>();
    for (int64_t i = 0; i < cpu.size(0); ++i, row += cpu.size(1)) {
        int64_t n = 0;
        while (n < cpu.size(1) && row[n] != Tokenizer::kPad) ++n;
        if (endMark && n > 1 && row[n - 1] == Tokenizer::kCls) --n;
        Fnv1a h;
        h.update(reinterpret_cast<const char*>(row), size_t(n) * sizeof(int64_t));
        out.push_back(h.value());
    }
    return out;
}

/// How many rows of a pretraining corpus (token ids) are validation or test texts of the task,
/// token for token.
int64_t heldOutRows(const torch::Tensor& corpus, const Dataset& d) {
    const bool lm = d.shape.language_model;
    std::set<uint64_t> held;
    for (const torch::Tensor* x : {&d.val_x, &d.test_x})
        for (uint64_t h : rowHashes(*x, lm)) held.insert(h);
    int64_t n = 0;
    for (uint64_t h : rowHashes(corpus, false)) n += held.count(h) > 0;
    return n;
}

/// How many lines of a pretraining corpus (its @p bytes) are, as text, test lines of a stream.
int64_t testLinesIn(const std::string& bytes, const Dataset& d) {
    const std::set<std::string> test(d.test_texts.begin(), d.test_texts.end());
    std::istringstream in(bytes);
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        n += test.count(line) > 0;
    }
    return n;
}

/// The network and its masked-LM head as one module (what a record stores).
std::shared_ptr<torch::nn::Module> bundle(ZooNet& net, MlmHead& head) {
    auto b = std::make_shared<torch::nn::Module>();
    b->register_module("encoder", net.ptr());
    b->register_module("head", head.ptr());
    return b;
}

/// Loads a record's weights (encoder and head) into @p net and @p head; the classifier keeps
/// its initialization.
void loadStored(ZooNet& net, MlmHead& head, const std::string& state);

/// Copies of the classifier's parameters, to put back after loading stored weights.
std::vector<std::pair<torch::Tensor, torch::Tensor>> classifier(ZooNet& net) {
    const ModelGraph graph = modelGraph(*net);
    std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
    for (auto& p : selectParameters(*net, graph, [&](const GraphNode&n, const GraphParam&) {
             return n.name == graph.output;
         }))
        out.push_back({p, p.detach().clone()});
    return out;
}

void restore(const std::vector<std::pair<torch::Tensor, torch::Tensor>>& saved) {
    torch::NoGradGuard guard;
    for (const auto& [p, v] : saved) p.copy_(v);
}

void loadStored(ZooNet& net, MlmHead& head, const std::string& state) {
    const auto keepHead = classifier(net);
    loadModule(*bundle(net, head), state);
    restore(keepHead);
}

Json outcome(const PretrainedRecord& r, bool reused, double seconds) {
    return {{"id", r.id},          {"key", r.key},
            {"epochs", r.metrics}, {"reused", reused},
            {"seconds", seconds},  {"objective", r.spec.value("objective", "mlm")}};
}

Json withWarnings(Json out, const std::vector<std::string>& warnings) {
    if (!warnings.empty()) out["warnings"] = warnings;
    return out;
}

/// What a model pretrains on: a decoder (the language-model task) predicts each next token with
/// its own output layer, which it keeps; an encoder predicts masked tokens through a head that
/// is thrown away.
const char* objectiveOf(const Dataset& d) {
    return d.shape.language_model ? "next_token" : "mlm";
}

}  // namespace

Json architectureOf(const Json& section) {
    static const std::set<std::string> notModel = {
        "seed", "train", "pretrain", "pretrained", "init", "torchscript", "run", "model", "input"};
    Json out = Json::object();
    for (auto it = section.begin(); it != section.end(); ++it)
        if (!notModel.count(it.key())) out[it.key()] = it.value();
    return out;
}

Json pretrain(ZooNet& net, const PretrainOptions& o, const PretrainTarget& target,
              const RunContext& ctx, StageServices& services) {
    const Dataset& d = *ctx.data;
    const std::string stage = target.prefix + "_pretrain";
    const std::string keyName = target.prefix + ".pretrain";
    if (!net->isText() || net->options().arch == Arch::EmbeddingBag)
        throw std::runtime_error(keyName + ": needs a transformer or bilstm");
    const std::string objective = objectiveOf(d);
    const bool nextToken = objective == "next_token";
    Json spec = {{"objective", objective}, {"model", target.model}, {"pretrain", target.options},
                 {"seed", target.seed},    {"data", d.fingerprint}, {"tokenizer", d.tokenizer_key}};
    // What else decides the starting weights (student.init teacher_layers and the teacher they
    // came from): two starts are two pretrained models. A random start adds nothing, so the
    // records stored before keep their keys.
    if (!target.start.is_null()) spec["start"] = target.start;
    // The recipe's version: 2 keeps biases and norms out of weight decay; 3 gives masked LM's
    // [MASK] its own row (a decoder's recipe is still 2). A record of another recipe is another
    // model (never loaded as this one).
    spec["recipe"] = nextToken ? 2 : 3;
    std::vector<std::string> warnings;
    torch::Tensor ids = d.train_x, targets = nextToken ? d.train_y : torch::Tensor();
    if (!o.path.empty()) {
        std::string bytes;
        ids = readCorpus(keyName + ".path", o.path, d, ctx.spec.data, bytes);
        // A stream's validation and test rows are windows of many lines, which no corpus line
        // equals: its test lines are compared as text instead (its validation lines are not kept).
        const int64_t held = ctx.spec.data.stream ? testLinesIn(bytes, d) : heldOutRows(ids, d);
        if (held > 0) {
            // Pretraining on texts the task scores on makes its validation and test figures
            // optimistic: say so (a corpus is the researcher's to choose).
            const std::string w =
                keyName + ".path: " + std::to_string(held) + " of the " +
                std::to_string(ids.size(0)) +
                (ctx.spec.data.stream ? " documents are test lines of the task's stream"
                                      : " documents are validation or test texts of the task "
                                        "(token for token)") +
                ": its validation and test figures are optimistic";
            warnings.push_back(w);
            services.message(ctx.runId, stage, "warning: " + w);
        }
        if (nextToken) {  // the same next-token data the task's texts become
            Dataset raw;
            raw.train_x = ids;
            raw.shape.sample_shape = {ids.size(1)};
            raw.shape.vocab = net->vocab();
            const Dataset shifted = languageModelData(raw);
            ids = shifted.train_x;
            targets = shifted.train_y.to(d.train_x.device());
        }
        ids = ids.to(d.train_x.device());
        spec["file"] = fnv1aHex(bytes);
    }
    const std::string key = fnv1aHex(spec.dump());
    // An encoder reads [MASK] through its own row, there while it pretrains.
    std::optional<MaskRow> maskRow;
    if (!nextToken) maskRow.emplace(*net);
    // A decoder stores its head-less bundle with an unused masked-LM head, so both objectives
    // keep one record layout.
    MlmHead head(stateWidth(net->options()), net->tokenTable().size(1), net->tokenTable().size(0));
    head->to(ctx.device);
    auto all = bundle(net, head);
    const auto keepHead = nextToken ? decltype(classifier(net)){} : classifier(net);

    std::vector<torch::Tensor> params = nextToken ? net->parameters() : encoderParameters(net);
    if (!nextToken)
        for (const auto& p : head->parameters()) params.push_back(p);
    // AdamW as BERT pretrains: weight decay on matrices (the token table included), none on
    // biases and norm scales (one dimension).
    std::vector<torch::Tensor> decayed, plain;
    for (const auto& p : params) (p.dim() >= 2 ? decayed : plain).push_back(p);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decayed, std::make_unique<torch::optim::AdamWOptions>(
                                     torch::optim::AdamWOptions(o.lr).weight_decay(0.01)));
    groups.emplace_back(plain, std::make_unique<torch::optim::AdamWOptions>(
                                   torch::optim::AdamWOptions(o.lr).weight_decay(0.0)));
    auto opt = std::make_unique<torch::optim::AdamW>(std::move(groups));

    std::optional<PretrainedRecord> stored = services.store.pretrained(key);
    if (stored && stored->spec != spec) stored.reset();  // a hash collision: do not reuse
    PretrainedRecord record;
    record.key = key;
    record.spec = spec;
    if (stored) {
        record = *stored;
        loadModule(*all, stored->state);  // the classifier comes back below (masked LM)
        if (record.epochs_done >= o.epochs) {
            services.message(ctx.runId, stage,
                             "reusing the stored pretrained model " + std::to_string(record.id));
            restore(keepHead);
            return withWarnings(outcome(record, true, 0), warnings);
        }
        verifyArchive(stored->optimizer, "pretraining optimizer state");
        torch::serialize::InputArchive archive;
        std::istringstream is(stored->optimizer);
        archive.load_from(is, ctx.device);
        opt->load(archive);
        services.message(ctx.runId, stage,
                         "resuming pretraining after epoch " + std::to_string(record.epochs_done));
    } else {
        services.message(ctx.runId, stage,
                         nextToken ? "next-token pretraining" : "masked-LM pretraining");
    }

    Dataset corpus;  // what batchOrder reads: the ids, bucketed by length
    corpus.train_x = ids;
    // Validation: the task's own split; a decoder's targets are its next tokens.
    const bool validate = d.val_x.defined() && d.val_x.size(0) > 0;
    corpus.shape.vocab = net->vocab();
    const int64_t n = ids.size(0), bs = std::min(o.batch_size, n);
    const uint64_t seed = static_cast<uint64_t>(target.seed) * 1000003ULL;
    const auto t0 = Clock::now();
    auto progress = [&](Progress::Kind kind, int64_t epoch) {
        Progress p;
        p.kind = kind;
        p.run_id = ctx.runId;
        p.stage = stage;
        p.epoch = epoch;
        p.epochs = o.epochs;
        return p;
    };
    // Linear warm-up over pretrain.warmup of all steps (every epoch has the same batches).
    const int64_t stepsPerEpoch = (n + bs - 1) / bs;
    const double warmupSteps = o.warmup * double(stepsPerEpoch * o.epochs);
    auto setRate = [&](int64_t step) {
        const double f = warmupSteps > 0 ? std::min(1.0, double(step + 1) / warmupSteps) : 1.0;
        for (auto& g : opt->param_groups())
            static_cast<torch::optim::AdamWOptions&>(g.options()).lr(o.lr * f);
    };
    for (int64_t e = record.epochs_done + 1; e <= o.epochs; ++e) {
        const auto epochStart = Clock::now();
        torch::manual_seed(seed + 524287ULL + uint64_t(e));  // dropout, as after a resume
        auto gen = at::make_generator<at::CPUGeneratorImpl>(seed + 7919ULL * uint64_t(e) + 3);
        const auto batches = batchOrder(corpus, bs, gen);
        net->train();
        head->train();
        double sum = 0;
        int64_t count = 0;
        for (size_t b = 0; b < batches.size(); ++b) {
            services.checkCancel(stage + " epoch " + std::to_string(e) + ", batch " +
                                 std::to_string(b + 1));
            const auto x = trimPadding(ids.index_select(0, batches[b]));
            setRate((e - 1) * stepsPerEpoch + int64_t(b));
            opt->zero_grad();
            auto [loss, k] =
                nextToken
                    ? nextTokenLossSum(*net, x, targets.index_select(0, batches[b]))
                    : mlmLossSum(*net, *head, maskTokens(x, o.mask_fraction, maskRow->id(), gen));
            if (k == 0) continue;
            (loss / double(k)).backward();
            if (o.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, o.grad_clip);
            opt->step();
            sum += loss.item<double>();
            count += k;
            if (services.progress && (b % 20 == 19 || b + 1 == batches.size())) {
                Progress p = progress(Progress::Kind::Batch, e);
                p.batch = int64_t(b) + 1;
                p.batches = int64_t(batches.size());
                p.loss = sum / double(count);
                p.elapsed_s = secondsSince(epochStart);
                p.eta_s = p.elapsed_s / double(b + 1) *
                          double(int64_t(batches.size()) * (o.epochs - e + 1) - int64_t(b) - 1);
                services.report(p);
            }
        }
        const double loss = count > 0 ? sum / double(count) : std::nan("");
        if (!std::isfinite(loss))
            throw std::runtime_error(
                std::string("diverged: the ") + (nextToken ? "next-token" : "masked-LM") +
                " loss is not finite at " + stage + " epoch " + std::to_string(e));
        std::map<std::string, double> m = {
            {"train_loss", loss},
            {"train_perplexity", std::exp(loss)},
            {nextToken ? "predicted_tokens" : "masked_tokens", double(count)}};
        if (validate) {
            double val = std::nan("");
            if (nextToken) {
                net->eval();
                const ClassScores v = nextTokenScores(
                    [&](const torch::Tensor& x) { return net->forward(x); }, d.val_x, d.val_y);
                val = std::log(v.perplexity);
            } else {
                val = maskedLmLoss(*net, *head, d.val_x, o.mask_fraction, seed + 17);
            }
            if (std::isfinite(val)) {
                m["val_loss"] = val;
                m["val_perplexity"] = std::exp(val);
            }
        }
        m["epoch_seconds"] = secondsSince(epochStart);
        record.epochs_done = e;
        record.metrics.push_back(Json(m));
        record.state = saveModule(*all);
        record.optimizer = archiveBytes(*opt);
        record.id = services.store.savePretrained(record);
        Progress p = progress(Progress::Kind::Epoch, e);
        p.metrics = m;
        p.elapsed_s = secondsSince(t0);
        services.report(p);
    }
    net->eval();
    restore(keepHead);
    return withWarnings(outcome(record, false, secondsSince(t0)), warnings);
}

Json loadPretrained(ZooNet& net, int64_t id, const PretrainTarget& target, const Dataset& d,
                    StageServices& services) {
    const std::string keyName = target.prefix + ".pretrained";
    const auto r = services.store.pretrained(id);
    if (!r)
        throw std::runtime_error(keyName + ": the project has no pretrained model " +
                                 std::to_string(id));
    if (r->spec.value("model", Json()) != target.model)
        throw std::runtime_error(keyName + ": pretrained model " + std::to_string(id) + " is " +
                                 r->spec.value("model", Json()).dump() + ", not " +
                                 target.model.dump());
    if (r->spec.value("tokenizer", "") != d.tokenizer_key)
        throw std::runtime_error(keyName + ": pretrained model " + std::to_string(id) +
                                 " read its text with another tokenizer; it needs the same data "
                                 "and data.tokenizer settings");
    const std::string objective = r->spec.value("objective", "mlm");
    if (objective != objectiveOf(d))
        throw std::runtime_error(
            keyName + ": pretrained model " + std::to_string(id) + " was pretrained on " +
            (objective == "mlm" ? "masked tokens (an encoder)" : "next tokens (a decoder)") +
            "; this " + (d.shape.language_model ? "language model" : "classifier") +
            " needs one pretrained on " +
            (d.shape.language_model ? "next tokens" : "masked tokens"));
    // Records of recipe 3 on keep [MASK]'s row (earlier ones read [UNK] for it).
    std::optional<MaskRow> maskRow;
    if (objective == "mlm" && r->spec.value("recipe", 0) >= 3) maskRow.emplace(*net);
    MlmHead head(stateWidth(net->options()), net->tokenTable().size(1), net->tokenTable().size(0));
    head->to(net->tokenTable().device());
    if (objective == "next_token")
        loadModule(*bundle(net, head), r->state);  // the output layer is the pretrained one
    else
        loadStored(net, head, r->state);
    services.message(target.runId, target.prefix,
                     "starting from pretrained model " + std::to_string(id));
    return outcome(*r, true, 0);
}

std::vector<torch::Tensor> finetuneParameters(ZooNet& net, const TrainOptions& t) {
    const ModelGraph graph = modelGraph(*net);
    auto params = selectParameters(*net, graph, [&](const GraphNode& n, const GraphParam& p) {
        switch (t.finetune) {
            case Finetune::Full:
                return true;
            case Finetune::Head:
            case Finetune::Lora:
                return n.name == graph.output;
            case Finetune::Bitfit:
                return p.role == ParamRole::Bias || n.name == graph.output;
        }
        return true;
    });
    std::set<const void*> keep;
    for (const auto& p : params) keep.insert(p.unsafeGetTensorImpl());
    for (auto& p : net->parameters()) p.set_requires_grad(keep.count(p.unsafeGetTensorImpl()) > 0);
    if (t.finetune == Finetune::Lora) {
        LoraSettings s;
        s.rank = t.lora_rank;
        s.alpha = t.lora_alpha;
        s.dropout = t.lora_dropout;
        s.attention = t.lora_targets != LoraTargets::Ffn;
        s.ffn = t.lora_targets != LoraTargets::Attention;
        try {
            net->addLora(s);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(std::string("train.finetune: ") + e.what());
        }
        for (const auto& p : net->loraParameters()) params.push_back(p);
    }
    return params;
}

void standardizeProbe(ZooNet& net, const Dataset& d, const TrainOptions& train) {
    if (train.finetune != Finetune::Head || !net->isText() || d.shape.language_model) return;
    torch::NoGradGuard guard;
    const bool wasTraining = net->is_training();
    net->eval();
    torch::Tensor sum, sq;
    const int64_t n = d.train_x.size(0);
    for (int64_t i = 0; i < n; i += 256) {
        const auto f =
            net->pooledFeatures(trimPadding(d.train_x.slice(0, i, i + 256))).to(torch::kFloat64);
        sum = sum.defined() ? sum + f.sum(0) : f.sum(0);
        sq = sq.defined() ? sq + f.square().sum(0) : f.square().sum(0);
    }
    net->train(wasTraining);
    if (n == 0) return;
    const auto mean = sum / double(n);
    const auto var = (sq / double(n) - mean.square()).clamp_min(0.0);
    net->standardizeHead(mean.to(torch::kFloat32), var.sqrt().to(torch::kFloat32));
}

int64_t countElements(const std::vector<torch::Tensor>& params) {
    int64_t n = 0;
    for (const auto& p : params) n += p.numel();
    return n;
}

int64_t trainableParameterCount(const ModelOptions& model, const DataShape& data,
                                const TrainOptions& train) {
    try {
        torch::NoGradGuard guard;
        ZooNet net(model, data);
        return countElements(finetuneParameters(net, train));
    } catch (const std::exception&) {
        return -1;
    }
}

}  // namespace pipeline

}  // namespace retort

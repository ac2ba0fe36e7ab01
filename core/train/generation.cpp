#include "train/generation.h"

#include "export/modelexport.h"
#include "models/modeldescription.h"

#include <algorithm>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace retort {

std::string GenerationStop::text() const {
    std::string s = end_mark ? "the end mark after " + std::to_string(tokens) + " tokens"
                             : std::to_string(tokens) + " tokens, the most asked for";
    if (slid_after >= 0)
        s += "; the " + std::to_string(context) + "-token context was full " +
             (slid_after == 0 ? std::string("with the prompt")
                              : "after " + std::to_string(slid_after)) +
             " and slid on ([CLS] and the last " + std::to_string(context - 1) + " tokens)";
    return s;
}

std::vector<int64_t> generate(ZooNet& net, const std::vector<int64_t>& prompt,
                              const GenerationOptions& options, GenerationStop* stop) {
    if (!net->dataShape().language_model)
        throw std::invalid_argument(
            "generating text needs a language model (task "
            "language_model), not a classifier");
    const int64_t context = net->sampleShape().empty() ? 0 : net->sampleShape()[0];
    if (prompt.empty()) throw std::invalid_argument("the prompt has no tokens ([CLS] at least)");
    if (context < 2) throw std::invalid_argument("the model's context is under 2 tokens");
    torch::NoGradGuard guard;
    net->eval();
    const auto device = net->parameters().front().device();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    std::vector<int64_t> ids = prompt, out;
    GenerationStop s;
    s.context = context;
    std::vector<int64_t> window;
    while (int64_t(out.size()) < options.max_new_tokens) {
        if (int64_t(ids.size()) > context) {
            // The window: the start mark, then the latest tokens.
            if (s.slid_after < 0)  // the tokens added when prompt and text filled it
                s.slid_after =
                    std::max<int64_t>(0, int64_t(out.size()) - (int64_t(ids.size()) - context));
            window.assign(1, ids.front());
            window.insert(window.end(), ids.end() - (context - 1), ids.end());
        } else {
            window = ids;
        }
        const auto x = torch::tensor(window, torch::kInt64).unsqueeze(0).to(device);
        auto logits = net->forward(x).select(1, x.size(1) - 1).squeeze(0).to(torch::kCPU);
        // Padding and the unknown piece are never text: neither is chosen (the text would drop
        // them, and the output would read shorter than the tokens it spent).
        logits = logits.clone();
        logits.slice(0, Tokenizer::kPad, Tokenizer::kUnknown + 1)
            .fill_(-std::numeric_limits<float>::infinity());
        int64_t next = 0;
        if (options.top_k <= 0) {
            next = logits.argmax().item<int64_t>();
        } else {
            const auto top = logits.topk(std::min<int64_t>(options.top_k, logits.size(0)));
            const auto probs = torch::softmax(std::get<0>(top) / options.temperature, 0);
            const int64_t pick = torch::multinomial(probs, 1, false, gen).item<int64_t>();
            next = std::get<1>(top)[pick].item<int64_t>();
        }
        if (next == Tokenizer::kCls) {  // the end mark
            s.end_mark = true;
            break;
        }
        ids.push_back(next);
        out.push_back(next);
    }
    s.tokens = int64_t(out.size());
    if (stop) *stop = s;
    return out;
}

std::string firstWords(const std::string& text, size_t words) {
    std::istringstream in(text);
    std::string w, out;
    for (size_t i = 0; i < words && in >> w; ++i) out += (out.empty() ? "" : " ") + w;
    return out;
}

GeneratedText continueText(ZooNet& net, const std::vector<int64_t>& prompt,
                           const std::vector<std::string>& vocabulary, int64_t maxNewTokens,
                           int64_t topK, uint64_t seed) {
    GenerationOptions o;
    o.max_new_tokens = maxNewTokens;
    GeneratedText t;
    t.greedy = Tokenizer::decode(generate(net, prompt, o, &t.greedyStop), vocabulary);
    o.top_k = topK;
    o.seed = seed;
    t.sampled = Tokenizer::decode(generate(net, prompt, o, &t.sampledStop), vocabulary);
    return t;
}

RunLanguageModel loadRunLanguageModel(const ProjectStore& store, int64_t runId, bool teacher) {
    const std::string name = "run " + std::to_string(runId);
    const auto run = store.run(runId);
    if (!run) throw std::invalid_argument(name + " does not exist");
    if (run->status != RunStatus::Completed)
        throw std::invalid_argument(name + " is not completed");
    if (!run->results.value("model", Json::object()).value("language_model", false))
        throw std::invalid_argument(name +
                                    " is a classifier: text comes from a language-model "
                                    "run (task language_model)");
    std::vector<SpecIssue> ignored;
    const ExperimentSpec spec = ExperimentSpec::fromJson(run->spec, ignored);
    RunLanguageModel m;
    m.tokenizer = spec.data.tokenizer;
    const auto tokenizer = runTokenizerModel(store, runId);
    if (!tokenizer) throw std::invalid_argument(name + " has no tokenizer");
    m.tokenizerModel = *tokenizer;
    if (!teacher) {
        const auto bytes = store.artifact(runId, "compressed");
        if (!bytes) throw std::invalid_argument(name + " has no stored model");
        m.net = loadCompressedModel(*bytes);
        return m;
    }
    const std::string key = run->results.value("teacher_key", "");
    const auto t = key.empty() ? std::nullopt : store.teacher(key);
    if (!t || !spec.teacher || spec.teacher->kind != TeacherOptions::Kind::Zoo)
        throw std::invalid_argument(name + " has no stored zoo teacher");
    DataShape shape;
    shape.sample_shape = run->results.value("input_shape", std::vector<int64_t>{});
    shape.vocab = run->results.value("vocab_size", int64_t(0));
    shape.mean_tokens = run->results.value("mean_tokens", 0.0);
    m.net = ZooNet(spec.teacher->model, taskShape(shape, Task::LanguageModel));
    loadModule(*m.net, t->state);
    return m;
}

GeneratedText continuePrompt(RunLanguageModel& model, const std::string& prompt,
                             const GenerationOptions& options) {
    // The whole prompt (max_length cuts training samples; the window reads a long prompt).
    TokenizerOptions whole = model.tokenizer;
    whole.max_length = 100000;
    const Tokenizer tok = Tokenizer::fromModel(model.tokenizerModel, whole);
    const std::vector<std::string> vocabulary = tok.vocabulary();
    const std::vector<int64_t> ids = tok.encode({prompt}).front();
    GenerationOptions o = options;
    GeneratedText t;
    o.top_k = 0;
    t.greedy = Tokenizer::decode(generate(model.net, ids, o, &t.greedyStop), vocabulary);
    if (options.top_k > 0) {
        o.top_k = options.top_k;
        t.sampled = Tokenizer::decode(generate(model.net, ids, o, &t.sampledStop), vocabulary);
    }
    return t;
}

}  // namespace retort

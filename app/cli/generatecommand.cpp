// retort-cli generate: text from a completed language-model run's student (or its teacher),
// greedy and top-k sampled, continuing a prompt.

#include "cliargs.h"
#include "commands.h"

#include "store/projectstore.h"
#include "train/generation.h"

#include <iostream>

namespace retort::cli {

namespace {

int64_t integerOption(const Args& a, const std::string& key, int64_t def, int64_t lo, int64_t hi) {
    if (!a.options.count(key)) return def;
    try {
        size_t used = 0;
        const long long v = std::stoll(a.option(key), &used);
        if (used == a.option(key).size() && v >= lo && v <= hi) return v;
    } catch (const std::exception&) {
    }
    throw UsageError("--" + key + " must be an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "], not '" + a.option(key) + "'");
}

}  // namespace

int cmdGenerate(const Args& a) {
    const int64_t id = runIdArg(a);
    const std::string project = a.required("project");
    if (!a.options.count("prompt"))
        throw UsageError("missing --prompt (--prompt \"\" generates from the start mark)");
    const std::string prompt = a.option("prompt");
    const std::string which = a.option("model", "student");
    if (which != "student" && which != "teacher")
        throw UsageError("--model must be student or teacher");
    GenerationOptions o;
    o.max_new_tokens = integerOption(a, "tokens", 24, 1, 4096);
    const int64_t topK = integerOption(a, "top-k", 10, 0, 1 << 20);
    o.seed = uint64_t(integerOption(a, "seed", 1, 0, int64_t(1) << 62));
    if (a.options.count("temperature")) {
        try {
            o.temperature = std::stod(a.option("temperature"));
        } catch (const std::exception&) {
            o.temperature = 0;
        }
        if (!(o.temperature > 0)) throw UsageError("--temperature must be a number > 0");
    }
    ProjectStore store(project, ProjectStore::Access::ReadOnly);
    RunLanguageModel model;
    try {
        model = loadRunLanguageModel(store, id, which == "teacher");
    } catch (const std::invalid_argument& e) {
        throw UsageError(project + ": " + e.what());
    }
    o.top_k = topK;
    const GeneratedText text = continuePrompt(model, prompt, o);
    const std::string& greedy = text.greedy;
    const std::string& sampled = text.sampled;
    if (a.has("json")) {
        Json j = {{"run", id},
                  {"model", which},
                  {"prompt", prompt},
                  {"greedy", greedy},
                  {"greedy_stop", text.greedyStop.text()}};
        if (topK > 0)
            j["sampled"] = {{"top_k", topK},
                            {"seed", o.seed},
                            {"text", sampled},
                            {"stop", text.sampledStop.text()}};
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    std::cout << "greedy:   " << prompt << " | " << greedy << "\n"
              << "          (stopped: " << text.greedyStop.text() << ")\n";
    if (topK > 0)
        std::cout << "top-" << topK << " (seed " << o.seed << "): " << prompt << " | " << sampled
                  << "\n          (stopped: " << text.sampledStop.text() << ")\n";
    return 0;
}

}  // namespace retort::cli

#include "cliargs.h"

#include <csignal>

namespace retort::cli {

namespace {

extern "C" void onSignal(int sig) {
    if (cancelFlag().load()) {  // a second Ctrl-C: stop at once
        std::signal(sig, SIG_DFL);
        std::raise(sig);
        return;
    }
    cancelFlag().store(true);
}

const std::set<std::string> kFlags = {"json",          "help",  "version", "metrics",      "spec",
                                      "float-weights", "slurm", "dry-run", "teacher-only", "all",
                                      "markdown",      "group", "grouped"};
const std::set<std::string> kValued = {
    "project",    "threads",  "device",      "format",     "out",   "partition",
    "time",       "gres",     "mem",         "account",    "qos",   "cpus-per-task",
    "shared-dir", "settings", "sbatch-args", "retort-cli", "shard", "teacher-cache",
    "baseline",   "metric",   "sparsities",  "bits",       "model", "prompt",
    "tokens",     "top-k",    "seed",        "temperature"};

}  // namespace

std::atomic<bool>& cancelFlag() {
    static std::atomic<bool> flag{false};
    return flag;
}

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        std::string s = argv[i];
        if (s == "-h") s = "--help";
        if (s.rfind("--", 0) == 0 && s.size() > 2) {
            std::string k = s.substr(2), v;
            const auto eq = k.find('=');
            if (eq != std::string::npos) {
                v = k.substr(eq + 1);
                k = k.substr(0, eq);
            }
            if (kFlags.count(k)) {
                if (eq != std::string::npos) throw UsageError("--" + k + " takes no value");
                a.flags.insert(k);
            } else if (kValued.count(k)) {
                if (eq == std::string::npos) {
                    if (i + 1 >= argc) throw UsageError("--" + k + " needs a value");
                    v = argv[++i];
                }
                a.options[k] = v;
            } else {
                throw UsageError("unknown option --" + k);
            }
        } else if (a.command.empty()) {
            a.command = s;
        } else {
            a.positional.push_back(s);
        }
    }
    return a;
}

void applyOverrides(const Args& a, Json& spec) {
    if (a.options.count("threads")) {
        try {
            size_t used = 0;
            const long long t = std::stoll(a.option("threads"), &used);
            if (used != a.option("threads").size()) throw std::invalid_argument("");
            spec["threads"] = t;
        } catch (const std::exception&) {
            throw UsageError("--threads must be an integer");
        }
    }
    if (a.options.count("device")) spec["device"] = a.option("device");
}

void installCancelHandlers() {
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

int64_t runIdArg(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("expected one RUN id");
    try {
        size_t used = 0;
        const long long id = std::stoll(a.positional[0], &used);
        if (used == a.positional[0].size() && id > 0) return id;
    } catch (const std::exception&) {
    }
    throw UsageError("RUN must be a run id (a positive integer), not '" + a.positional[0] + "'");
}

}  // namespace retort::cli

// retort-cli: the headless entry point. Parses the command line, wires retort_core together,
// prints results on stdout and progress and errors on stderr. Exit: 0 ok, 1 a run failed or was
// cancelled, 2 bad usage or an invalid spec/project.

#include "clihelp.h"
#include "dataexport.h"
#include "environment.h"
#include "experimentspec.h"
#include "modelexport.h"
#include "projectstore.h"
#include "runner.h"
#include "slurm.h"
#include "specvalidator.h"

#ifdef RETORT_HAVE_REPORT
#include "reportwriter.h"
#endif

#include <sys/stat.h>
#include <unistd.h>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

using namespace retort;

namespace {

std::atomic<bool> g_cancel{false};

extern "C" void onSignal(int sig) {
    if (g_cancel.load()) {  // a second Ctrl-C: stop at once
        std::signal(sig, SIG_DFL);
        std::raise(sig);
        return;
    }
    g_cancel.store(true);
}

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The parsed command line: a command, positionals and --options.
struct Args {
    std::string command;
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;
    std::set<std::string> flags;

    bool has(const std::string& f) const { return flags.count(f) > 0; }
    std::string option(const std::string& k, const std::string& def = {}) const {
        auto it = options.find(k);
        return it == options.end() ? def : it->second;
    }
    std::string required(const std::string& k) const {
        auto it = options.find(k);
        if (it == options.end() || it->second.empty()) throw UsageError("missing --" + k);
        return it->second;
    }
};

const std::set<std::string> kFlags = {"json",          "help",  "version", "metrics",      "spec",
                                      "float-weights", "slurm", "dry-run", "teacher-only", "all"};
const std::set<std::string> kValued = {
    "project",    "threads",  "device",      "format",     "out",   "partition",
    "time",       "gres",     "mem",         "account",    "qos",   "cpus-per-task",
    "shared-dir", "settings", "sbatch-args", "retort-cli", "shard", "teacher-cache"};

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

// ---------------------------------------------------------------- formatting

std::string num(const Json& v, int precision = 4) {
    if (v.is_null()) return "-";
    if (v.is_number_integer() || v.is_number_unsigned()) return std::to_string(v.get<int64_t>());
    if (v.is_number()) {
        std::ostringstream os;
        os << std::fixed << std::setprecision(precision) << v.get<double>();
        return os.str();
    }
    return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string result(const RunRecord& r, const char* key, int precision = 4) {
    return r.results.contains(key) ? num(r.results[key], precision) : "-";
}

void printTable(const std::vector<RunRecord>& runs, std::ostream& out) {
    const std::vector<std::string> head = {"id",          "status", "name",      "test_acc",
                                           "teacher_acc", "params", "nonzero",   "size_B",
                                           "compr_B",     "ratio",  "latency_ms"};
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : runs)
        rows.push_back({std::to_string(r.id), r.status, r.name, result(r, "test_accuracy"),
                        result(r, "teacher_test_accuracy"), result(r, "param_count"),
                        result(r, "nonzero_params"), result(r, "size_bytes"),
                        result(r, "compressed_size_bytes"), result(r, "compression_ratio", 2),
                        result(r, "latency_ms", 3)});
    std::vector<size_t> w(head.size());
    for (size_t c = 0; c < head.size(); ++c) {
        w[c] = head[c].size();
        for (const auto& row : rows) w[c] = std::max(w[c], row[c].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
        for (size_t c = 0; c < cells.size(); ++c) {
            const bool left = c == 1 || c == 2;
            out << (c ? "  " : "") << (left ? std::left : std::right)
                << std::setw(static_cast<int>(w[c])) << cells[c];
        }
        out << "\n";
    };
    line(head);
    for (const auto& row : rows) line(row);
}

// ---------------------------------------------------------------- progress

class ProgressPrinter {
public:
    explicit ProgressPrinter(size_t runs) : m_runs(runs), m_tty(isatty(STDERR_FILENO)) {}
    void setRun(size_t index) { m_index = index; }
    void operator()(const Progress& p) {
        const std::string prefix =
            "[run " + std::to_string(m_index + 1) + "/" + std::to_string(m_runs) + "] ";
        if (p.kind == Progress::Kind::Message) {
            clear();
            std::cerr << prefix << p.message << "\n";
        } else if (p.kind == Progress::Kind::Batch && m_tty) {
            const int width = 24;
            const double frac = double(p.batch) / double(std::max<int64_t>(1, p.batches));
            const int fill = static_cast<int>(frac * width);
            std::ostringstream os;
            os << "\r" << prefix << p.stage << " epoch " << p.epoch << "/" << p.epochs << " ["
               << std::string(static_cast<size_t>(fill), '#')
               << std::string(static_cast<size_t>(width - fill), '.') << "] " << std::setw(3)
               << static_cast<int>(frac * 100) << "% loss " << std::fixed << std::setprecision(4)
               << p.loss << " eta " << static_cast<int>(p.eta_s) << "s\033[K";
            std::cerr << os.str() << std::flush;
            m_dirty = true;
        } else if (p.kind == Progress::Kind::Epoch) {
            clear();
            std::ostringstream os;
            os << prefix << p.stage << " epoch " << p.epoch << "/" << p.epochs << std::fixed
               << std::setprecision(4);
            for (const char* k : {"train_loss", "val_accuracy", "sparsity"})
                if (p.metrics.count(k)) os << " " << k << " " << p.metrics.at(k);
            if (p.metrics.count("epoch_seconds"))
                os << std::setprecision(1) << " (" << p.metrics.at("epoch_seconds") << " s)";
            std::cerr << os.str() << "\n";
        }
    }
    void clear() {
        if (m_dirty) std::cerr << "\r\033[K";
        m_dirty = false;
    }

private:
    size_t m_runs, m_index = 0;
    bool m_tty, m_dirty = false;
};

// ---------------------------------------------------------------- commands

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

/// Prints each distinct warning of the points once, to stderr.
void printWarnings(const std::vector<RunPoint>& points) {
    std::set<std::string> seen;
    for (const auto& p : points)
        for (const auto& w : p.spec.warnings())
            if (seen.insert(w.key + w.message).second)
                std::cerr << "warning: " << w.key << ": " << w.message << "\n";
}

int cmdValidate(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("expected one SPEC.json");
    Json spec = readSpecFile(a.positional[0]);
    applyOverrides(a, spec);
    std::unique_ptr<ProjectStore> store;
    if (a.options.count("project"))
        store = std::make_unique<ProjectStore>(a.option("project"), ProjectStore::Access::ReadOnly);
    SpecValidator validator(store.get());
    auto points = validator.plan(spec);
    printWarnings(points);
    if (a.has("json")) {
        Json j = {{"valid", true}, {"runs", Json::array()}};
        for (const auto& p : points) j["runs"].push_back({{"name", p.name}, {"params", p.params}});
        std::cout << j.dump(2) << "\n";
    } else {
        std::cout << a.positional[0] << ": valid, " << points.size() << " run"
                  << (points.size() == 1 ? "" : "s") << "\n";
        for (const auto& p : points) std::cout << "  " << p.name << "\n";
    }
    return 0;
}

int cmdRun(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("expected one SPEC.json");
    const std::string project = a.required("project");
    Json spec = readSpecFile(a.positional[0]);
    applyOverrides(a, spec);
    ProjectStore store(project);
    if (store.recoveredRuns() > 0)
        std::cerr << project << ": " << store.recoveredRuns()
                  << " run(s) left running by a stopped process are now interrupted\n";
    SpecValidator validator(&store);
    const auto points = validator.plan(spec);
    printWarnings(points);

    // Read every distinct dataset in full before creating any run: a corrupt data file is a bad
    // input (exit 2) that leaves the project as it was.
    installCancelHandlers();
    ProgressPrinter printer(points.size());
    Runner runner(
        store, [&](const Progress& p) { printer(p); }, &g_cancel);
    {
        std::set<std::string> checked;
        for (const auto& p : points) {
            if (!checked.insert(p.spec.toJson()["data"].dump()).second) continue;
            try {
                runner.prepareData(p.spec);
            } catch (const std::exception& e) {
                throw SpecError(std::vector<SpecIssue>{{"data.path", e.what()}});
            }
        }
    }

    std::vector<int64_t> ids;
    for (const auto& p : points) ids.push_back(store.createRun(p.name, p.spec.toJson(), p.params));

    bool allOk = true;
    for (size_t i = 0; i < points.size(); ++i) {
        if (g_cancel.load()) {
            store.setStatus(ids[i], "cancelled", "not started: the sweep was cancelled");
            allOk = false;
            continue;
        }
        printer.setRun(i);
        std::cerr << "[run " << i + 1 << "/" << points.size() << "] " << points[i].name << " (id "
                  << ids[i] << ")\n";
        RunOutcome o = runner.run(ids[i], points[i].spec);
        printer.clear();
        if (o.status != "completed") {
            allOk = false;
            std::cerr << "[run " << i + 1 << "/" << points.size() << "] " << o.status << ": "
                      << o.error << "\n";
        } else {
            std::cerr << "[run " << i + 1 << "/" << points.size() << "] completed: test accuracy "
                      << std::fixed << std::setprecision(4) << o.results.value("test_accuracy", 0.0)
                      << ", " << o.results.value("compressed_size_bytes", int64_t(0))
                      << " bytes compressed\n";
        }
    }
    std::vector<RunRecord> done;
    for (int64_t id : ids) done.push_back(*store.run(id));
    if (a.has("json"))
        std::cout << runsJson(project, done).dump(2) << "\n";
    else
        printTable(done, std::cout);
    return allOk ? 0 : 1;
}

int cmdResume(const Args& a) {
    const bool all = a.has("all");
    if (all && !a.positional.empty()) throw UsageError("give RUN or --all, not both");
    const int64_t single = all ? 0 : runIdArg(a);
    const std::string project = a.required("project");
    if (a.options.count("threads") || a.options.count("device"))
        throw UsageError("resume continues with the run's own threads and device");
    ProjectStore store(project);
    if (store.recoveredRuns() > 0)
        std::cerr << project << ": " << store.recoveredRuns()
                  << " run(s) left running by a stopped process are now interrupted\n";
    std::vector<int64_t> ids;
    if (all) {
        for (const auto& r : store.runs())
            if ((r.status == "interrupted" || r.status == "queued") && r.slurm_state.empty())
                ids.push_back(r.id);
        if (ids.empty()) {
            std::cerr << project << ": no interrupted or queued runs to resume\n";
            return 0;
        }
    } else {
        ids.push_back(single);
    }
    installCancelHandlers();
    ProgressPrinter printer(ids.size());
    Runner runner(
        store, [&](const Progress& p) { printer(p); }, &g_cancel);
    bool allOk = true;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (g_cancel.load()) break;
        printer.setRun(i);
        RunOutcome o;
        try {
            o = runner.resume(ids[i]);
        } catch (const std::invalid_argument& e) {
            throw UsageError(project + ": " + e.what());
        }
        printer.clear();
        if (o.status != "completed") {
            allOk = false;
            std::cerr << "[run " << i + 1 << "/" << ids.size() << "] " << o.status << ": "
                      << o.error << "\n";
        }
    }
    std::vector<RunRecord> done;
    for (int64_t id : ids) done.push_back(*store.run(id));
    if (a.has("json"))
        std::cout << runsJson(project, done).dump(2) << "\n";
    else
        printTable(done, std::cout);
    return allOk && !g_cancel.load() ? 0 : 1;
}

int cmdList(const Args& a) {
    if (!a.positional.empty()) throw UsageError("list takes no arguments");
    const std::string project = a.required("project");
    ProjectStore store(project, ProjectStore::Access::ReadOnly);
    auto runs = store.runs();
    if (a.has("json"))
        std::cout << runsJson(project, runs).dump(2) << "\n";
    else
        printTable(runs, std::cout);
    return 0;
}

int cmdDelete(const Args& a) {
    if (a.positional.empty()) throw UsageError("expected one or more RUN ids");
    std::vector<int64_t> ids;
    for (const std::string& p : a.positional) {
        Args one = a;
        one.positional = {p};
        ids.push_back(runIdArg(one));
    }
    const std::string project = a.required("project");
    ProjectStore store(project);
    try {
        store.deleteRuns(ids);
    } catch (const StoreError& e) {
        throw UsageError(e.what());
    }
    std::cerr << project << ": deleted " << ids.size() << " run(s)\n";
    return 0;
}

int cmdShow(const Args& a) {
    const int64_t id = runIdArg(a);
    const std::string project = a.required("project");
    ProjectStore store(project, ProjectStore::Access::ReadOnly);
    auto r = store.run(id);
    if (!r) throw UsageError(project + ": no run " + std::to_string(id));
    if (a.has("spec")) {  // exactly what `run` takes to repeat this run
        std::cout << r->spec.dump(2) << "\n";
        return 0;
    }
    auto metrics = store.metrics(id);
    auto layers = store.layers(id);
    if (a.has("json")) {
        Json j = runJson(*r);
        j["spec"] = r->spec;
        j["environment"] = r->environment;
        j["created_at"] = r->created_at;
        j["started_at"] = r->started_at;
        j["finished_at"] = r->finished_at;
        j["metrics"] = Json::array();
        for (const auto& m : metrics)
            j["metrics"].push_back({{"epoch", m.epoch}, {"name", m.name}, {"value", m.value}});
        j["layers"] = Json::array();
        for (const auto& l : layers)
            j["layers"].push_back(
                {{"layer", l.layer},
                 {"numel", l.numel},
                 {"nonzero", l.nonzero},
                 {"sparsity", l.numel ? 1.0 - double(l.nonzero) / double(l.numel) : 0.0}});
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    std::cout << "run " << r->id << ": " << r->name << "\n"
              << "status: " << r->status << (r->error.empty() ? "" : " (" + r->error + ")") << "\n"
              << "created " << r->created_at << ", started "
              << (r->started_at.empty() ? "-" : r->started_at) << ", finished "
              << (r->finished_at.empty() ? "-" : r->finished_at) << "\n";
    if (!r->params.empty()) std::cout << "params: " << r->params.dump() << "\n";
    std::cout << "\nspec:\n" << r->spec.dump(2) << "\n";
    // Per-epoch metrics as a table: one row per epoch, one column per metric.
    std::map<int64_t, std::map<std::string, double>> byEpoch;
    std::set<std::string> names;
    for (const auto& m : metrics) {
        byEpoch[m.epoch][m.name] = m.value;
        names.insert(m.name);
    }
    if (!byEpoch.empty()) {
        std::cout << "\nmetrics:\n" << std::setw(5) << "epoch";
        for (const auto& n : names)
            std::cout << "  " << std::setw(static_cast<int>(std::max<size_t>(n.size(), 8))) << n;
        std::cout << "\n";
        for (const auto& [e, vals] : byEpoch) {
            std::cout << std::setw(5) << e;
            for (const auto& n : names)
                std::cout << "  " << std::setw(static_cast<int>(std::max<size_t>(n.size(), 8)))
                          << (vals.count(n) ? num(vals.at(n)) : "-");
            std::cout << "\n";
        }
    }
    if (!r->results.empty()) {
        std::cout << "\nresults:\n";
        for (auto it = r->results.begin(); it != r->results.end(); ++it)
            if (!it.value().is_object() && !it.value().is_array())
                std::cout << "  " << std::left << std::setw(28) << it.key() << std::right
                          << num(it.value()) << "\n";
    }
    if (!layers.empty()) {
        std::cout << "\nlayers:\n";
        for (const auto& l : layers)
            std::cout << "  " << std::left << std::setw(24) << l.layer << std::right
                      << std::setw(10) << l.numel << " weights  " << std::setw(10) << l.nonzero
                      << " nonzero  sparsity " << std::fixed << std::setprecision(4)
                      << (l.numel ? 1.0 - double(l.nonzero) / double(l.numel) : 0.0) << "\n";
    }
    if (!r->environment.empty()) std::cout << "\nenvironment:\n" << r->environment.dump(2) << "\n";
    return 0;
}

int cmdExport(const Args& a) {
    if (!a.positional.empty()) throw UsageError("export takes no arguments");
    const std::string project = a.required("project");
    const std::string format = a.required("format");
    const std::string out = a.required("out");
    if (format != "csv" && format != "json") throw UsageError("--format must be csv or json");
    ProjectStore store(project, ProjectStore::Access::ReadOnly);
    const auto runs = store.runs();
    std::string text;
    if (a.has("metrics"))
        text = format == "csv" ? metricsCsv(store, runs) : metricsJson(store, runs).dump(2) + "\n";
    else
        text = format == "csv" ? runsCsv(runs) : runsJson(project, runs).dump(2) + "\n";
    writeExport(out, text, project);
    std::cerr << "wrote " << (a.has("metrics") ? "the metrics of " : "") << runs.size()
              << " run(s) to " << out << "\n";
    return 0;
}

int cmdExportModel(const Args& a) {
    const int64_t id = runIdArg(a);
    const std::string project = a.required("project");
    const std::string out = a.required("out");
    ModelExportOptions options;
    options.format = a.required("format");
    if (options.format != "onnx" && options.format != "pt")
        throw UsageError("--format must be onnx or pt");
    if (a.has("float-weights") && options.format != "onnx")
        throw UsageError("--float-weights applies to --format onnx only");
    options.onnxFloatWeights = a.has("float-weights");
    ProjectStore store(project, ProjectStore::Access::ReadOnly);
    std::string bytes;
    try {
        bytes = exportRunModel(store, id, options);
    } catch (const std::invalid_argument& e) {
        throw UsageError(project + ": " + e.what());
    }
    writeExport(out, bytes, project);
    std::cerr << "wrote run " << id << "'s student as " << options.format << " to " << out << " ("
              << bytes.size() << " bytes)\n";
    return 0;
}

SlurmOptions slurmOptions(const Args& a) {
    SlurmOptions o;
    o.partition = a.option("partition");
    o.time = a.option("time");
    o.gres = a.option("gres");
    o.mem = a.option("mem");
    o.account = a.option("account");
    o.qos = a.option("qos");
    o.sbatch_args = a.option("sbatch-args");
    o.shared_dir = a.option("shared-dir");
    o.retort_cli = a.option("retort-cli");
    if (!a.option("cpus-per-task").empty()) {
        try {
            o.cpus_per_task = std::stoll(a.option("cpus-per-task"));
        } catch (const std::exception&) {
            throw UsageError("--cpus-per-task must be a number");
        }
    }
    o.fillFrom(loadSlurmSettings(a.option("settings", defaultSettingsPath())));
    return o;
}

std::string selfPath() {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("retort-cli");
}

int cmdSubmit(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("expected one SPEC.json");
    if (!a.has("slurm")) throw UsageError("submit needs a scheduler: --slurm");
    const std::string project = a.required("project");
    Json spec = readSpecFile(a.positional[0]);
    applyOverrides(a, spec);
    const SlurmOptions options = slurmOptions(a);
    if (options.shared_dir.empty())  // before the project is touched
        throw UsageError(
            "no shared folder: give --shared-dir or shared-dir in the [slurm] "
            "section of " +
            a.option("settings", defaultSettingsPath()));
    if (a.has("dry-run")) {  // validates against the project if there is one; writes nothing
        const bool exists = access(project.c_str(), F_OK) == 0;
        // A scratch project of the same file name: the printed folder names match a real submit.
        const std::string scratchDir = "/tmp/retort-dry-run-" + std::to_string(getpid());
        const std::string scratch =
            scratchDir + "/" + project.substr(project.find_last_of('/') + 1);
        if (!exists) mkdir(scratchDir.c_str(), 0700);
        auto removeScratch = [&] {
            if (exists) return;
            for (const char* suffix : {"", "-wal", "-shm"}) std::remove((scratch + suffix).c_str());
            rmdir(scratchDir.c_str());
        };
        std::string script;
        try {
            ProjectStore store(exists ? project : scratch, exists
                                                               ? ProjectStore::Access::ReadOnly
                                                               : ProjectStore::Access::ReadWrite);
            script = submitSweep(store, spec, options, selfPath(), true).script;
        } catch (...) {
            removeScratch();
            throw;
        }
        removeScratch();
        std::cout << script;
        return 0;
    }
    ProjectStore store(project);
    const SubmitResult r = submitSweep(store, spec, options, selfPath(), false);
    if (a.has("json")) {
        std::cout << Json({{"job_id", r.job_id},
                           {"teacher_job", r.teacher_job},
                           {"folder", r.folder},
                           {"runs", r.runs}})
                         .dump(2)
                  << "\n";
    } else {
        std::cout << "submitted " << r.runs.size() << " run(s) as Slurm array job " << r.job_id;
        if (!r.teacher_job.empty()) std::cout << " after teacher job " << r.teacher_job;
        std::cout << "\nfolder: " << r.folder << "\nfollow with: retort-cli sync --project "
                  << project << "\n";
    }
    return 0;
}

int cmdSync(const Args& a) {
    if (!a.positional.empty()) throw UsageError("sync takes no arguments");
    const std::string project = a.required("project");
    ProjectStore store(project);
    const SyncReport r = syncSlurm(store);
    if (a.has("json")) {
        std::cout << Json({{"merged", r.merged},
                           {"failed", r.failed},
                           {"cancelled", r.cancelled},
                           {"interrupted", r.interrupted},
                           {"pending", r.pending},
                           {"running", r.running},
                           {"unanswered", r.unanswered},
                           {"done", r.done()}})
                         .dump(2)
                  << "\n";
    } else {
        std::cout << "merged " << r.merged << ", failed " << r.failed << ", cancelled "
                  << r.cancelled << ", interrupted " << r.interrupted << "; pending " << r.pending
                  << ", running " << r.running << "\n";
    }
    if (r.unanswered > 0)
        std::cerr << "sync: Slurm did not answer for " << r.unanswered
                  << " task(s); they are left as they were (try again later)\n";
    return 0;
}

int cmdCancel(const Args& a) {
    if (!a.positional.empty()) throw UsageError("cancel takes no arguments");
    ProjectStore store(a.required("project"));
    const int n = cancelSlurm(store);
    std::cerr << "cancelled " << n << " Slurm job(s); retort-cli sync records the runs\n";
    return 0;
}

int cmdRunPoint(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("expected one POINT.json");
    ProgressPrinter printer(1);  // in a task's log: plain lines
    const std::string status =
        runPoint(a.positional[0], a.required("shard"), a.option("teacher-cache"),
                 a.has("teacher-only"), [&](const Progress& p) { printer(p); });
    std::cerr << "run-point " << a.positional[0] << ": " << status << "\n";
    return status == "completed" || status == "teacher" ? 0 : 1;
}

int cmdReport(const Args& a) {
    if (!a.positional.empty()) throw UsageError("report takes no arguments");
    const std::string project = a.required("project");
    const std::string out = a.required("out");
#ifdef RETORT_HAVE_REPORT
    return ui::runReportCommand(project, out);
#else
    std::cerr << "error: this retort-cli was built without the GUI (RETORT_BUILD_GUI=OFF), and "
                 "reports need Qt; write the report with a full build, from a copy of "
              << project << "\n";
    return 2;
#endif
}

}  // namespace

int main(int argc, char** argv) {
    try {
        Args a = parse(argc, argv);
        if (a.command.empty()) {
            if (a.has("version")) {
                std::cout << "retort-cli " << versionString().substr(7) << "\n";
                return 0;
            }
            if (a.has("help")) {
                std::cout << kUsage;
                return 0;
            }
            std::cerr << kUsage;
            return 2;
        }
        if (a.has("help")) {
            std::cout << commandHelp(a.command);
            return 0;
        }
        if (a.has("version")) {
            std::cout << "retort-cli " << versionString().substr(7) << "\n";
            return 0;
        }
        if (a.command == "run") return cmdRun(a);
        if (a.command == "validate") return cmdValidate(a);
        if (a.command == "list") return cmdList(a);
        if (a.command == "show") return cmdShow(a);
        if (a.command == "delete") return cmdDelete(a);
        if (a.command == "export") return cmdExport(a);
        if (a.command == "resume") return cmdResume(a);
        if (a.command == "export-model") return cmdExportModel(a);
        if (a.command == "report") return cmdReport(a);
        if (a.command == "submit") return cmdSubmit(a);
        if (a.command == "sync") return cmdSync(a);
        if (a.command == "cancel") return cmdCancel(a);
        if (a.command == "run-point") return cmdRunPoint(a);
        throw UsageError("unknown command '" + a.command + "' (see retort-cli --help)");
    } catch (const SpecError& e) {
        for (const auto& i : e.issues())
            std::cerr << "error: " << (i.key.empty() ? "" : i.key + ": ") << i.message << "\n";
        return 2;
    } catch (const UsageError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const StoreError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }
}

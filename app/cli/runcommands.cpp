#include "cliargs.h"
#include "clioutput.h"
#include "commands.h"

#include "cluster/slurm.h"
#include "export/dataexport.h"
#include "spec/speckeys.h"
#include "spec/specvalidator.h"
#include "store/projectstore.h"
#include "train/runner.h"

#include <iomanip>
#include <iostream>
#include <memory>
#include <set>

namespace retort::cli {

namespace {

/// The runs a command worked on, as a table or (--json) one document, on stdout.
void printRuns(const Args& a, const ProjectStore& store, const std::string& project,
               const std::vector<int64_t>& ids) {
    std::vector<RunRecord> done;
    for (int64_t id : ids) done.push_back(*store.run(id));
    if (a.has("json"))
        std::cout << runsJson(project, done).dump(2) << "\n";
    else
        printTable(done, std::cout);
}

}  // namespace

int cmdKeys(const Args& a) {
    if (!a.positional.empty()) throw UsageError("keys takes no arguments");
    if (a.has("json") && a.has("markdown")) throw UsageError("give --json or --markdown, not both");
    if (a.has("json"))
        std::cout << specKeysJson().dump(2) << "\n";
    else
        std::cout << (a.has("markdown") ? specKeysMarkdown() : specKeysText());
    return 0;
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
        store, [&](const Progress& p) { printer(p); }, &cancelFlag());
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
        if (cancelFlag().load()) {
            store.setStatus(ids[i], RunStatus::Cancelled, "not started: the sweep was cancelled");
            allOk = false;
            continue;
        }
        printer.setRun(i);
        std::cerr << "[run " << i + 1 << "/" << points.size() << "] " << points[i].name << " (id "
                  << ids[i] << ")\n";
        RunOutcome o = runner.run(ids[i], points[i].spec);
        printer.clear();
        if (o.status != RunStatus::Completed) {
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
    printRuns(a, store, project, ids);
    return allOk ? 0 : 1;
}

int cmdResume(const Args& a) {
    const bool all = a.has("all");
    if (all && !a.positional.empty()) throw UsageError("give RUN or --all, not both");
    const int64_t single = all ? 0 : runIdArg(a);
    const std::string project = a.required("project");
    ProjectStore store(project);
    if (store.recoveredRuns() > 0)
        std::cerr << project << ": " << store.recoveredRuns()
                  << " run(s) left running by a stopped process are now interrupted\n";
    std::vector<int64_t> ids;
    if (all) {
        for (const auto& r : store.runs())
            if ((r.status == RunStatus::Interrupted || r.status == RunStatus::Queued) &&
                r.slurm_state.empty())
                ids.push_back(r.id);
        if (ids.empty()) {
            std::cerr << project << ": no interrupted or queued runs to resume\n";
            return 0;
        }
    } else {
        ids.push_back(single);
    }
    // --threads and --device may restate a run's own (a script passes them to every command);
    // another value would change its numbers halfway, so it is refused naming the run's.
    if (a.options.count("threads") || a.options.count("device"))
        for (int64_t id : ids) {
            const auto r = store.run(id);
            if (!r) continue;  // resume says so
            Json asked = r->spec;
            applyOverrides(a, asked);
            std::vector<SpecIssue> ignored;
            const ExperimentSpec own = ExperimentSpec::fromJson(r->spec, ignored),
                                 restated = ExperimentSpec::fromJson(asked, ignored);
            if (own.threads != restated.threads || own.device != restated.device)
                throw UsageError("resume continues run " + std::to_string(id) +
                                 " with its own threads and device (" +
                                 std::to_string(own.threads) + ", " + own.device +
                                 "): another value would change its numbers halfway");
        }
    installCancelHandlers();
    ProgressPrinter printer(ids.size());
    Runner runner(
        store, [&](const Progress& p) { printer(p); }, &cancelFlag());
    bool allOk = true;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (cancelFlag().load()) break;
        printer.setRun(i);
        RunOutcome o;
        try {
            o = runner.resume(ids[i]);
        } catch (const std::invalid_argument& e) {
            throw UsageError(project + ": " + e.what());
        }
        printer.clear();
        if (o.status != RunStatus::Completed) {
            allOk = false;
            std::cerr << "[run " << i + 1 << "/" << ids.size() << "] " << o.status << ": "
                      << o.error << "\n";
        }
    }
    printRuns(a, store, project, ids);
    return allOk && !cancelFlag().load() ? 0 : 1;
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

}  // namespace retort::cli

#include "cliargs.h"
#include "clioutput.h"
#include "commands.h"

#include "export/dataexport.h"
#include "stats/configurations.h"
#include "store/projectstore.h"
#include "store/resultcolumns.h"

#include <algorithm>
#include <iomanip>
#include <iostream>

namespace retort::cli {

namespace {

/// The comparison of a project's configurations as `compare` and `list --group` print it.
int printComparison(const Args& a, std::vector<std::string> textMetrics) {
    const std::string project = a.required("project");
    ProjectStore store(project, ProjectStore::Access::ReadOnly);
    const auto runs = store.runs();
    if (languageModelRuns(runs))  // judged by perplexity: next-token accuracy is in --json
        std::replace(textMetrics.begin(), textMetrics.end(), std::string("test_accuracy"),
                     std::string("test_perplexity"));
    std::vector<std::string> metrics = defaultComparisonMetrics(runs);
    if (a.options.count("metric")) {
        const std::string m = a.option("metric");
        bool any = false;
        for (const auto& r : runs) any = any || (r.results.contains(m) && r.results[m].is_number());
        if (!any) throw UsageError("--metric " + m + ": no completed run has that result");
        metrics = {m};
    }
    Comparison c;
    try {
        c = compareConfigurations(runs, metrics,
                                  a.options.count("baseline") ? a.option("baseline") : "");
    } catch (const std::invalid_argument& e) {
        throw UsageError(project + ": " + e.what());
    }
    if (a.has("json")) {
        Json j = comparisonJson(c);
        j["project"] = project;
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    bool first = true;
    for (size_t m = 0; m < c.metrics.size(); ++m) {
        const bool wanted =
            a.options.count("metric") ||
            std::find(textMetrics.begin(), textMetrics.end(), c.metrics[m]) != textMetrics.end();
        if (!wanted) continue;
        std::cout << (first ? "" : "\n") << comparisonText(c, m);
        first = false;
    }
    return 0;
}

}  // namespace

int cmdCompare(const Args& a) {
    if (!a.positional.empty()) throw UsageError("compare takes no arguments");
    return printComparison(a, {"test_accuracy"});
}

int cmdList(const Args& a) {
    if (!a.positional.empty()) throw UsageError("list takes no arguments");
    if (a.has("group")) return printComparison(a, {"test_accuracy", "compressed_size_bytes"});
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

int cmdPretrained(const Args& a) {
    const std::string project = a.required("project");
    ProjectStore store(project, ProjectStore::Access::ReadOnly);
    const auto list = store.pretrainedList();
    if (a.has("json")) {
        Json j = Json::array();
        for (const auto& r : list)
            j.push_back({{"id", r.id},
                         {"key", r.key},
                         {"spec", r.spec},
                         {"epochs_done", r.epochs_done},
                         {"metrics", r.metrics}});
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    if (list.empty()) std::cout << "no pretrained models\n";
    for (const auto& r : list) {
        const Json& m = r.spec.value("model", Json::object());
        const Json last = r.metrics.empty() ? Json::object() : r.metrics.back();
        const Json pre = r.spec.value("pretrain", Json::object());
        // The model keys as the spec wrote them: those left at their defaults are absent.
        std::cout << r.id << "  " << m.value("arch", "?") << " " << m.dump()
                  << " (other keys at their defaults)  epochs " << r.epochs_done << "/"
                  << pre.value("epochs", int64_t(0)) << "  seed "
                  << r.spec.value("seed", int64_t(0));
        if (last.contains("val_perplexity"))
            std::cout << "  val perplexity " << last["val_perplexity"].get<double>();
        std::cout << "\n";
    }
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
    const EpochTable table = epochTable(metrics);
    const auto& byEpoch = table.rows;
    const auto& names = table.names;
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

}  // namespace retort::cli

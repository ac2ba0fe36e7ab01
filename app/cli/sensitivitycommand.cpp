// retort-cli sensitivity: per-layer sensitivity of a completed run's student (or its teacher),
// measured on the validation split and stored beside the run.

#include "cliargs.h"
#include "commands.h"

#include "compress/sensitivity.h"
#include "data/dataset.h"
#include "models/modeldescription.h"
#include "store/projectstore.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>

namespace retort::cli {

namespace {

template <class T>
std::vector<T> listOption(const Args& a, const std::string& key, std::vector<T> def) {
    if (!a.options.count(key)) return def;
    std::vector<T> out;
    std::stringstream ss(a.option(key));
    std::string item;
    while (std::getline(ss, item, ',')) {
        try {
            size_t used = 0;
            const double v = std::stod(item, &used);
            if (used != item.size()) throw std::invalid_argument(item);
            out.push_back(static_cast<T>(v));
        } catch (const std::exception&) {
            throw UsageError("--" + key + ": '" + item + "' is not a number");
        }
    }
    return out;
}

}  // namespace

int cmdSensitivity(const Args& a) {
    const int64_t id = runIdArg(a);
    const std::string project = a.required("project");
    const std::string model = a.option("model", "student");
    if (model != "student" && model != "teacher")
        throw UsageError("--model must be student or teacher");
    SensitivityOptions options;
    options.sparsities = listOption<double>(a, "sparsities", options.sparsities);
    options.bits = listOption<int>(a, "bits", options.bits);
    ProjectStore store(project);
    const auto run = store.run(id);
    if (!run) throw UsageError(project + ": no run " + std::to_string(id));
    if (run->status != RunStatus::Completed)
        throw UsageError(project + ": run " + std::to_string(id) + " is not completed");
    std::vector<SpecIssue> issues;
    const ExperimentSpec spec = ExperimentSpec::fromJson(run->spec, issues);
    if (spec.data.format == DataFormat::Text || spec.data.format == DataFormat::Wordnet)
        throw UsageError(
            "sensitivity is implemented for image and tabular runs, not yet for "
            "text runs");
    Dataset d = loadDataset(spec.data);
    ZooNet net{nullptr};
    if (model == "student") {
        net = buildFromDescription(run->results.at("model"));
        loadModule(*net, store.artifact(id, "student").value_or(""));
    } else {
        if (!spec.teacher || spec.teacher->kind != TeacherOptions::Kind::Zoo ||
            !run->results.contains("teacher_key"))
            throw UsageError("run " + std::to_string(id) + " has no zoo teacher of its own");
        const auto t = store.teacher(run->results["teacher_key"].get<std::string>());
        if (!t) throw UsageError(project + ": the run's teacher is not stored");
        net = ZooNet(spec.teacher->model, d.shape);
        loadModule(*net, t->state);
    }
    const bool tty = isatty(fileno(stderr));
    Sensitivity s;
    try {
        s = layerSensitivity(
            net, d.val_x, d.val_y, options,
            [&](int done, int total) {
                std::cerr << (tty ? "\r" : "") << "sensitivity: " << done << "/" << total
                          << " cells" << (tty && done < total ? "" : "\n") << std::flush;
            },
            [] { return cancelFlag().load(); });
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    Json j = s.toJson();
    j["run"] = id;
    j["model"] = model;
    store.saveArtifact(id, "sensitivity_" + model, j.dump());
    if (a.has("json")) {
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    std::printf(
        "validation accuracy drop in points, one layer compressed at a time "
        "(baseline %.2f %%, %lld samples)\n",
        100 * s.baseline, static_cast<long long>(s.samples));
    std::printf("%-22s", "layer");
    for (const auto& l : s.levels) std::printf(" %13s", l.c_str());
    std::printf("\n");
    size_t k = 0;
    for (const auto& layer : s.layers) {
        std::printf("%-22s", layer.c_str());
        for (size_t i = 0; i < s.levels.size(); ++i, ++k)
            std::printf(" %+13.2f", 100 * s.cells[k].drop);
        std::printf("\n");
    }
    return 0;
}

}  // namespace retort::cli

#include "cliargs.h"
#include "clioutput.h"
#include "commands.h"

#include "export/dataexport.h"
#include "export/modelexport.h"
#include "stats/configurations.h"
#include "store/projectstore.h"

#ifdef RETORT_HAVE_REPORT
#include "report/reportwriter.h"
#endif

#include <iostream>

namespace retort::cli {

int cmdExport(const Args& a) {
    if (!a.positional.empty()) throw UsageError("export takes no arguments");
    const std::string project = a.required("project");
    const std::string format = a.required("format");
    const std::string out = a.required("out");
    if (format != "csv" && format != "json") throw UsageError("--format must be csv or json");
    ProjectStore store(project, ProjectStore::Access::ReadOnly);
    const auto runs = store.runs();
    std::string text;
    if (a.has("grouped") && a.has("metrics"))
        throw UsageError("--grouped and --metrics do not go together");
    if (a.has("grouped")) {
        Comparison c;
        try {
            c = compareConfigurations(runs, defaultComparisonMetrics(runs),
                                      a.options.count("baseline") ? a.option("baseline") : "");
        } catch (const std::invalid_argument& e) {
            throw UsageError(project + ": " + e.what());
        }
        Json j = comparisonJson(c);
        j["project"] = project;
        text = format == "csv" ? comparisonCsv(c) : j.dump(2) + "\n";
    } else if (a.has("metrics"))
        text = format == "csv" ? metricsCsv(store, runs) : metricsJson(store, runs).dump(2) + "\n";
    else
        text = format == "csv" ? runsCsv(runs) : runsJson(project, runs).dump(2) + "\n";
    writeExport(out, text, project);
    std::cerr << "wrote "
              << (a.has("metrics")   ? "the metrics of "
                  : a.has("grouped") ? "the configurations of "
                                     : "")
              << runs.size() << " run(s) to " << out << "\n";
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
    std::vector<std::string> written;
    try {
        written = writeRunModel(store, id, options, out);
    } catch (const std::invalid_argument& e) {
        throw UsageError(project + ": " + e.what());
    }
    std::cerr << "wrote run " << id << "'s student as " << options.format << " to " << out;
    if (written.size() > 1) std::cerr << " and its tokenizer to " << written[1];
    std::cerr << "\n";
    return 0;
}

int cmdReport(const Args& a) {
    if (!a.positional.empty()) throw UsageError("report takes no arguments");
    const std::string project = a.required("project");
    const std::string out = a.required("out");
    const std::string baseline = a.options.count("baseline") ? a.option("baseline") : "";
    if (!baseline.empty()) {  // a baseline that names nothing is a usage error, as in compare
        ProjectStore store(project, ProjectStore::Access::ReadOnly);
        try {
            compareConfigurations(store.runs(), {"test_accuracy"}, baseline);
        } catch (const std::invalid_argument& e) {
            throw UsageError(project + ": " + e.what());
        }
    }
#ifdef RETORT_HAVE_REPORT
    return ui::runReportCommand(project, out, baseline);
#else
    std::cerr << "error: this retort-cli was built without the report library "
                 "(RETORT_BUILD_REPORT=OFF), and "
                 "reports need Qt; write the report with a full build, from a copy of "
              << project << "\n";
    return 2;
#endif
}

}  // namespace retort::cli

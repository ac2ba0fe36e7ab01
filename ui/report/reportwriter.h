#pragma once

#include "stats/findings.h"
#include "store/projectstore.h"

#include <QImage>
#include <QString>

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace retort::ui {

/// The report of a project: its findings (each configuration against the baseline, with
/// intervals over seeds), a summary of the runs, environment, the accuracy-vs-size plot with
/// its Pareto front (and the configurations' means with whiskers when there are seeds), loss
/// curves, the results grouped by configuration, each configuration's spec as a difference
/// from the baseline's, per-layer sparsity and the commands that reproduce each run. One HTML text
/// serves both outputs: a self-contained HTML file (plots as data: URIs) and a PDF (QTextDocument
/// on QPdfWriter). Every string from the project is escaped. Plots are rendered by QCustomPlot
/// without a display: a QApplication must exist (the offscreen platform is enough).
class ReportWriter {
public:
    /// @p baseline: the configuration the findings compare with (a label or run id, as
    /// `retort-cli compare --baseline` takes it); empty, or one that names nothing: the
    /// label-only configuration.
    explicit ReportWriter(const ProjectStore& store, const std::string& baseline = "");

    /// The report as HTML. Each plot is passed to @p image (name, picture), which returns the
    /// src to use for it: a data: URI for the HTML file, a resource name for the PDF.
    /// @p print: styled for QTextDocument on paper (narrower plots, no page-width rules).
    QString html(const std::function<QString(const QString&, const QImage&)>& image,
                 bool print = false) const;

    /// Writes the report; the format follows the suffix: .html/.htm or .pdf. The file is
    /// written beside its target and renamed into place. Throws std::runtime_error naming the
    /// file and the problem.
    void write(const QString& path) const;

    /// The plots the report holds, rendered (name -> picture): "accuracy-vs-size",
    /// "train_loss", "val_accuracy" (where runs have it), and "accuracy-vs-size-means" when a
    /// configuration has several seeds (then the curves are configuration means with bands).
    std::map<QString, QImage> plots() const;

    /// Whether some configuration was measured over several seeds.
    bool hasSeeds() const;

private:
    const ProjectStore& m_store;
    std::vector<RunRecord> m_runs;
    std::optional<Findings> m_findings;  // none without completed runs
};

/// `retort-cli report`: creates an offscreen QApplication when there is none, writes the
/// report of @p project to @p out (findings against @p baseline), prints what it wrote on
/// stderr. Returns the exit status.
int runReportCommand(const std::string& project, const std::string& out,
                     const std::string& baseline = "");

}  // namespace retort::ui

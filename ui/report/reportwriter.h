#pragma once

#include "store/projectstore.h"

#include <QImage>
#include <QString>

#include <functional>
#include <map>
#include <string>

namespace retort::ui {

/// The report of a project: summary, environment, the accuracy-vs-size plot with its Pareto
/// front, loss curves, the results table, each run's spec as a difference from the baseline
/// run, per-layer sparsity and the commands that reproduce each run. One HTML text serves both
/// outputs: a self-contained HTML file (plots as data: URIs) and a PDF (QTextDocument on
/// QPdfWriter). Every string from the project is escaped. Plots are rendered by QCustomPlot
/// without a display: a QApplication must exist (the offscreen platform is enough).
class ReportWriter {
public:
    explicit ReportWriter(const ProjectStore& store);

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
    /// "train_loss", "val_accuracy" (where runs have it).
    std::map<QString, QImage> plots() const;

private:
    const ProjectStore& m_store;
    std::vector<RunRecord> m_runs;
};

/// `retort-cli report`: creates an offscreen QApplication when there is none, writes the
/// report of @p project to @p out, prints what it wrote on stderr. Returns the exit status.
int runReportCommand(const std::string& project, const std::string& out);

}  // namespace retort::ui

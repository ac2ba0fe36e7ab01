#pragma once

// The report's HTML pieces: escaping, tables whose column widths come from their contents (so
// that on A4 no header breaks into letters and no word mid-word), and the sections built on
// the configurations: Findings, the grouped results table and the specs as differences from
// the baseline configuration. Plain functions of the runs and the findings; ReportWriter puts
// them in order.

#include "stats/findings.h"
#include "store/projectstore.h"

#include <QColor>
#include <QString>
#include <QStringList>

#include <map>
#include <vector>

namespace retort::ui::report {

QString esc(const std::string& s);
QString esc(const QString& s);

/// A table of plain-text cells (escaped when written); spaces are where a cell may wrap (use
/// U+00A0 to keep words together). A row may be a group's: drawn shaded and bold.
struct Table {
    QStringList headers;
    std::vector<bool> numeric;  ///< per column: right-aligned, never wrapped
    struct Row {
        QStringList cells;
        bool group = false;    ///< a configuration's row (shaded, bold)
        int fadedColumn = -1;  ///< a cell shown faded (a difference within noise)
    };
    std::vector<Row> rows;
    /// Leading columns that say what a row is (a run's id): repeated in every part of a table
    /// too wide for the page.
    int keep = 1;
};

/// The table as HTML. Each column gets a share of the width from the longest word it must
/// hold (header words and cells) and its typical length, so that no word is broken. A table
/// whose words cannot all fit the A4 width side by side becomes several tables of the same
/// rows, each with the `keep` columns and the next columns that fit.
QString tableHtml(const Table& t);

/// The Findings section: the baseline, every configuration against it (numbered C1, C2, … as
/// in the plots and tables), the verdicts, the front of means, the teacher and the caveats.
QString findingsHtml(const Findings& f);

/// The results grouped by configuration: a row per configuration (n, mean ± interval of
/// validation and test accuracy, the difference in test accuracy to the baseline, compressed
/// size, place on the front of means) and beneath it a row per run (its seeds and figures).
/// Then the runs not completed, and a table of every run's size and speed figures.
QString groupedResultsHtml(const Findings& f, const std::vector<RunRecord>& runs);

/// A sensitivity cell's shade for an accuracy drop of @p points: white at ≤ 0, deepening (by
/// the square root, so that fractions of a point still show) to full red from 10 points.
QColor sensitivityShade(double points);

/// The per-layer sensitivity tables stored with the runs (retort-cli sensitivity) as
/// heatmaps: a row per layer, a column per level, each cell the validation accuracy drop in
/// points, shaded white to red. Empty when no run has one.
QString sensitivityHtml(const ProjectStore& store, const std::vector<RunRecord>& runs);

/// The specs: the baseline configuration's (seeds and name left out) in full, and every other
/// configuration by the keys where it differs.
QString specsHtml(const Findings& f);

}  // namespace retort::ui::report

#pragma once

#include <QColor>
#include <QString>

#include <functional>

class QCustomPlot;
class QWidget;

namespace retort::ui {

/// A stable colour for a run: the same run has the same colour in every plot and session.
QColor runColor(qint64 runId);

/// Adds a context menu to @p plot: export as PNG, as PDF, and its data as CSV (text from @p csv).
/// @p baseName names the suggested files.
void addExportMenu(QCustomPlot* plot, const QString& baseName, std::function<QString()> csv);

/// Moves the plot's legend out of the axis rectangle into a row below it, wrapping into
/// @p columns columns, so that it never covers data.
void placeLegendBelow(QCustomPlot* plot, int columns);

/// Saves a plot; the format follows the file's suffix (.png or .pdf). Returns false on failure.
bool savePlot(QCustomPlot* plot, const QString& path);

}  // namespace retort::ui

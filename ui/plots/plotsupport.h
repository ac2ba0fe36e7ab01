#pragma once

#include <QColor>
#include <QString>

#include <functional>

class QCustomPlot;
class QCPAbstractPlottable;
class QWidget;

namespace retort::ui {

/// Text from a project or spec as a tooltip: Qt guesses rich text in tooltips, so it is escaped
/// and marked as rich text holding only that literal text.
QString plainToolTip(const QString& text);

/// Shows an error whose text may hold strings from a project, as plain text.
void showError(QWidget* parent, const QString& title, const QString& text);

/// A stable colour for a run: the same run has the same colour in every plot and session.
QColor runColor(qint64 runId);

/// Adds a context menu to @p plot: export as PNG, as PDF, and its data as CSV (text from @p csv).
/// @p baseName names the suggested files.
void addExportMenu(QCustomPlot* plot, const QString& baseName, std::function<QString()> csv);

/// Moves the plot's legend out of the axis rectangle into a row below it, in as many columns
/// as fit its width (at most @p columns, refitted at every replot), so that it never covers
/// data and no entry is cut off.
void placeLegendBelow(QCustomPlot* plot, int columns);

/// Sets the below-plot legend's columns to as many as fit the plot's width (at most @p most),
/// so that no entry is cut off at the edge (placeLegendBelow calls it at every replot).
void fitLegendColumns(QCustomPlot* plot, int most);

/// A plottable's name as given: fitLegendColumns may have shortened the shown one.
QString fullName(const QCPAbstractPlottable* plottable);

/// A one-line hint in the middle of the axis rectangle (e.g. "No runs yet"); empty text removes
/// it. The axes stay drawn, so an empty plot still shows what it will plot.
void setPlotHint(QCustomPlot* plot, const QString& text);

/// Saves a plot; the format follows the file's suffix (.png or .pdf). Returns false on failure.
bool savePlot(QCustomPlot* plot, const QString& path);

}  // namespace retort::ui

#pragma once

#include "store/projectstore.h"

#include <QWidget>

class QLabel;
class QMenu;
class QSortFilterProxyModel;
class QTreeView;

namespace retort::ui {

class ConfigurationsModel;

/// The runs table's grouped form: configurations with their seeds' statistics and the
/// difference to a baseline, each expandable to its runs; a line above says what the baseline
/// is and what was left out. Right-click a configuration to make it the baseline.
class ConfigurationsView : public QWidget {
    Q_OBJECT
public:
    explicit ConfigurationsView(QWidget* parent = nullptr);

    /// Shows @p runs (the table's visible runs) grouped, against the current baseline.
    void setRuns(const std::vector<RunRecord>& runs);
    /// The baseline asked for: a configuration's label, or "" for the default (label-only).
    void setBaseline(const std::string& label);
    std::string baseline() const { return m_baseline; }
    /// The baseline in use (the one asked for, or the default when it is not among the runs).
    std::string effectiveBaseline() const;

    ConfigurationsModel* model() const { return m_model; }
    QTreeView* view() const { return m_view; }
    /// The runs of the selected rows (a configuration row selects all its runs).
    QList<qint64> selectedRunIds() const;
    /// Selects the configuration holding @p runId (and shows it).
    void selectConfigurationOf(qint64 runId);
    /// The summary line above the tree.
    QString summary() const;

Q_SIGNALS:
    /// The selection changed: the runs it covers.
    void runsSelected(const QList<qint64>& runIds);
    /// A run row was double-clicked.
    void runActivated(qint64 runId);
    /// The baseline changed (by the context menu or setBaseline).
    void baselineChanged(const QString& label);
    /// A run row's context menu: the window adds its run actions to @p menu before it opens.
    void runMenuRequested(qint64 runId, QMenu* menu);

private:
    void showMenu(const QPoint& pos);
    void refresh();

    ConfigurationsModel* m_model;
    QSortFilterProxyModel* m_proxy;
    QTreeView* m_view;
    QLabel* m_summary;
    std::vector<RunRecord> m_runs;
    std::string m_baseline;
};

}  // namespace retort::ui

#pragma once

#include "store/projectstore.h"

#include <QWidget>

class QCheckBox;
class QLineEdit;
class QMenu;
class QSortFilterProxyModel;
class QTableView;

namespace retort::ui {

class ConfigurationsView;
class RunsModel;

/// The workbench's runs, in one of two forms: the table of runs, or (Group by configuration)
/// the configurations with their seeds' statistics. One filter serves both; the plots follow
/// the runs it lets through. Owns the runs model; the window adds run actions to its menus.
class RunsPanel : public QWidget {
    Q_OBJECT
public:
    explicit RunsPanel(QWidget* parent = nullptr);

    RunsModel* model() const { return m_model; }
    QTableView* table() const { return m_view; }
    ConfigurationsView* grouped() const { return m_grouped; }

    /// Re-reads every run from @p store (sizes the columns when rows came or went).
    void reload(const ProjectStore& store);
    void clear();
    /// The runs the filter lets through, by id.
    std::vector<RunRecord> visibleRuns() const;
    /// The selected runs (in the grouped form, a configuration's row selects all its runs).
    QList<qint64> selectedRunIds() const;
    /// Selects @p runId's row, or its configuration's in the grouped form.
    void selectRun(qint64 runId);
    /// Shows the runs grouped by configuration (remembered in the settings).
    void setGrouped(bool on);
    bool isGrouped() const;
    /// Gives the grouped form the visible runs (the window calls it with the plots' update).
    void updateGrouped(const std::vector<RunRecord>& visible);

Q_SIGNALS:
    /// The filter changed: the visible runs are others.
    void filterChanged();
    /// The selection changed: the runs it covers.
    void selectionChanged(const QList<qint64>& runIds);
    void groupedChanged(bool on);
    /// A run was double-clicked (in either form).
    void runActivated(qint64 runId);
    /// A run's context menu is about to open: the window adds the run's actions to @p menu.
    void runMenuRequested(qint64 runId, QMenu* menu);

private:
    void showTableMenu(const QPoint& pos);

    RunsModel* m_model;
    QSortFilterProxyModel* m_proxy;
    QLineEdit* m_filter;
    QCheckBox* m_groupToggle;
    QTableView* m_view;
    ConfigurationsView* m_grouped;
};

}  // namespace retort::ui

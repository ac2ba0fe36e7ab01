#pragma once

#include "stats/configurations.h"
#include "store/projectstore.h"

#include <QAbstractItemModel>

#include <map>
#include <string>
#include <vector>

namespace retort::ui {

/// The runs grouped by configuration, as a tree: one row per configuration (runs whose specs
/// differ only in their seeds) with n, mean ± 95 % interval of its metrics, the difference to
/// the baseline configuration with its interval (faded when within noise) and its place on the
/// front of means; beneath it a row per run. The numbers come from stats/configurations, the
/// same functions as `retort-cli compare` and the report.
class ConfigurationsModel : public QAbstractItemModel {
    Q_OBJECT
public:
    /// Raw value for sorting (numbers sort as numbers).
    static constexpr int SortRole = Qt::UserRole + 1;
    /// The run id of a run row; -1 on a configuration row.
    static constexpr int RunIdRole = Qt::UserRole + 2;
    /// A configuration row's label (the baseline's name); on a run row, its configuration's.
    static constexpr int LabelRole = Qt::UserRole + 3;
    /// Whether a difference cell is within noise (or has no interval): bool, on Δ columns.
    static constexpr int WithinNoiseRole = Qt::UserRole + 4;

    explicit ConfigurationsModel(QObject* parent = nullptr);

    /// Groups @p runs and compares them with @p baseline (a configuration's label or a run id;
    /// empty: the label-only configuration). A baseline that names nothing here (the filter
    /// hid it, its runs were deleted) falls back to the default; baselineNote() says so.
    void setRuns(const std::vector<RunRecord>& runs, const std::string& baseline);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    /// The comparison shown (empty configurations when no run is completed).
    const Comparison& comparison() const { return m_comparison; }
    /// The configurations' places against the front of means, by configuration index.
    FrontStatus frontStatus(size_t configuration) const;
    /// The baseline's label ("" when there is none).
    std::string baselineLabel() const;
    /// Why the baseline is the one it is, and whether the one asked for was not found.
    QString baselineNote() const { return m_note; }
    /// Whether the baseline asked for was found among the runs.
    bool baselineFound() const { return m_found; }
    /// Runs given that are not completed (not grouped).
    int ungroupedRuns() const { return m_ungrouped; }
    /// The row of the configuration holding @p runId, or -1.
    int rowOfRun(qint64 runId) const;
    /// The run ids of configuration row @p row.
    QList<qint64> runIds(int row) const;

private:
    struct Column {
        QString title;
        size_t metric;    ///< index into the comparison's metrics
        bool difference;  ///< the difference to the baseline, not the value
    };
    QVariant configurationData(int row, int column, int role) const;
    QVariant runData(int row, int child, int column, int role) const;

    Comparison m_comparison;
    std::vector<Column> m_columns;  // after the fixed ones (configuration, n)
    std::map<size_t, FrontStatus> m_front;
    std::map<int64_t, RunRecord> m_runs;
    QString m_note;
    int m_ungrouped = 0;
    bool m_found = true;
};

}  // namespace retort::ui

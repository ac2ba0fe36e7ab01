#pragma once

#include "plots/plotsupport.h"
#include "store/projectstore.h"
#include "store/resultcolumns.h"

#include <QAbstractTableModel>
#include <QHash>

class QWidget;

namespace retort::ui {

/// The project's runs as a table. Reads from the store only; live progress text for the run in
/// progress comes from the worker's signals.
class RunsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    /// The run's own columns; the result columns (resultColumns() shown in the table) follow.
    enum Column { Id, Status, Name, Swept, FirstResult, TestAccuracy = FirstResult };
    /// Raw value for sorting (numbers sort as numbers).
    static constexpr int SortRole = Qt::UserRole + 1;
    /// The run id of a row.
    static constexpr int RunIdRole = Qt::UserRole + 2;

    explicit RunsModel(QObject* parent = nullptr);

    /// Re-reads every run from @p store (keeps rows stable where runs are unchanged).
    void reload(const ProjectStore& store);
    void clear();
    /// Shows @p text as the status of a running run until the next reload.
    void setLiveStatus(qint64 runId, const QString& text);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    const RunRecord& run(int row) const { return m_runs.at(size_t(row)); }
    int rowOf(qint64 runId) const;
    const std::vector<RunRecord>& runs() const { return m_runs; }

private:
    int columnCountTotal() const;
    std::vector<RunRecord> m_runs;
    QHash<qint64, QString> m_live;
};

/// The result columns the runs table shows, in order.
const std::vector<const ResultColumn*>& tableResultColumns();

}  // namespace retort::ui

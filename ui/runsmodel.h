#pragma once

#include "projectstore.h"

#include <QAbstractTableModel>
#include <QHash>

class QWidget;

namespace retort::ui {

/// The project's runs as a table. Reads from the store only; live progress text for the run in
/// progress comes from the worker's signals.
class RunsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Id,
        Status,
        Name,
        Swept,
        TeacherAccuracy,
        TestAccuracy,
        Params,
        Nonzero,
        DenseSize,
        CompressedSize,
        Ratio,
        Latency,
        ColumnCount
    };
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
    std::vector<RunRecord> m_runs;
    QHash<qint64, QString> m_live;
};

/// Text from a project or spec as a tooltip: Qt guesses rich text in tooltips, so it is escaped
/// and marked as rich text holding only that literal text.
QString plainToolTip(const QString& text);

/// Shows an error whose text may hold strings from a project, as plain text.
void showError(QWidget* parent, const QString& title, const QString& text);

/// "12.3 kB"-style size text.
QString formatBytes(double bytes);
/// The swept values of a run as "temperature=4, lambda=0.9".
QString sweptText(const RunRecord& run);

}  // namespace retort::ui

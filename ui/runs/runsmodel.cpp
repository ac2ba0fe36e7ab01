#include "runs/runsmodel.h"

#include "plots/plotsupport.h"

#include <QBrush>
#include <QColor>

namespace retort::ui {

const std::vector<const ResultColumn*>& tableResultColumns() {
    static const std::vector<const ResultColumn*> columns = [] {
        std::vector<const ResultColumn*> c;
        for (const auto& col : resultColumns())
            if (col.in_table) c.push_back(&col);
        return c;
    }();
    return columns;
}

int RunsModel::columnCountTotal() const {
    return FirstResult + int(tableResultColumns().size());
}

RunsModel::RunsModel(QObject* parent) : QAbstractTableModel(parent) {}

namespace {

/// Whether a run in @p status may show the worker's live status: a running run, and a queued
/// one whose row the table has not read again since the worker started it (a fast run's live
/// status came and went while its row still said "queued").
bool mayBeLive(RunStatus status) {
    return status == RunStatus::Running || status == RunStatus::Queued;
}

}  // namespace

void RunsModel::reload(const ProjectStore& store) {
    std::vector<RunRecord> fresh = store.runs();
    if (fresh.size() == m_runs.size()) {
        // Same rows: update in place so selections and scroll positions stay.
        m_runs = std::move(fresh);
        for (const auto& r : m_runs)
            if (!mayBeLive(r.status)) m_live.remove(r.id);
        if (!m_runs.empty())
            Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, columnCountTotal() - 1));
        return;
    }
    beginResetModel();
    m_runs = std::move(fresh);
    for (const auto& r : m_runs)
        if (!mayBeLive(r.status)) m_live.remove(r.id);
    endResetModel();
}

void RunsModel::clear() {
    beginResetModel();
    m_runs.clear();
    m_live.clear();
    endResetModel();
}

void RunsModel::setLiveStatus(qint64 runId, const QString& text) {
    m_live[runId] = text;
    const int row = rowOf(runId);
    if (row >= 0) Q_EMIT dataChanged(index(row, Status), index(row, Status));
}

int RunsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : int(m_runs.size());
}

int RunsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : columnCountTotal();
}

int RunsModel::rowOf(qint64 runId) const {
    for (size_t i = 0; i < m_runs.size(); ++i)
        if (m_runs[i].id == runId) return int(i);
    return -1;
}

QVariant RunsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const RunRecord& r = m_runs[size_t(index.row())];
    const ResultColumn* column = index.column() >= FirstResult
                                     ? tableResultColumns().at(size_t(index.column() - FirstResult))
                                     : nullptr;
    if (role == RunIdRole) return QVariant::fromValue<qint64>(r.id);
    if (role == SortRole) {
        switch (index.column()) {
            case Id:
                return QVariant::fromValue<qint64>(r.id);
            case Status:
                return QString::fromUtf8(statusName(r.status));
            case Name:
                return QString::fromStdString(r.name);
            case Swept:
                return QString::fromStdString(sweptText(r));
        }
        const Json* v = resultValue(r, *column);
        return v && v->is_number() ? QVariant(v->get<double>()) : QVariant();
    }
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
            case Id:
                return QStringLiteral("#%1").arg(r.id);  // as the plots name runs
            case Status:
                if (!r.slurm_state.empty() && r.status == RunStatus::Queued)
                    return tr("Slurm: %1").arg(QString::fromStdString(r.slurm_state).toLower());
                return m_live.contains(r.id) && mayBeLive(r.status)
                           ? m_live.value(r.id)
                           : QString::fromUtf8(statusName(r.status));
            case Name:
                return QString::fromStdString(r.name);
            case Swept:
                return QString::fromStdString(sweptText(r));
        }
        return QString::fromStdString(humanResultText(resultValue(r, *column), column->kind));
    }
    if (role == Qt::TextAlignmentRole && column) return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole) {
        if (!r.error.empty()) return plainToolTip(QString::fromStdString(r.error));
        if (index.column() == Status && r.results.contains("warnings") &&
            r.results["warnings"].is_array()) {
            QStringList lines;
            for (const auto& w : r.results["warnings"])
                if (w.is_string())
                    lines << QStringLiteral("warning: ") +
                                 QString::fromStdString(w.get<std::string>());
            return plainToolTip(lines.join('\n'));
        }
        if (index.column() == Name) return plainToolTip(QString::fromStdString(r.name));
    }
    if (role == Qt::ForegroundRole && index.column() == Status) {
        if (r.status == RunStatus::Failed) return QBrush(QColor(0xc0, 0x39, 0x2b));
        if (r.status == RunStatus::Cancelled || r.status == RunStatus::Interrupted)
            return QBrush(QColor(0xb9, 0x77, 0x0e));
        if (r.status == RunStatus::Running) return QBrush(QColor(0x21, 0x61, 0xa6));
    }
    return {};
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    static const char* names[] = {"Id", "Status", "Name", "Swept values"};
    if (section >= 0 && section < FirstResult) return QString::fromLatin1(names[section]);
    if (section >= FirstResult && section < columnCountTotal())
        return QString::fromUtf8(tableResultColumns()[size_t(section - FirstResult)]->title);
    return {};
}

}  // namespace retort::ui

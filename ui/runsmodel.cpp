#include "runsmodel.h"

#include <QBrush>
#include <QColor>
#include <QLocale>
#include <QMessageBox>

namespace retort::ui {

QString plainToolTip(const QString& text) {
    if (text.isEmpty()) return text;
    return QStringLiteral("<p style='white-space:pre'>") + text.toHtmlEscaped() +
           QStringLiteral("</p>");
}

void showError(QWidget* parent, const QString& title, const QString& text) {
    QMessageBox box(QMessageBox::Critical, title, text, QMessageBox::Ok, parent);
    box.setTextFormat(Qt::PlainText);
    box.exec();
}

QString formatBytes(double b) {
    if (b < 1024) return QString::number(b, 'f', 0) + QStringLiteral(" B");
    if (b < 1024 * 1024) return QString::number(b / 1024, 'f', 1) + QStringLiteral(" KiB");
    return QString::number(b / (1024 * 1024), 'f', 2) + QStringLiteral(" MiB");
}

QString sweptText(const RunRecord& run) {
    QStringList parts;
    for (auto it = run.params.begin(); it != run.params.end(); ++it) {
        const std::string leaf = it.key().substr(it.key().rfind('.') + 1);
        parts << QString::fromStdString(leaf + "=" + formatValue(it.value()));
    }
    return parts.join(QStringLiteral(", "));
}

RunsModel::RunsModel(QObject* parent) : QAbstractTableModel(parent) {}

void RunsModel::reload(const ProjectStore& store) {
    std::vector<RunRecord> fresh = store.runs();
    if (fresh.size() == m_runs.size()) {
        // Same rows: update in place so selections and scroll positions stay.
        m_runs = std::move(fresh);
        for (const auto& r : m_runs)
            if (r.status != "running") m_live.remove(r.id);
        if (!m_runs.empty())
            Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
        return;
    }
    beginResetModel();
    m_runs = std::move(fresh);
    for (const auto& r : m_runs)
        if (r.status != "running") m_live.remove(r.id);
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
    return parent.isValid() ? 0 : ColumnCount;
}

int RunsModel::rowOf(qint64 runId) const {
    for (size_t i = 0; i < m_runs.size(); ++i)
        if (m_runs[i].id == runId) return int(i);
    return -1;
}

QVariant RunsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const RunRecord& r = m_runs[size_t(index.row())];
    const Json& res = r.results;
    auto number = [&](const char* key) -> QVariant {
        return res.contains(key) && res[key].is_number() ? QVariant(res[key].get<double>())
                                                         : QVariant();
    };
    if (role == RunIdRole) return QVariant::fromValue<qint64>(r.id);
    if (role == SortRole) {
        switch (index.column()) {
            case Id:
                return QVariant::fromValue<qint64>(r.id);
            case Status:
                return QString::fromStdString(r.status);
            case Name:
                return QString::fromStdString(r.name);
            case Swept:
                return sweptText(r);
            case TeacherAccuracy:
                return number("teacher_test_accuracy");
            case TestAccuracy:
                return number("test_accuracy");
            case Params:
                return number("param_count");
            case Nonzero:
                return number("nonzero_params");
            case DenseSize:
                return number("size_bytes");
            case CompressedSize:
                return number("compressed_size_bytes");
            case Ratio:
                return number("compression_ratio");
            case Latency:
                return number("latency_ms");
        }
    }
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
            case Id:
                return QStringLiteral("#%1").arg(r.id);  // as the plots name runs
            case Status:
                if (!r.slurm_state.empty() && r.status == "queued")
                    return tr("Slurm: %1").arg(QString::fromStdString(r.slurm_state).toLower());
                return m_live.contains(r.id) && r.status == "running"
                           ? m_live.value(r.id)
                           : QString::fromStdString(r.status);
            case Name:
                return QString::fromStdString(r.name);
            case Swept:
                return sweptText(r);
            default:
                break;
        }
        const QVariant v = data(index, SortRole);
        if (!v.isValid()) return QStringLiteral("–");
        const double d = v.toDouble();
        switch (index.column()) {
            case TeacherAccuracy:
            case TestAccuracy:
                return QString::number(d * 100, 'f', 2) + QStringLiteral(" %");
            case Params:
            case Nonzero:
                return QLocale().toString(qlonglong(d));
            case DenseSize:
            case CompressedSize:
                return formatBytes(d);
            case Ratio:
                return QString::number(d, 'f', 1) + QStringLiteral("×");
            case Latency:
                return QString::number(d, 'f', 3) + QStringLiteral(" ms");
        }
    }
    if (role == Qt::TextAlignmentRole && index.column() >= TeacherAccuracy)
        return int(Qt::AlignRight | Qt::AlignVCenter);
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
        if (r.status == "failed") return QBrush(QColor(0xc0, 0x39, 0x2b));
        if (r.status == "cancelled" || r.status == "interrupted")
            return QBrush(QColor(0xb9, 0x77, 0x0e));
        if (r.status == "running") return QBrush(QColor(0x21, 0x61, 0xa6));
    }
    return {};
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    static const char* names[] = {"Id",           "Status",     "Name",   "Swept values",
                                  "Teacher acc.", "Test acc.",  "Params", "Nonzero",
                                  "Dense size",   "Compressed", "Ratio",  "Latency"};
    return section >= 0 && section < ColumnCount ? QString::fromLatin1(names[section]) : QVariant();
}

}  // namespace retort::ui

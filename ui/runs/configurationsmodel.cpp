#include "runs/configurationsmodel.h"

#include "stats/findings.h"
#include "store/resultcolumns.h"

#include <QBrush>
#include <QColor>
#include <QFont>

#include <cmath>

namespace retort::ui {

namespace {

enum FixedColumn { ConfigurationColumn, CountColumn, FirstMetricColumn };

const QColor kFaded(0x9a, 0x9a, 0x9a);
const QColor kBetter(0x1e, 0x7b, 0x34);
const QColor kWorse(0xb0, 0x2a, 0x1e);

QString points(double fraction) {
    return QString::fromStdString(signedPoints(fraction));
}

bool isSize(const std::string& metric) {
    return metric.find("bytes") != std::string::npos;
}

QString valueText(const std::string& metric, double v) {
    if (!std::isfinite(v)) return QStringLiteral("–");
    if (isSize(metric)) return QString::fromStdString(formatBytes(v));
    if (!fractionMetric(metric)) return QString::number(v, 'f', 2);  // perplexity
    return QString::number(v * 100, 'f', 2) + QStringLiteral(" %");
}

/// A difference of @p metric: "+0.31 pt" for a fraction, "−5.04" for a perplexity.
QString differenceText(const std::string& metric, double d) {
    if (fractionMetric(metric)) return points(d) + QStringLiteral(" pt");
    return QString::fromStdString(signedNumber(d));
}

/// Whether a difference of @p metric is an improvement.
bool improves(const std::string& metric, double d) {
    return lowerIsBetter(metric) ? d < 0 : d > 0;
}

QString kindText(const Difference& d) {
    switch (d.kind) {
        case DifferenceKind::Paired:
            return ConfigurationsModel::tr("paired over %n seed(s), t with %1 df", "", int(d.n))
                .arg(d.df, 0, 'g', 3);
        case DifferenceKind::Unpaired:
            return ConfigurationsModel::tr("unpaired (Welch), %1 df").arg(d.df, 0, 'g', 3);
        case DifferenceKind::None:
            break;
    }
    return ConfigurationsModel::tr("no interval: one seed on a side");
}

}  // namespace

ConfigurationsModel::ConfigurationsModel(QObject* parent) : QAbstractItemModel(parent) {}

void ConfigurationsModel::setRuns(const std::vector<RunRecord>& runs, const std::string& baseline) {
    beginResetModel();
    m_comparison = Comparison();
    m_columns.clear();
    m_front.clear();
    m_runs.clear();
    m_note.clear();
    m_ungrouped = 0;
    m_found = baseline.empty();
    for (const auto& r : runs) {
        m_runs[r.id] = r;
        m_ungrouped += r.status != RunStatus::Completed;
    }
    const auto metrics = defaultComparisonMetrics(runs);
    if (int(runs.size()) > m_ungrouped) {
        try {
            m_comparison = compareConfigurations(runs, metrics, baseline);
            m_found = true;
        } catch (const std::invalid_argument&) {
            m_found = false;
            m_comparison = compareConfigurations(runs, metrics);
            m_note = tr("The baseline %1 is not among these runs; ")
                         .arg(QString::fromStdString(baseline));
        }
        m_note += QString::fromStdString(m_comparison.baselineReason);
        for (const auto& p : configurationFront(m_comparison.configurations, runs))
            m_front[p.configuration] = p.status;
    }
    const auto& m = m_comparison.metrics;
    for (size_t i = 0; i < m.size(); ++i) {
        if (m[i] == "val_macro_f1") continue;  // the test figure and its difference suffice
        const bool test = m[i].rfind("test_", 0) == 0;
        const QString title = m[i] == "val_accuracy"            ? tr("Val. acc.")
                              : m[i] == "test_accuracy"         ? tr("Test acc.")
                              : m[i] == "val_perplexity"        ? tr("Val. ppl.")
                              : m[i] == "test_perplexity"       ? tr("Test ppl.")
                              : m[i] == "test_macro_f1"         ? tr("Test macro-F1")
                              : m[i] == "compressed_size_bytes" ? tr("Compressed")
                                                                : QString::fromStdString(m[i]);
        m_columns.push_back({title, i, false});
        if (test) m_columns.push_back({tr("Δ %1 vs baseline").arg(title.toLower()), i, true});
    }
    endResetModel();
}

FrontStatus ConfigurationsModel::frontStatus(size_t configuration) const {
    auto it = m_front.find(configuration);
    return it == m_front.end() ? FrontStatus::Dominated : it->second;
}

std::string ConfigurationsModel::baselineLabel() const {
    return m_comparison.configurations.empty()
               ? std::string()
               : m_comparison.configurations[m_comparison.baseline].label;
}

int ConfigurationsModel::rowOfRun(qint64 runId) const {
    const auto& confs = m_comparison.configurations;
    for (size_t i = 0; i < confs.size(); ++i)
        for (int64_t id : confs[i].runs)
            if (id == runId) return int(i);
    return -1;
}

QList<qint64> ConfigurationsModel::runIds(int row) const {
    QList<qint64> ids;
    if (row >= 0 && size_t(row) < m_comparison.configurations.size())
        for (int64_t id : m_comparison.configurations[size_t(row)].runs) ids << id;
    return ids;
}

int ConfigurationsModel::rowCount(const QModelIndex& parent) const {
    if (!parent.isValid()) return int(m_comparison.configurations.size());
    if (parent.internalId() != 0 || parent.column() != 0) return 0;  // runs have no children
    return int(m_comparison.configurations[size_t(parent.row())].runs.size());
}

int ConfigurationsModel::columnCount(const QModelIndex&) const {
    return FirstMetricColumn + int(m_columns.size()) + 1;  // … and the front
}

QModelIndex ConfigurationsModel::index(int row, int column, const QModelIndex& parent) const {
    if (!hasIndex(row, column, parent)) return {};
    // Configuration rows carry id 0; a run row carries its configuration's row + 1.
    return createIndex(row, column, parent.isValid() ? quintptr(parent.row() + 1) : quintptr(0));
}

QModelIndex ConfigurationsModel::parent(const QModelIndex& child) const {
    if (!child.isValid() || child.internalId() == 0) return {};
    return createIndex(int(child.internalId() - 1), 0, quintptr(0));
}

QVariant ConfigurationsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal) return {};
    const int front = columnCount() - 1;
    if (role == Qt::ToolTipRole) {
        if (section == CountColumn) return tr("Completed runs (seeds) of the configuration");
        if (section == front)
            return tr(
                "Against the Pareto front of means (validation accuracy, or validation "
                "perplexity for language models, vs size): front; undecided when a "
                "configuration as small or smaller is as good within noise; dominated when "
                "one is better beyond noise");
        if (section >= FirstMetricColumn && section < front)
            return m_columns[size_t(section - FirstMetricColumn)].difference
                       ? tr("Mean difference to the baseline (percentage points; perplexity "
                            "in its own units, lower is better) with its 95 % interval; faded "
                            "when the interval holds 0 (within noise)")
                       : tr("Mean over seeds ± half-width of its 95 % interval (Student's t)");
        return {};
    }
    if (role != Qt::DisplayRole) return {};
    if (section == ConfigurationColumn) return tr("Configuration");
    if (section == CountColumn) return tr("n");
    if (section == front) return tr("Front");
    if (section > ConfigurationColumn && section < front)
        return m_columns[size_t(section - FirstMetricColumn)].title;
    return {};
}

QVariant ConfigurationsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid()) return {};
    if (index.internalId() == 0) return configurationData(index.row(), index.column(), role);
    return runData(int(index.internalId() - 1), index.row(), index.column(), role);
}

QVariant ConfigurationsModel::configurationData(int row, int column, int role) const {
    const auto& c = m_comparison;
    const auto& conf = c.configurations.at(size_t(row));
    const bool base = size_t(row) == c.baseline;
    const int front = columnCount() - 1;
    if (role == RunIdRole) return QVariant::fromValue<qint64>(-1);
    if (role == LabelRole) return QString::fromStdString(conf.label);
    if (role == Qt::FontRole && base) {
        QFont f;
        f.setBold(true);
        return f;
    }
    if (column == ConfigurationColumn) {
        if (role == Qt::DisplayRole)
            return QString::fromStdString(conf.label) + (base ? tr("  (baseline)") : QString());
        if (role == SortRole) return row;
        if (role == Qt::ToolTipRole)  // the label may be cut off in the column
            return QString::fromStdString(conf.label) +
                   (base ? QStringLiteral("\n") + m_note : QString());
        return {};
    }
    if (column == CountColumn) {
        if (role == Qt::DisplayRole || role == SortRole) return int(conf.runs.size());
        if (role == Qt::TextAlignmentRole) return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    }
    if (column == front) {
        const FrontStatus s = frontStatus(size_t(row));
        if (role == Qt::DisplayRole) return QString::fromLatin1(frontStatusName(s));
        if (role == SortRole) return int(s);
        if (role == Qt::ForegroundRole && s == FrontStatus::Dominated) return QBrush(kFaded);
        return {};
    }
    const Column& col = m_columns.at(size_t(column - FirstMetricColumn));
    const std::string& metric = c.metrics[col.metric];
    const ConfigurationMetric& v = c.values[size_t(row)][col.metric];
    if (role == Qt::TextAlignmentRole) return int(Qt::AlignRight | Qt::AlignVCenter);
    if (!col.difference) {
        const MeanInterval& m = v.value;
        if (role == SortRole) return std::isfinite(m.mean) ? QVariant(m.mean) : QVariant();
        if (role == Qt::DisplayRole) {
            if (m.n == 0) return QStringLiteral("–");
            if (isSize(metric) || !m.hasInterval()) return valueText(metric, m.mean);
            if (!fractionMetric(metric))
                return QStringLiteral("%1 ± %2").arg(m.mean, 0, 'f', 2).arg(m.half, 0, 'f', 2);
            return QStringLiteral("%1 ± %2 %")
                .arg(m.mean * 100, 0, 'f', 2)
                .arg(m.half * 100, 0, 'f', 2);
        }
        if (role == Qt::ToolTipRole && m.hasInterval() && !isSize(metric)) {
            if (!fractionMetric(metric))
                return tr("mean %1 over %n seed(s); 95 % interval [%2, %3]; sd %4", "", int(m.n))
                    .arg(valueText(metric, m.mean))
                    .arg(m.low(), 0, 'f', 2)
                    .arg(m.high(), 0, 'f', 2)
                    .arg(m.sd, 0, 'f', 2);
            return tr("mean %1 over %n seed(s); 95 % interval [%2, %3] %; sd %4 pt", "", int(m.n))
                .arg(valueText(metric, m.mean))
                .arg(m.low() * 100, 0, 'f', 2)
                .arg(m.high() * 100, 0, 'f', 2)
                .arg(m.sd * 100, 0, 'f', 2);
        }
        return {};
    }
    const Difference& d = v.difference;
    if (role == SortRole) return !base && std::isfinite(d.mean) ? QVariant(d.mean) : QVariant();
    // The verdict the Findings give: Holm-adjusted over the configurations compared.
    if (role == WithinNoiseRole) return base || !d.beyondNoise();
    if (base) return role == Qt::DisplayRole ? tr("baseline") : QVariant();
    if (!std::isfinite(d.mean)) return role == Qt::DisplayRole ? QStringLiteral("–") : QVariant();
    if (role == Qt::DisplayRole) {
        if (d.kind == DifferenceKind::None)
            return tr("%1 (one seed)").arg(differenceText(metric, d.mean));
        const QString unit = fractionMetric(metric) ? QStringLiteral(" pt") : QString();
        auto bare = [&](double x) {
            QString t = differenceText(metric, x);
            return unit.isEmpty() ? t : t.chopped(unit.size());
        };
        return QStringLiteral("%1 [%2, %3]%4")
            .arg(bare(d.mean), bare(d.low()), bare(d.high()), unit);
    }
    if (role == Qt::ForegroundRole)
        return QBrush(!d.beyondNoise() ? kFaded : improves(metric, d.mean) ? kBetter : kWorse);
    if (role == Qt::ToolTipRole)
        return tr("%1 − baseline, %2: %3")
            .arg(QString::fromStdString(conf.label), kindText(d),
                 d.kind == DifferenceKind::None ? tr("not a finding")
                 : d.withinNoise()              ? tr("within noise (the interval holds 0)")
                 : !d.beyondNoise() ? tr("within noise after Holm's correction (adjusted p %1)")
                                          .arg(QString::fromStdString(pValueText(d.pAdjusted)))
                 : improves(metric, d.mean) ? tr("better beyond noise")
                                            : tr("worse beyond noise"));
    return {};
}

QVariant ConfigurationsModel::runData(int row, int child, int column, int role) const {
    const auto& c = m_comparison;
    const auto& conf = c.configurations.at(size_t(row));
    const int64_t id = conf.runs.at(size_t(child));
    const RunRecord& r = m_runs.at(id);
    const int front = columnCount() - 1;
    if (role == RunIdRole) return QVariant::fromValue<qint64>(id);
    if (role == LabelRole) return QString::fromStdString(conf.label);
    if (column == ConfigurationColumn) {
        if (role == Qt::DisplayRole)
            return QStringLiteral("#%1  %2").arg(id).arg(
                QString::fromStdString(conf.shownSeeds.at(size_t(child))));
        if (role == SortRole) return QVariant::fromValue<qint64>(id);
        if (role == Qt::ToolTipRole) return QString::fromStdString(r.name);
        return {};
    }
    if (column == CountColumn)
        return role == Qt::DisplayRole ? QString::fromUtf8(statusName(r.status)) : QVariant();
    if (column == front) return {};
    if (role == Qt::TextAlignmentRole) return int(Qt::AlignRight | Qt::AlignVCenter);
    const Column& col = m_columns.at(size_t(column - FirstMetricColumn));
    const std::string& metric = c.metrics[col.metric];
    auto valueOf = [&](const RunRecord& run) {
        auto it = run.results.find(metric);
        return it != run.results.end() && it->is_number() ? it->get<double>() : NAN;
    };
    const double mine = valueOf(r);
    if (!col.difference) {
        if (role == Qt::DisplayRole) return valueText(metric, mine);
        if (role == SortRole) return std::isfinite(mine) ? QVariant(mine) : QVariant();
        return {};
    }
    // A run's own difference: to the baseline's run of the same seeds, as pairing uses it.
    if (size_t(row) == c.baseline) return {};
    const auto& b = c.configurations[c.baseline];
    for (size_t k = 0; k < b.runs.size(); ++k)
        if (b.seeds[k] == conf.seeds[size_t(child)]) {
            const double diff = mine - valueOf(m_runs.at(b.runs[k]));
            if (!std::isfinite(diff)) return {};
            if (role == Qt::DisplayRole) return differenceText(metric, diff);
            if (role == SortRole) return diff;
            if (role == Qt::ToolTipRole)
                return tr("against the baseline's run %1 of the same seeds").arg(b.runs[k]);
            if (role == Qt::ForegroundRole) return QBrush(kFaded);
        }
    return {};
}

}  // namespace retort::ui

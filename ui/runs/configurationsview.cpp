#include "runs/configurationsview.h"

#include "runs/configurationsmodel.h"

#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QSortFilterProxyModel>
#include <QTreeView>
#include <QVBoxLayout>

namespace retort::ui {

ConfigurationsView::ConfigurationsView(QWidget* parent)
    : QWidget(parent),
      m_model(new ConfigurationsModel(this)),
      m_proxy(new QSortFilterProxyModel(this)),
      m_view(new QTreeView(this)),
      m_summary(new QLabel(this)) {
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(ConfigurationsModel::SortRole);
    m_view->setObjectName(QStringLiteral("configurationsView"));
    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(-1, Qt::AscendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setUniformRowHeights(true);
    m_view->setWordWrap(false);
    m_view->header()->setStretchLastSection(true);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    m_summary->setObjectName(QStringLiteral("groupSummary"));
    m_summary->setWordWrap(true);
    m_summary->setStyleSheet(QStringLiteral("color: #505050"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addWidget(m_summary);
    layout->addWidget(m_view, 1);
    connect(m_view, &QWidget::customContextMenuRequested, this, &ConfigurationsView::showMenu);
    connect(m_view, &QTreeView::doubleClicked, this, [this](const QModelIndex& i) {
        const qint64 id = i.data(ConfigurationsModel::RunIdRole).toLongLong();
        if (id >= 0) Q_EMIT runActivated(id);
    });
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { Q_EMIT runsSelected(selectedRunIds()); });
}

void ConfigurationsView::setRuns(const std::vector<RunRecord>& runs) {
    m_runs = runs;
    refresh();
}

void ConfigurationsView::setBaseline(const std::string& label) {
    if (label == m_baseline) return;
    m_baseline = label;
    refresh();
    Q_EMIT baselineChanged(QString::fromStdString(m_baseline));
}

std::string ConfigurationsView::effectiveBaseline() const {
    return m_model->baselineLabel();
}

void ConfigurationsView::refresh() {
    // Rows are rebuilt: keep which configurations were expanded and selected, by label.
    QStringList expanded, selected;
    for (int r = 0; r < m_proxy->rowCount(); ++r) {
        const QModelIndex i = m_proxy->index(r, 0);
        if (m_view->isExpanded(i)) expanded << i.data(ConfigurationsModel::LabelRole).toString();
    }
    for (const QModelIndex& i : m_view->selectionModel()->selectedRows())
        if (!i.parent().isValid()) selected << i.data(ConfigurationsModel::LabelRole).toString();
    m_model->setRuns(m_runs, m_baseline);
    // A run id names its configuration: kept by label, which outlives the run.
    if (!m_baseline.empty() && m_model->baselineFound() &&
        m_baseline.find_first_not_of("0123456789") == std::string::npos)
        m_baseline = m_model->baselineLabel();
    for (int r = 0; r < m_proxy->rowCount(); ++r) {
        const QModelIndex i = m_proxy->index(r, 0);
        const QString label = i.data(ConfigurationsModel::LabelRole).toString();
        if (expanded.contains(label)) m_view->expand(i);
        if (selected.contains(label))
            m_view->selectionModel()->select(
                i, QItemSelectionModel::Select | QItemSelectionModel::Rows);
    }
    for (int c = 0; c < m_model->columnCount(); ++c) m_view->resizeColumnToContents(c);
    m_view->setColumnWidth(0, std::min(m_view->columnWidth(0), 360));
    m_summary->setText(summary());
}

QString ConfigurationsView::summary() const {
    const auto& c = m_model->comparison();
    if (c.configurations.empty())
        return m_runs.empty() ? tr("No runs yet.")
                              : tr("No completed runs yet: configurations are formed from "
                                   "completed runs.");
    size_t runs = 0;
    for (const auto& conf : c.configurations) runs += conf.runs.size();
    const auto plural = [](size_t n, const QString& one, const QString& many) {
        return n == 1 ? one : many.arg(n);
    };
    QString s =
        tr("%1 of %2; baseline %3 (%4).")
            .arg(plural(c.configurations.size(), tr("1 configuration"), tr("%1 configurations")),
                 plural(runs, tr("1 completed run"), tr("%1 completed runs")),
                 QString::fromStdString(m_model->baselineLabel()), m_model->baselineNote());
    if (m_model->ungroupedRuns() > 0)
        s += QLatin1Char(' ') + plural(size_t(m_model->ungroupedRuns()),
                                       tr("1 run that is not completed is left out."),
                                       tr("%1 runs that are not completed are left out."));
    s += QLatin1Char(' ') + tr("Right-click a configuration to make it the baseline.");
    return s;
}

QList<qint64> ConfigurationsView::selectedRunIds() const {
    QList<qint64> ids;
    for (const QModelIndex& i : m_view->selectionModel()->selectedRows()) {
        const QModelIndex s = m_proxy->mapToSource(i);
        if (s.parent().isValid()) {
            const qint64 id = s.data(ConfigurationsModel::RunIdRole).toLongLong();
            if (!ids.contains(id)) ids << id;
        } else {
            for (qint64 id : m_model->runIds(s.row()))
                if (!ids.contains(id)) ids << id;
        }
    }
    return ids;
}

void ConfigurationsView::selectConfigurationOf(qint64 runId) {
    const int row = m_model->rowOfRun(runId);
    if (row < 0) return;
    const QModelIndex i = m_proxy->mapFromSource(m_model->index(row, 0));
    m_view->selectionModel()->select(
        i, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_view->scrollTo(i);
}

void ConfigurationsView::showMenu(const QPoint& pos) {
    const QModelIndex i = m_proxy->mapToSource(m_view->indexAt(pos));
    if (!i.isValid()) return;
    const QString label = i.data(ConfigurationsModel::LabelRole).toString();
    const qint64 id = i.data(ConfigurationsModel::RunIdRole).toLongLong();
    QMenu menu(this);
    QAction* base = menu.addAction(tr("Use as &Baseline"), this,
                                   [this, label] { setBaseline(label.toStdString()); });
    base->setCheckable(true);
    base->setChecked(label.toStdString() == effectiveBaseline());
    base->setObjectName(QStringLiteral("useAsBaseline"));
    if (!m_baseline.empty())
        menu.addAction(tr("&Default Baseline (label-only)"), this, [this] { setBaseline(""); });
    if (id >= 0) {
        menu.addSeparator();
        Q_EMIT runMenuRequested(id, &menu);
    }
    menu.exec(m_view->viewport()->mapToGlobal(pos));
}

}  // namespace retort::ui

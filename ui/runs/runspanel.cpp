#include "runs/runspanel.h"

#include "runs/configurationsview.h"
#include "runs/runsmodel.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLineEdit>
#include <QMenu>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

namespace retort::ui {

RunsPanel::RunsPanel(QWidget* parent)
    : QWidget(parent),
      m_model(new RunsModel(this)),
      m_proxy(new QSortFilterProxyModel(this)),
      m_filter(new QLineEdit(this)),
      m_groupToggle(new QCheckBox(tr("&Group by configuration"), this)),
      m_view(new QTableView(this)),
      m_grouped(new ConfigurationsView(this)) {
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(RunsModel::SortRole);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setFilterKeyColumn(-1);

    m_filter->setObjectName(QStringLiteral("runFilter"));
    m_filter->setPlaceholderText(tr("Filter runs (name, status, swept values)…"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) {
        m_proxy->setFilterFixedString(text);
        Q_EMIT filterChanged();  // the plots show the runs the table shows
    });
    m_groupToggle->setObjectName(QStringLiteral("groupRuns"));
    m_groupToggle->setToolTip(
        tr("One row per configuration (runs that differ only in their seeds): mean ± 95 % "
           "interval over seeds and the difference to a baseline; the plots show means"));
    connect(m_groupToggle, &QCheckBox::toggled, this, &RunsPanel::setGrouped);

    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(-1, Qt::AscendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setAlternatingRowColors(true);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->setWordWrap(false);
    connect(m_view, &QTableView::doubleClicked, this, [this](const QModelIndex& i) {
        Q_EMIT runActivated(i.data(RunsModel::RunIdRole).toLongLong());
    });
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_view, &QWidget::customContextMenuRequested, this, &RunsPanel::showTableMenu);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { Q_EMIT selectionChanged(selectedRunIds()); });

    m_grouped->hide();
    connect(m_grouped, &ConfigurationsView::runsSelected, this, &RunsPanel::selectionChanged);
    connect(m_grouped, &ConfigurationsView::runActivated, this, &RunsPanel::runActivated);
    connect(m_grouped, &ConfigurationsView::runMenuRequested, this, &RunsPanel::runMenuRequested);

    auto* top = new QHBoxLayout;
    top->addWidget(m_filter, 1);
    top->addWidget(m_groupToggle);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(top);
    layout->addWidget(m_view, 1);
    layout->addWidget(m_grouped, 1);
    setGrouped(QSettings().value(QStringLiteral("groupRuns"), false).toBool());
}

void RunsPanel::reload(const ProjectStore& store) {
    const int before = m_model->rowCount();
    m_model->reload(store);
    if (m_model->rowCount() != before) {
        m_view->resizeColumnsToContents();
        m_view->setColumnWidth(RunsModel::Status,
                               std::max(m_view->columnWidth(RunsModel::Status), 170));
        for (int c : {RunsModel::Name, RunsModel::Swept})
            m_view->setColumnWidth(c, std::min(m_view->columnWidth(c), 320));
    }
}

void RunsPanel::clear() {
    m_model->clear();
    m_grouped->setRuns({});
    m_grouped->setBaseline({});  // a baseline belongs to the project it was chosen in
}

std::vector<RunRecord> RunsPanel::visibleRuns() const {
    std::vector<RunRecord> runs;
    for (int r = 0; r < m_proxy->rowCount(); ++r)
        runs.push_back(m_model->run(m_proxy->mapToSource(m_proxy->index(r, 0)).row()));
    std::sort(runs.begin(), runs.end(),
              [](const RunRecord& a, const RunRecord& b) { return a.id < b.id; });
    return runs;
}

QList<qint64> RunsPanel::selectedRunIds() const {
    if (isGrouped()) return m_grouped->selectedRunIds();
    QList<qint64> ids;
    for (const QModelIndex& i : m_view->selectionModel()->selectedRows())
        ids << i.data(RunsModel::RunIdRole).toLongLong();
    return ids;
}

void RunsPanel::selectRun(qint64 runId) {
    if (isGrouped()) return m_grouped->selectConfigurationOf(runId);
    const int row = m_model->rowOf(runId);
    if (row < 0) return;
    const QModelIndex i = m_proxy->mapFromSource(m_model->index(row, 0));
    m_view->selectionModel()->select(
        i, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_view->scrollTo(i);
}

bool RunsPanel::isGrouped() const {
    return m_groupToggle->isChecked();
}

void RunsPanel::setGrouped(bool on) {
    if (m_groupToggle->isChecked() != on) {
        m_groupToggle->setChecked(on);  // comes back here through toggled
        return;
    }
    m_view->setVisible(!on);
    m_grouped->setVisible(on);
    QSettings().setValue(QStringLiteral("groupRuns"), on);
    if (on) m_grouped->setRuns(visibleRuns());
    Q_EMIT groupedChanged(on);
    Q_EMIT selectionChanged(selectedRunIds());
}

void RunsPanel::updateGrouped(const std::vector<RunRecord>& visible) {
    if (isGrouped()) m_grouped->setRuns(visible);
}

void RunsPanel::showTableMenu(const QPoint& pos) {
    const QModelIndex index = m_view->indexAt(pos);
    if (!index.isValid()) return;
    const qint64 id = index.data(RunsModel::RunIdRole).toLongLong();
    QMenu menu(this);
    Q_EMIT runMenuRequested(id, &menu);
    if (menu.isEmpty()) return;
    menu.addSeparator();
    QAction* base = menu.addAction(tr("Use Its Configuration as &Baseline"), this, [this, id] {
        m_grouped->setBaseline(std::to_string(id));  // a run id: its configuration
        setGrouped(true);
    });
    const int row = m_model->rowOf(id);
    base->setEnabled(row >= 0 && m_model->run(row).status == RunStatus::Completed);
    menu.exec(m_view->viewport()->mapToGlobal(pos));
}

}  // namespace retort::ui

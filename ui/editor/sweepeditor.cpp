#include "editor/sweepeditor.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace retort::ui {

Json parseValueList(const QString& text, QString* error) {
    Json list = Json::array();
    // Split on commas outside brackets/braces so that objects and lists stay whole.
    int depth = 0;
    QString cur;
    QStringList items;
    for (QChar c : text) {
        if (c == '[' || c == '{') ++depth;
        if (c == ']' || c == '}') --depth;
        if (c == ',' && depth == 0) {
            items << cur;
            cur.clear();
        } else {
            cur += c;
        }
    }
    items << cur;
    for (QString item : items) {
        item = item.trimmed();
        if (item.isEmpty()) continue;
        Json v = Json::parse(item.toStdString(), nullptr, false);
        if (v.is_discarded()) v = item.toStdString();  // a bare word: a string
        list.push_back(v);
    }
    if (list.empty() && error) *error = QObject::tr("needs at least one value");
    return list;
}

QString formatValueList(const Json& list) {
    QStringList parts;
    for (const auto& v : list)
        parts << QString::fromStdString(v.is_string() ? v.get<std::string>() : v.dump());
    return parts.join(QStringLiteral(", "));
}

SweepEditor::SweepEditor(QWidget* parent) : QWidget(parent) {
    m_table = new QTableWidget(0, 2, this);
    m_table->setHorizontalHeaderLabels({tr("Key"), tr("Values (comma separated)")});
    m_table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->verticalHeader()->hide();
    m_table->setMinimumHeight(90);
    m_keys = new QComboBox(this);
    m_keys->setToolTip(tr("A field to sweep over, starting from its current value"));
    auto* add = new QPushButton(tr("Add"), this);
    auto* remove = new QPushButton(tr("Remove"), this);
    m_count = new QLabel(this);
    auto* bar = new QHBoxLayout;
    bar->addWidget(m_keys, 1);
    bar->addWidget(add);
    bar->addWidget(remove);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(bar);
    layout->addWidget(m_table);
    layout->addWidget(m_count);
    connect(add, &QPushButton::clicked, this, [this] {
        const QString key = m_keys->currentText();
        if (key.isEmpty()) return;
        const Json v = m_current ? m_current(key) : Json();
        addRow(key, v.is_array() ? formatValueList(v) : QString());
        Q_EMIT edited();
    });
    connect(remove, &QPushButton::clicked, this, [this] {
        if (m_table->currentRow() >= 0) {
            m_table->removeRow(m_table->currentRow());
            Q_EMIT edited();
        }
    });
    connect(m_table, &QTableWidget::cellChanged, this, [this] { Q_EMIT edited(); });
    setRunCount(1);
}

void SweepEditor::addRow(const QString& key, const QString& values) {
    const QSignalBlocker block(m_table);
    const int row = m_table->rowCount();
    m_table->insertRow(row);
    m_table->setItem(row, 0, new QTableWidgetItem(key));
    m_table->setItem(row, 1, new QTableWidgetItem(values));
}

void SweepEditor::setKeys(const QStringList& keys,
                          std::function<Json(const QString&)> currentValue) {
    m_keys->clear();
    m_keys->addItems(keys);
    m_current = std::move(currentValue);
}

void SweepEditor::setSweep(const Json& sweep) {
    const QSignalBlocker block(m_table);
    m_table->setRowCount(0);
    m_readOnly = sweep.is_array();
    m_readOnlySweep = m_readOnly ? sweep : Json();
    m_table->setEnabled(!m_readOnly);
    if (m_readOnly) {
        m_table->setToolTip(
            tr("This spec sweeps a list of %1 grids; edit it as JSON.").arg(sweep.size()));
        return;
    }
    m_table->setToolTip({});
    if (sweep.is_object())
        for (auto it = sweep.begin(); it != sweep.end(); ++it)
            addRow(QString::fromStdString(it.key()),
                   it.value().is_array() ? formatValueList(it.value())
                                         : QString::fromStdString(it.value().dump()));
}

Json SweepEditor::sweep(QString* error) const {
    if (m_readOnly) return m_readOnlySweep;
    Json s = Json::object();
    for (int r = 0; r < m_table->rowCount(); ++r) {
        const QString key = m_table->item(r, 0) ? m_table->item(r, 0)->text().trimmed() : QString();
        if (key.isEmpty()) continue;
        QString err;
        Json values =
            parseValueList(m_table->item(r, 1) ? m_table->item(r, 1)->text() : QString(), &err);
        if (!err.isEmpty() && error) *error = key + ": " + err;
        s[key.toStdString()] = values;
    }
    return s.empty() ? Json() : s;
}

void SweepEditor::setRunCount(int runs) {
    m_count->setText(runs == 1 ? tr("1 run") : tr("%1 runs in the grid").arg(runs));
}

QStringList SweepEditor::keys() const {
    QStringList out;
    for (int i = 0; i < m_keys->count(); ++i) out << m_keys->itemText(i);
    return out;
}

}  // namespace retort::ui

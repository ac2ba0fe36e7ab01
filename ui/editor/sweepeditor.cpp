#include "editor/sweepeditor.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
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
    m_seeds = new QLineEdit(this);
    m_seeds->setObjectName(QStringLiteral("seeds"));
    m_seeds->setPlaceholderText(tr("1 (the spec's seed)"));
    m_seeds->setToolTip(
        tr("Repeats every point of the sweep over student seeds: a count N (seeds 1 to N) or a "
           "list (1, 5, 9). The data split and the teacher keep their own seeds (data.seed, "
           "teacher.seed), so the runs differ by the student's seed only."));
    auto* bar = new QHBoxLayout;
    bar->addWidget(m_keys, 1);
    bar->addWidget(add);
    bar->addWidget(remove);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(bar);
    layout->addWidget(m_table);
    auto* seedsRow = new QFormLayout;
    seedsRow->addRow(tr("Seeds"), m_seeds);
    layout->addLayout(seedsRow);
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
    connect(m_seeds, &QLineEdit::textEdited, this, [this] { Q_EMIT edited(); });
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
    for (const QString& k : keys)
        if (k != QLatin1String("seed")) m_keys->addItem(k);  // the Seeds field sweeps it
    m_current = std::move(currentValue);
}

void SweepEditor::setSweep(const Json& given) {
    const QSignalBlocker block(m_table);
    m_table->setRowCount(0);
    // The seed entry goes to the Seeds field: from the grid, or from a list of grids when every
    // grid has the same one.
    Json sweep = given;
    Json seedList;
    if (sweep.is_object() && sweep.contains("seed") && sweep["seed"].is_array()) {
        seedList = sweep["seed"];
        sweep.erase("seed");
    } else if (sweep.is_array() && !sweep.empty()) {
        bool same = true;
        for (const auto& g : sweep)
            same = same && g.is_object() && g.contains("seed") && g["seed"] == sweep[0]["seed"];
        if (same && sweep[0]["seed"].is_array()) {
            seedList = sweep[0]["seed"];
            for (auto& g : sweep) g.erase("seed");
        }
    }
    // Rewritten only when it means something else: while the user types "12", the "1" must
    // stay (it means the spec's own seed, as does the sweep without a seed entry).
    if (seeds(nullptr) != seedList)
        m_seeds->setText(seedList.is_array() ? formatValueList(seedList) : QString());
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

Json SweepEditor::seeds(QString* error) const {
    const QString text = m_seeds->text().trimmed();
    if (text.isEmpty()) return Json();
    QString err;
    Json list = parseValueList(text, &err);
    bool ints = err.isEmpty();
    for (const auto& v : list) ints = ints && v.is_number_integer() && v.get<int64_t>() >= 0;
    if (!ints) {
        if (error)
            *error = tr("Seeds: a count or a list of seeds (integers ≥ 0), not '%1'").arg(text);
        return Json();
    }
    if (list.size() == 1 && !text.contains(',')) {  // a count: seeds 1 .. N
        const int64_t n = list[0].get<int64_t>();
        if (n < 1 || n > 1000) {
            if (error) *error = tr("Seeds: a count from 1 to 1000, not %1").arg(n);
            return Json();
        }
        if (n == 1) return Json();  // the spec's own seed
        list = Json::array();
        for (int64_t i = 1; i <= n; ++i) list.push_back(i);
    }
    return list;
}

Json SweepEditor::sweep(QString* error) const {
    const Json seedList = seeds(error);
    if (m_readOnly) {
        Json s = m_readOnlySweep;
        if (seedList.is_array())
            for (auto& g : s) g["seed"] = seedList;
        return s;
    }
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
    if (seedList.is_array()) s["seed"] = seedList;
    return s.empty() ? Json() : s;
}

void SweepEditor::clearSeeds() {
    m_seeds->clear();
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

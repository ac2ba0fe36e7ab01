#include "runs/sensitivityview.h"

#include "compress/sensitivity.h"
#include "report/reporthtml.h"

#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace retort::ui {

std::pair<QString, Json> SensitivityView::targetOf(const QString& level) {
    if (level.startsWith(QStringLiteral("sparsity "))) {
        bool ok = false;
        const double s = level.mid(9).toDouble(&ok);
        if (ok && s >= 0 && s < 1) return {QStringLiteral("prune.per_layer"), Json(s)};
    } else if (level.startsWith(QStringLiteral("int"))) {
        bool ok = false;
        const int b = level.mid(3).toInt(&ok);
        if (ok && (b == 4 || b == 8)) return {QStringLiteral("quantize.per_layer"), Json(b)};
    }
    return {};
}

void SensitivityView::showTargets(const Json& spec) {
    if (!m_table) return;
    auto entry = [&](const QString& key, const QString& layer) -> Json {
        const Json* map = findDotted(spec, key.toStdString());
        const std::string name = layer.toStdString();
        return map && map->is_object() && map->contains(name) ? (*map)[name] : Json();
    };
    for (int r = 0; r < m_table->rowCount(); ++r)
        for (int c = 0; c < m_table->columnCount(); ++c) {
            QTableWidgetItem* item = m_table->item(r, c);
            if (!item) continue;
            const auto [key, value] = targetOf(m_table->horizontalHeaderItem(c)->text());
            const Json held =
                key.isEmpty() ? Json() : entry(key, m_table->verticalHeaderItem(r)->text());
            QFont f = item->font();
            f.setBold(held.is_number() &&
                      std::abs(held.get<double>() - value.get<double>()) < 1e-9);
            item->setFont(f);
        }
}

SensitivityView::SensitivityView(const Json& table, const QString& model, QWidget* parent)
    : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    auto* caption = new QLabel(this);
    caption->setTextFormat(Qt::PlainText);
    caption->setWordWrap(true);
    layout->addWidget(caption);
    Sensitivity s;
    try {
        s = Sensitivity::fromJson(table);
    } catch (const std::exception& e) {
        caption->setText(tr("The stored sensitivity table of the %1 cannot be read: %2")
                             .arg(model, QString::fromUtf8(e.what())));
        return;
    }
    caption->setText(
        tr("Sensitivity of the %1: validation accuracy drop in points with one layer alone "
           "pruned or quantized (baseline %2 %, %3 samples). Click a cell to write that layer's "
           "target into the editor (prune.per_layer or quantize.per_layer).")
            .arg(model)
            .arg(100.0 * s.baseline, 0, 'f', 2)
            .arg(s.samples));
    m_table = new QTableWidget(int(s.layers.size()), int(s.levels.size()), this);
    m_table->setObjectName(QStringLiteral("sensitivityTable"));
    QStringList rows, cols;
    for (const auto& l : s.layers) rows << QString::fromStdString(layerName(l));
    for (const auto& l : s.levels) cols << QString::fromStdString(l);
    m_table->setVerticalHeaderLabels(rows);
    m_table->setHorizontalHeaderLabels(cols);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    for (const auto& c : s.cells) {
        const auto r = std::find(s.layers.begin(), s.layers.end(), c.layer) - s.layers.begin();
        const auto k = std::find(s.levels.begin(), s.levels.end(), c.level) - s.levels.begin();
        const double points = 100.0 * c.drop;
        auto* item = new QTableWidgetItem(QString::asprintf("%+.2f", points));
        item->setTextAlignment(Qt::AlignCenter);
        item->setBackground(report::sensitivityShade(points));
        item->setForeground(Qt::black);
        item->setToolTip(tr("%1 at %2: %3 % validation accuracy (%4 points)")
                             .arg(rows[int(r)], cols[int(k)])
                             .arg(100.0 * c.accuracy, 0, 'f', 2)
                             .arg(-points, 0, 'f', 2));
        m_table->setItem(int(r), int(k), item);
    }
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    layout->addWidget(m_table, 1);
    connect(m_table, &QTableWidget::cellClicked, this, [this, rows, cols](int r, int c) {
        const auto [key, value] = targetOf(cols.value(c));
        if (!key.isEmpty()) Q_EMIT targetChosen(key, rows.value(r), value);
    });
}

}  // namespace retort::ui

#include "plots/plotsupport.h"

#include "plots/qcustomplotinclude.h"

#include <QFile>
#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>
#include <QSaveFile>
#include <algorithm>

namespace retort::ui {

void showError(QWidget* parent, const QString& title, const QString& text) {
    QMessageBox box(QMessageBox::Critical, title, text, QMessageBox::Ok, parent);
    box.setTextFormat(Qt::PlainText);
    box.exec();
}

QString plainToolTip(const QString& text) {
    if (text.isEmpty()) return text;
    return QStringLiteral("<p style='white-space:pre'>") + text.toHtmlEscaped() +
           QStringLiteral("</p>");
}

QColor runColor(qint64 runId) {
    // Tableau-like palette, then golden-angle hues: distinct and stable per id.
    static const QColor palette[] = {QColor(0x1f, 0x77, 0xb4), QColor(0xff, 0x7f, 0x0e),
                                     QColor(0x2c, 0xa0, 0x2c), QColor(0xd6, 0x27, 0x28),
                                     QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b),
                                     QColor(0xe3, 0x77, 0xc2), QColor(0x7f, 0x7f, 0x7f),
                                     QColor(0xbc, 0xbd, 0x22), QColor(0x17, 0xbe, 0xcf)};
    const qint64 i = runId > 0 ? runId - 1 : 0;
    if (i < 10) return palette[i];
    // Past the palette: golden-angle hues, alternately dark and light, so that a hue that
    // comes back near a palette colour (every ~8 steps) differs in lightness.
    return QColor::fromHsv(int((i * 137 + 20) % 360), 220, i % 2 ? 150 : 235);
}

void placeLegendBelow(QCustomPlot* plot, int columns) {
    plot->legend->setVisible(true);
    plot->axisRect()->insetLayout()->take(plot->legend);
    plot->plotLayout()->addElement(1, 0, plot->legend);
    plot->plotLayout()->setRowStretchFactor(1, 0.001);
    plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    plot->legend->setWrap(columns);
    plot->legend->setBorderPen(Qt::NoPen);
    plot->legend->setMargins(QMargins(4, 0, 4, 2));
    // Every replot fits the columns to the width the plot has then.
    QObject::connect(plot, &QCustomPlot::beforeReplot, plot,
                     [plot, columns] { fitLegendColumns(plot, columns); });
}

QString fullName(const QCPAbstractPlottable* p) {
    const QVariant full = p->property("fullName");
    return full.isValid() ? full.toString() : p->name();
}

void fitLegendColumns(QCustomPlot* plot, int most) {
    QCPLegend* legend = plot->legend;
    // Entries shortened at the last fit get their names back first.
    std::vector<QCPPlottableLegendItem*> entries;
    for (int i = 0; i < legend->itemCount(); ++i)
        if (auto* item = qobject_cast<QCPPlottableLegendItem*>(legend->item(i))) {
            entries.push_back(item);
            QCPAbstractPlottable* p = item->plottable();
            if (p->property("fullName").isValid()) {
                p->setName(p->property("fullName").toString());
                p->setProperty("fullName", QVariant());
            }
        }
    int widest = 0, tallest = 0;
    for (int i = 0; i < legend->itemCount(); ++i)
        if (QCPAbstractLegendItem* item = legend->item(i)) {  // null: an empty cell of the grid
            widest = std::max(widest, item->minimumOuterSizeHint().width());
            tallest = std::max(tallest, item->minimumOuterSizeHint().height());
        }
    // An empty legend leaves the layout: QCP 2.1 caps a grid column at its elements' maximum
    // width, and an empty (even hidden) legend's is a few pixels, squeezing the axes to a strip.
    QCPLayoutGrid* grid = plot->plotLayout();
    if (widest == 0) {
        if (legend->layout() == grid) {
            grid->take(legend);
            grid->simplify();
        }
        return;
    }
    if (legend->layout() != grid) {
        grid->addElement(1, 0, legend);
        grid->setRowStretchFactor(1, 0.001);
    }
    const int available = std::max(1, plot->width() - 16);
    int columns = std::clamp(available / (widest + legend->columnSpacing()), 1, most);
    // Long names in few columns make many rows: past a third of the plot's height the axes
    // are squeezed to a strip. Then more columns, the names shortened in the middle to fit
    // (the full name stays in the plottable's "fullName" property for tooltips).
    const int n = int(entries.size()),
              rowsThatFit = std::max(1, plot->height() / 3 / std::max(1, tallest));
    if (n > 0 && (n + columns - 1) / columns > rowsThatFit && columns < most) {
        columns = std::min(most, (n + rowsThatFit - 1) / rowsThatFit);
        const int cell = available / columns - legend->columnSpacing();
        for (QCPPlottableLegendItem* item : entries) {
            QCPAbstractPlottable* p = item->plottable();
            const int room = cell - legend->iconSize().width() - legend->iconTextPadding() -
                             item->margins().left() - item->margins().right() - 4;
            const QString shorter = QFontMetrics(item->font())
                                        .elidedText(p->name(), Qt::ElideMiddle, std::max(room, 20));
            if (shorter != p->name()) {
                p->setProperty("fullName", p->name());
                p->setName(shorter);
            }
        }
    }
    if (columns == legend->wrap() && legend->columnCount() <= columns) return;
    legend->setWrap(columns);
    legend->setFillOrder(legend->fillOrder(), true);  // setWrap alone leaves items where they are
}

void setPlotHint(QCustomPlot* plot, const QString& text) {
    QCPItemText* hint = nullptr;
    for (int i = 0; i < plot->itemCount(); ++i)
        if (plot->item(i)->objectName() == QLatin1String("plotHint"))
            hint = qobject_cast<QCPItemText*>(plot->item(i));
    if (text.isEmpty()) {
        if (hint) plot->removeItem(hint);
        return;
    }
    if (!hint) {
        hint = new QCPItemText(plot);
        hint->setObjectName(QStringLiteral("plotHint"));
        hint->position->setType(QCPItemPosition::ptAxisRectRatio);
        hint->position->setCoords(0.5, 0.5);
        hint->setColor(QColor(0x70, 0x70, 0x70));
        hint->setClipToAxisRect(false);
    }
    hint->setText(text);
}

bool savePlot(QCustomPlot* plot, const QString& path) {
    if (path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive)) return plot->savePdf(path);
    return plot->savePng(path, 0, 0, 2.0);
}

void addExportMenu(QCustomPlot* plot, const QString& baseName, std::function<QString()> csv) {
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(
        plot, &QWidget::customContextMenuRequested, plot, [plot, baseName, csv](const QPoint& pos) {
            QMenu menu(plot);
            auto save = [&](const QString& filter, const QString& suffix) {
                const QString path = QFileDialog::getSaveFileName(plot, QObject::tr("Export Plot"),
                                                                  baseName + suffix, filter);
                if (!path.isEmpty() && !savePlot(plot, path))
                    showError(plot, QObject::tr("Export Plot"),
                              QObject::tr("Could not write %1.").arg(path));
            };
            menu.addAction(QObject::tr("Export as PNG…"), plot,
                           [&] { save(QObject::tr("PNG image (*.png)"), ".png"); });
            menu.addAction(QObject::tr("Export as PDF…"), plot,
                           [&] { save(QObject::tr("PDF document (*.pdf)"), ".pdf"); });
            menu.addAction(QObject::tr("Export Data as CSV…"), plot, [&] {
                const QString path =
                    QFileDialog::getSaveFileName(plot, QObject::tr("Export Data"),
                                                 baseName + ".csv", QObject::tr("CSV (*.csv)"));
                if (path.isEmpty()) return;
                QSaveFile f(path);
                if (!f.open(QIODevice::WriteOnly) || f.write(csv().toUtf8()) < 0 || !f.commit())
                    showError(plot, QObject::tr("Export Data"),
                              QObject::tr("Could not write %1.").arg(path));
            });
            menu.exec(plot->mapToGlobal(pos));
        });
}

}  // namespace retort::ui

#include "plots/paretoplot.h"

#include "export/dataexport.h"
#include "plots/plotsupport.h"
#include "stats/pareto.h"
#include "store/resultcolumns.h"

#include "plots/qcustomplotinclude.h"

#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <set>

namespace retort::ui {

namespace {
QColor methodColor(const QString& m) {
    if (m == QLatin1String("label-only")) return QColor(0x7f, 0x7f, 0x7f);
    if (m == QLatin1String("distilled")) return QColor(0x1f, 0x77, 0xb4);
    if (m == QLatin1String("pruned")) return QColor(0x2c, 0xa0, 0x2c);
    if (m == QLatin1String("quantized")) return QColor(0xff, 0x7f, 0x0e);
    return QColor(0x94, 0x67, 0xbd);  // pruned + quantized
}
const char* kMethods[] = {"label-only", "distilled", "pruned", "quantized", "pruned + quantized"};
}  // namespace

ParetoPlot::ParetoPlot(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_plot);
    m_plot->setMinimumSize(320, 200);
    m_plot->xAxis->setLabel(tr("Compressed size (bytes, log scale)"));
    m_plot->yAxis->setLabel(tr("Test accuracy"));
    m_plot->xAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    m_plot->xAxis->setNumberFormat(QStringLiteral("eb"));  // 10^4, 10^5, ... as powers
    m_plot->xAxis->setNumberPrecision(0);
    m_plot->legend->setFont(QFont(font().family(), 8));
    placeLegendBelow(m_plot, 4);
    connect(m_plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        const int i = pointAt(e->position());
        if (i >= 0 && e->button() == Qt::LeftButton) Q_EMIT runClicked(m_points[size_t(i)].id);
    });
    connect(m_plot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        const int i = pointAt(e->position());
        if (i < 0) return QToolTip::hideText();
        const Point& p = m_points[size_t(i)];
        QToolTip::showText(
            e->globalPosition().toPoint(),
            plainToolTip(tr("%1 (run %2)\n%3 · %4 · %5 %6 %, test %7 %%8")
                             .arg(p.name)
                             .arg(p.id)
                             .arg(p.method, QString::fromStdString(formatBytes(p.size)),
                                  p.onTest ? tr("test (no validation split)") : tr("validation"))
                             .arg(p.accuracy * 100, 0, 'f', 2)
                             .arg(p.test * 100, 0, 'f', 2)
                             .arg(p.front ? tr("\non the Pareto front") : QString())),
            m_plot);
    });
    addExportMenu(m_plot, QStringLiteral("accuracy-vs-size"), [this] { return csv(); });
    rebuild();
}

void ParetoPlot::setRuns(const std::vector<RunRecord>& runs) {
    m_points.clear();
    m_teachers.clear();
    std::set<std::string> teacherKeys;
    std::vector<ParetoPoint> pp;
    for (const auto& r : runs) {
        if (r.status != RunStatus::Completed) continue;
        const Json& res = r.results;
        bool onTest = false;
        const auto chosenBy = selectionAccuracy(res, &onTest);
        if (!res.contains("compressed_size_bytes") || !chosenBy) continue;
        m_points.push_back({r.id, QString::fromStdString(r.name),
                            QString::fromStdString(compressionMethod(r.spec)),
                            res["compressed_size_bytes"].get<double>(), *chosenBy,
                            res.value("test_accuracy", std::nan("")), onTest, false});
        pp.push_back({m_points.back().size, m_points.back().accuracy});
        const char* teacherKey = onTest ? "teacher_test_accuracy" : "teacher_val_accuracy";
        if (res.contains("teacher_key") && res.contains(teacherKey) &&
            res[teacherKey].is_number() &&
            teacherKeys.insert(res["teacher_key"].get<std::string>()).second)
            m_teachers.push_back(
                {res.value("teacher_size_bytes", 0.0), res[teacherKey].get<double>()});
    }
    const auto front = paretoFront(pp);
    // The axis says what the points are: runs are placed (and the front chosen) by validation
    // accuracy; a run without a validation split can only be placed by test accuracy.
    const auto onTestCount =
        std::count_if(m_points.begin(), m_points.end(), [](const Point& p) { return p.onTest; });
    m_plot->yAxis->setLabel(onTestCount == 0 ? tr("Validation accuracy")
                            : size_t(onTestCount) == m_points.size()
                                ? tr("Test accuracy (no validation split)")
                                : tr("Validation accuracy (test for runs without one)"));
    for (size_t i = 0; i < m_points.size(); ++i) m_points[i].front = front[i];
    rebuild();
}

void ParetoPlot::setSelectedRuns(const QList<qint64>& ids) {
    m_selected = ids;
    rebuild();
}

void ParetoPlot::setPointLabels(bool on) {
    m_labels = on;
    rebuild();
}

int ParetoPlot::frontCount() const {
    return int(
        std::count_if(m_points.begin(), m_points.end(), [](const Point& p) { return p.front; }));
}

void ParetoPlot::rebuild() {
    m_plot->clearGraphs();
    m_plot->clearItems();
    if (m_labels)
        for (const auto& p : m_points) {
            auto* t = new QCPItemText(m_plot);
            t->position->setCoords(p.size, p.accuracy);
            t->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
            t->setPadding(QMargins(6, 0, 0, 2));
            t->setFont(QFont(font().family(), 7));
            t->setColor(p.front ? Qt::black : QColor(0x80, 0x80, 0x80));
            t->setText(QString::number(p.id));
        }
    // The front first, under the points: sorted by size, accuracy held until the next point.
    std::vector<const Point*> front;
    for (const auto& p : m_points)
        if (p.front) front.push_back(&p);
    std::sort(front.begin(), front.end(),
              [](const Point* a, const Point* b) { return a->size < b->size; });
    if (!front.empty()) {
        QCPGraph* g = m_plot->addGraph();
        g->setName(tr("Pareto front"));
        g->setPen(QPen(QColor(0x33, 0x33, 0x33), 1.5, Qt::DashLine));
        g->setLineStyle(QCPGraph::lsStepLeft);
        QVector<double> xs, ys;
        for (const Point* p : front) {
            xs << p->size;
            ys << p->accuracy;
        }
        g->setData(xs, ys, true);
    }
    for (const char* m : kMethods) {
        const QString method = QString::fromLatin1(m);
        bool inLegend = false;
        for (bool onFront : {true, false}) {
            QVector<double> xs, ys;
            for (const auto& p : m_points)
                if (p.method == method && p.front == onFront) {
                    xs << p.size;
                    ys << p.accuracy;
                }
            if (xs.isEmpty()) continue;
            QColor c = methodColor(method);
            if (!onFront) c.setAlpha(90);  // dominated: faded
            QCPGraph* g = m_plot->addGraph();
            g->setName(onFront ? method : method + tr(" (dominated)"));
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, onFront ? 9 : 7));
            g->setData(xs, ys);
            // One legend entry per method: its front points, or its faded ones if it has none
            // there. (Not removeItem(itemCount() - 1): itemCount() counts the grid's empty
            // cells, so that removed the wrong entry or none.)
            if (inLegend) g->removeFromLegend();
            inLegend = true;
        }
    }
    if (!m_selected.isEmpty()) {
        QVector<double> xs, ys;
        for (const auto& p : m_points)
            if (m_selected.contains(p.id)) {
                xs << p.size;
                ys << p.accuracy;
            }
        QCPGraph* g = m_plot->addGraph();
        g->setName(tr("selected"));
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(
            QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(Qt::black, 2), Qt::NoBrush, 14));
        g->setData(xs, ys);
        g->removeFromLegend();
    }
    if (!m_teachers.empty()) {
        QVector<double> xs, ys;
        for (const auto& [s, a] : m_teachers) {
            xs << s;
            ys << a;
        }
        QCPGraph* g = m_plot->addGraph();
        g->setName(tr("teacher"));
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssStar,
                                           QPen(QColor(0xd6, 0x27, 0x28), 2), Qt::NoBrush, 14));
        g->setData(xs, ys);
    }
    m_plot->rescaleAxes();
    const auto xr = m_plot->xAxis->range();
    m_plot->xAxis->setRange(std::max(1.0, xr.lower / 2), std::max(10.0, xr.upper * 2));
    const auto yr = m_plot->yAxis->range();
    const double pad = std::max(0.01, (yr.upper - yr.lower) * 0.1);
    m_plot->yAxis->setRange(std::max(0.0, yr.lower - pad), std::min(1.0, yr.upper + pad));
    m_plot->legend->setVisible(!m_points.empty());
    setPlotHint(m_plot, m_points.empty()
                            ? tr("No completed runs yet: each one is placed here by its size")
                            : QString());
    if (m_points.empty()) {
        m_plot->xAxis->setRange(1e3, 1e6);
        m_plot->yAxis->setRange(0, 1);
    }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

int ParetoPlot::pointAt(const QPointF& pos) const {
    double best = 10.0;
    int found = -1;
    for (size_t i = 0; i < m_points.size(); ++i) {
        const double d = std::hypot(m_plot->xAxis->coordToPixel(m_points[i].size) - pos.x(),
                                    m_plot->yAxis->coordToPixel(m_points[i].accuracy) - pos.y());
        if (d < best) {
            best = d;
            found = int(i);
        }
    }
    return found;
}

QString ParetoPlot::csv() const {
    QString out = QStringLiteral(
        "run,name,method,compressed_size_bytes,selection_accuracy,selected_on,"
        "test_accuracy,pareto_front\n");
    for (const auto& p : m_points) {
        const QString name = QString::fromStdString(csvCell(p.name.toStdString()));
        out += QStringLiteral("%1,%2,%3,%4,%5,%6,%7,%8\n")
                   .arg(p.id)
                   .arg(name, p.method)
                   .arg(p.size, 0, 'f', 0)
                   .arg(p.accuracy, 0, 'g', 10)
                   .arg(p.onTest ? QStringLiteral("test") : QStringLiteral("validation"))
                   .arg(p.test, 0, 'g', 10)
                   .arg(p.front ? 1 : 0);
    }
    return out;
}

}  // namespace retort::ui

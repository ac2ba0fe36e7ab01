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
#include <optional>
#include <set>

namespace retort::ui {

namespace {
QColor methodColor(const QString& m) {
    if (m == QLatin1String("label-only")) return QColor(0x7f, 0x7f, 0x7f);
    if (m == QLatin1String("pretrained")) return QColor(0x8c, 0x56, 0x4b);
    if (m == QLatin1String("teacher-initialized")) return QColor(0xbc, 0xbd, 0x22);
    if (m == QLatin1String("feature-distilled")) return QColor(0x17, 0xbe, 0xcf);
    if (m == QLatin1String("distilled")) return QColor(0x1f, 0x77, 0xb4);
    if (m == QLatin1String("pruned")) return QColor(0x2c, 0xa0, 0x2c);
    if (m == QLatin1String("quantized")) return QColor(0xff, 0x7f, 0x0e);
    return QColor(0x94, 0x67, 0xbd);  // pruned + quantized
}
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
        if (e->button() != Qt::LeftButton) return;
        if (m_grouped) {
            const int c = configAt(e->position());
            if (c >= 0 && !m_configs[size_t(c)].runs.isEmpty())
                Q_EMIT runClicked(m_configs[size_t(c)].runs.front());
            return;
        }
        const int i = pointAt(e->position());
        if (i >= 0) Q_EMIT runClicked(m_points[size_t(i)].id);
    });
    connect(m_plot, &QCustomPlot::mouseMove, this, &ParetoPlot::showTip);
    addExportMenu(m_plot, QStringLiteral("accuracy-vs-size"), [this] { return csv(); });
    rebuild();
}

void ParetoPlot::showTip(QMouseEvent* e) {
    const QString basis = tr("validation");
    if (m_grouped) {
        const int c = configAt(e->position());
        if (c < 0) return QToolTip::hideText();
        const ConfigPoint& p = m_configs[size_t(c)];
        const QString where = p.status == FrontStatus::Front ? tr("on the front of means")
                              : p.status == FrontStatus::Undecided
                                  ? tr("undecided: one as small or smaller is as accurate within "
                                       "noise")
                                  : tr("dominated beyond noise");
        const double scale = byPerplexity() ? 1 : 100;
        QString acc = byPerplexity() ? tr("perplexity %1").arg(p.accuracy.mean, 0, 'f', 2)
                                     : QStringLiteral("%1 %").arg(p.accuracy.mean * 100, 0, 'f', 2);
        if (p.accuracy.hasInterval())
            acc += tr(" [%1, %2] (95 % interval)")
                       .arg(p.accuracy.low() * scale, 0, 'f', 2)
                       .arg(p.accuracy.high() * scale, 0, 'f', 2);
        QToolTip::showText(
            e->globalPosition().toPoint(),
            plainToolTip(tr("C%1 %2\n%3 · %4 · %n seed(s)\n%5 %6\n%7", "", int(p.runs.size()))
                             .arg(p.number)
                             .arg(p.label, p.method, QString::fromStdString(formatBytes(p.size)),
                                  p.onTest ? tr("test") : basis, acc, where)),
            m_plot);
        return;
    }
    const int i = pointAt(e->position());
    if (i < 0) return QToolTip::hideText();
    const Point& p = m_points[size_t(i)];
    if (byPerplexity()) {
        QToolTip::showText(
            e->globalPosition().toPoint(),
            plainToolTip(tr("%1 (run %2)\n%3 · %4 · %5 perplexity %6, test %7%8")
                             .arg(p.name)
                             .arg(p.id)
                             .arg(p.method, QString::fromStdString(formatBytes(p.size)),
                                  p.onTest ? tr("test") : basis)
                             .arg(p.accuracy, 0, 'f', 2)
                             .arg(p.test, 0, 'f', 2)
                             .arg(p.front ? tr("\non the Pareto front") : QString())),
            m_plot);
        return;
    }
    QToolTip::showText(e->globalPosition().toPoint(),
                       plainToolTip(tr("%1 (run %2)\n%3 · %4 · %5 %6 %, test %7 %%8")
                                        .arg(p.name)
                                        .arg(p.id)
                                        .arg(p.method, QString::fromStdString(formatBytes(p.size)),
                                             p.onTest ? tr("test (no validation split)") : basis)
                                        .arg(p.accuracy * 100, 0, 'f', 2)
                                        .arg(p.test * 100, 0, 'f', 2)
                                        .arg(p.front ? tr("\non the Pareto front") : QString())),
                       m_plot);
}

void ParetoPlot::setGrouped(bool on) {
    if (on == m_grouped) return;
    m_grouped = on;
    rebuild();
}

std::pair<double, double> ParetoPlot::configurationWhisker(int i) const {
    const MeanInterval& m = m_configs.at(size_t(i)).accuracy;
    return m.hasInterval() ? std::pair(m.low(), m.high()) : std::pair(m.mean, m.mean);
}

void ParetoPlot::setRuns(const std::vector<RunRecord>& runs) {
    m_configs.clear();
    {
        const auto confs = groupConfigurations(runs);
        std::vector<ParetoPoint> means;
        for (const auto& p : configurationFront(confs, runs)) {
            const Configuration& c = confs[p.configuration];
            ConfigPoint cp{{},
                           int(p.configuration) + 1,
                           QString::fromStdString(c.label),
                           QString::fromStdString(compressionMethod(c.spec)),
                           p.size,
                           p.value,
                           p.onTest,
                           p.status,
                           false};
            for (int64_t id : c.runs) cp.runs << id;
            m_configs.push_back(cp);
            means.push_back({p.size, p.perplexity ? -p.value.mean : p.value.mean});
        }
        const auto front = paretoFront(means);
        for (size_t i = 0; i < m_configs.size(); ++i) m_configs[i].meanFront = front[i];
    }
    m_points.clear();
    m_teachers.clear();
    std::set<std::string> teacherKeys;
    std::vector<ParetoPoint> pp;
    // Language models are placed by perplexity (validation, else test): lower is better.
    m_perplexity = languageModelRuns(runs);
    for (const auto& r : runs) {
        if (r.status != RunStatus::Completed) continue;
        const Json& res = r.results;
        bool onTest = false;
        const std::optional<double> chosenBy = selectionValue(res, m_perplexity, &onTest);
        if (!res.contains("compressed_size_bytes") || !chosenBy) continue;
        m_points.push_back(
            {r.id, QString::fromStdString(r.name),
             QString::fromStdString(compressionMethod(r.spec)),
             res["compressed_size_bytes"].get<double>(), *chosenBy,
             res.value(m_perplexity ? "test_perplexity" : "test_accuracy", std::nan("")), onTest,
             false});
        // The front keeps larger-is-better: a perplexity counts negated.
        pp.push_back({m_points.back().size,
                      m_perplexity ? -m_points.back().accuracy : m_points.back().accuracy});
        const char* teacherKey =
            m_perplexity ? (onTest ? "teacher_test_perplexity" : "teacher_val_perplexity")
                         : (onTest ? "teacher_test_accuracy" : "teacher_val_accuracy");
        if (res.contains("teacher_key") && res.contains(teacherKey) &&
            res[teacherKey].is_number() &&
            teacherKeys.insert(res["teacher_key"].get<std::string>()).second)
            m_teachers.push_back(
                {res.value("teacher_size_bytes", 0.0), res[teacherKey].get<double>()});
    }
    const auto front = paretoFront(pp);
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
    m_plot->clearPlottables();  // graphs and the grouped form's whiskers
    m_plot->clearItems();
    // The axis says what the points are: runs are placed (and the front chosen) by validation
    // accuracy; a run without a validation split can only be placed by test accuracy.
    const auto onTestCount =
        std::count_if(m_points.begin(), m_points.end(), [](const Point& p) { return p.onTest; });
    const QString basis = byPerplexity()
                              ? (onTestCount == 0 ? tr("Validation perplexity")
                                                  : tr("Perplexity (validation, else test)"))
                          : onTestCount == 0 ? tr("Validation accuracy")
                          : size_t(onTestCount) == m_points.size()
                              ? tr("Test accuracy (no validation split)")
                              : tr("Validation accuracy (test for runs without one)");
    // Perplexity: lower is better, so the axis runs downwards and better is still up.
    m_plot->yAxis->setRangeReversed(byPerplexity());
    // Grouped, the label is short: the whiskers say the rest, and the dock is low.
    m_plot->yAxis->setLabel(
        !m_grouped       ? basis
        : byPerplexity() ? (onTestCount == 0 ? tr("Val. perplexity ± CI") : tr("Perplexity ± CI"))
        : onTestCount == 0 ? tr("Val. acc. ± CI")
                           : tr("Accuracy ± CI"));
    if (m_grouped) {
        rebuildGrouped();
        return;
    }
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
    for (const std::string& m : compressionMethodNames()) {
        const QString method = QString::fromStdString(m);
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
    drawTeachers();
    finishAxes(m_points.empty());
}

void ParetoPlot::rebuildGrouped() {
    if (m_labels)
        for (const auto& c : m_configs) {
            auto* t = new QCPItemText(m_plot);
            t->position->setCoords(c.size, c.accuracy.mean);
            t->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
            t->setPadding(QMargins(6, 0, 0, 2));
            t->setFont(QFont(font().family(), 7));
            t->setColor(c.status == FrontStatus::Dominated ? QColor(0x80, 0x80, 0x80) : Qt::black);
            t->setText(QStringLiteral("C%1").arg(c.number));
        }
    // The front of the means, as a step line under the points.
    std::vector<const ConfigPoint*> front;
    for (const auto& c : m_configs)
        if (c.meanFront) front.push_back(&c);
    std::sort(front.begin(), front.end(),
              [](const ConfigPoint* a, const ConfigPoint* b) { return a->size < b->size; });
    if (!front.empty()) {
        QCPGraph* g = m_plot->addGraph();
        g->setName(tr("front of means"));
        g->setPen(QPen(QColor(0x33, 0x33, 0x33), 1.5, Qt::DashLine));
        g->setLineStyle(QCPGraph::lsStepLeft);
        QVector<double> xs, ys;
        for (const ConfigPoint* c : front) {
            xs << c->size;
            ys << c->accuracy.mean;
        }
        g->setData(xs, ys, true);
    }
    // By method and status: on the front filled, undecided hollow, dominated faded; each with
    // its whiskers.
    const FrontStatus statuses[] = {FrontStatus::Front, FrontStatus::Undecided,
                                    FrontStatus::Dominated};
    for (const std::string& m : compressionMethodNames()) {
        const QString method = QString::fromStdString(m);
        bool inLegend = false;
        for (FrontStatus st : statuses) {
            QVector<double> xs, ys, err;
            for (const auto& c : m_configs)
                if (c.method == method && c.status == st) {
                    xs << c.size;
                    ys << c.accuracy.mean;
                    err << (c.accuracy.hasInterval() ? c.accuracy.half : 0.0);
                }
            if (xs.isEmpty()) continue;
            QColor color = methodColor(method);
            if (st == FrontStatus::Dominated) color.setAlpha(90);
            QCPGraph* g = m_plot->addGraph();
            g->setName(method);
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(st == FrontStatus::Undecided
                                   ? QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(color, 2),
                                                     QBrush(Qt::white), 10)
                                   : QCPScatterStyle(QCPScatterStyle::ssDisc, color, color,
                                                     st == FrontStatus::Front ? 9 : 7));
            g->setData(xs, ys);
            g->removeFromLegend();  // the legend shows each method once, filled (below)
            auto* bars = new QCPErrorBars(m_plot->xAxis, m_plot->yAxis);
            bars->setDataPlottable(g);
            bars->setData(err);
            bars->setPen(QPen(color, 1.2));
            bars->setWhiskerWidth(7);
            bars->setSymbolGap(st == FrontStatus::Front ? 9 : 10);
            bars->removeFromLegend();
            if (!inLegend) {
                QCPGraph* key = m_plot->addGraph();
                key->setName(method);
                key->setLineStyle(QCPGraph::lsNone);
                const QColor solid = methodColor(method);
                key->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, solid, solid, 9));
            }
            inLegend = true;
        }
    }
    // What the marker styles mean, once, in grey.
    const QColor grey(0x60, 0x60, 0x60);
    const std::pair<QString, QCPScatterStyle> keys[] = {
        {tr("undecided (within noise)"),
         QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(grey, 2), QBrush(Qt::white), 10)},
        {tr("dominated beyond noise"),
         QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(0x60, 0x60, 0x60, 90),
                         QColor(0x60, 0x60, 0x60, 90), 7)}};
    for (const auto& [name, style] : keys) {
        const FrontStatus st =
            name == keys[0].first ? FrontStatus::Undecided : FrontStatus::Dominated;
        if (std::none_of(m_configs.begin(), m_configs.end(),
                         [st](const ConfigPoint& c) { return c.status == st; }))
            continue;
        QCPGraph* g = m_plot->addGraph();
        g->setName(name);
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(style);
    }
    if (!m_selected.isEmpty()) {
        QVector<double> xs, ys;
        for (const auto& c : m_configs)
            for (qint64 id : c.runs)
                if (m_selected.contains(id)) {
                    xs << c.size;
                    ys << c.accuracy.mean;
                    break;
                }
        QCPGraph* g = m_plot->addGraph();
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(
            QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(Qt::black, 2), Qt::NoBrush, 15));
        g->setData(xs, ys);
        g->removeFromLegend();
    }
    drawTeachers();
    finishAxes(m_configs.empty());
    // The whiskers must fit: rescaleAxes saw the means only.
    double lo = m_plot->yAxis->range().lower, hi = m_plot->yAxis->range().upper;
    const double margin = byPerplexity() ? 0.5 : 0.005;
    for (const auto& c : m_configs)
        if (c.accuracy.hasInterval()) {
            lo = std::min(lo, c.accuracy.low() - margin);
            hi = std::max(hi, c.accuracy.high() + margin);
        }
    if (byPerplexity())
        m_plot->yAxis->setRange(std::max(1.0, lo), hi);
    else
        m_plot->yAxis->setRange(std::max(0.0, lo), std::min(1.0, hi));
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void ParetoPlot::drawTeachers() {
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
}

void ParetoPlot::finishAxes(bool empty) {
    m_plot->rescaleAxes();
    const auto xr = m_plot->xAxis->range();
    double lo = std::max(1.0, xr.lower / 2), hi = std::max(10.0, xr.upper * 2);
    // At least 1.7 decades wide: QCPAxisTickerLog falls back to linear ticks under 1.6, and
    // 2·10³ 4·10³ 6·10³ 8·10³ 10⁴ on a log axis crowd into one another at its right end.
    if (const double ratio = hi / lo; ratio < 50) {
        const double grow = std::sqrt(50 / ratio);
        lo = std::max(1.0, lo / grow);
        hi = lo * 50;
    }
    m_plot->xAxis->setRange(lo, hi);
    const auto yr = m_plot->yAxis->range();
    if (byPerplexity()) {
        const double pad = std::max(0.05, (yr.upper - yr.lower) * 0.1);
        m_plot->yAxis->setRange(std::max(1.0, yr.lower - pad), yr.upper + pad);
    } else {
        const double pad = std::max(0.01, (yr.upper - yr.lower) * 0.1);
        m_plot->yAxis->setRange(std::max(0.0, yr.lower - pad), std::min(1.0, yr.upper + pad));
    }
    m_plot->legend->setVisible(!empty);
    setPlotHint(m_plot, empty ? tr("No completed runs yet: each one is placed here by its size")
                              : QString());
    if (empty) {
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

int ParetoPlot::configAt(const QPointF& pos) const {
    double best = 10.0;
    int found = -1;
    for (size_t i = 0; i < m_configs.size(); ++i) {
        const double d =
            std::hypot(m_plot->xAxis->coordToPixel(m_configs[i].size) - pos.x(),
                       m_plot->yAxis->coordToPixel(m_configs[i].accuracy.mean) - pos.y());
        if (d < best) {
            best = d;
            found = int(i);
        }
    }
    return found;
}

QString ParetoPlot::csv() const {
    if (m_grouped) {
        QString out =
            QStringLiteral(
                "configuration,label,method,runs,compressed_size_bytes,selection_%1_mean,"
                "ci_low,ci_high,selected_on,front\n")
                .arg(byPerplexity() ? QStringLiteral("perplexity") : QStringLiteral("accuracy"));
        for (const auto& c : m_configs) {
            const auto [lo, hi] = configurationWhisker(int(&c - m_configs.data()));
            const QStringList cells = {
                QStringLiteral("C%1").arg(c.number),
                QString::fromStdString(csvCell(c.label.toStdString())),
                c.method,
                QString::number(c.runs.size()),
                QString::number(c.size, 'f', 0),
                QString::number(c.accuracy.mean, 'g', 10),
                QString::number(lo, 'g', 10),
                QString::number(hi, 'g', 10),
                c.onTest ? QStringLiteral("test") : QStringLiteral("validation"),
                QString::fromLatin1(frontStatusName(c.status))};
            out += cells.join(QLatin1Char(',')) + QLatin1Char('\n');
        }
        return out;
    }
    QString out = byPerplexity() ? QStringLiteral(
                                       "run,name,method,compressed_size_bytes,selection_perplexity,"
                                       "selected_on,test_perplexity,pareto_front\n")
                                 : QStringLiteral(
                                       "run,name,method,compressed_size_bytes,selection_accuracy,"
                                       "selected_on,test_accuracy,pareto_front\n");
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

// The workbench grouped by configuration: the tree of configurations with mean ± interval and
// the difference to a baseline (faded within noise), baseline by right-click, the Pareto plot
// of means with whiskers and undecided points, the curves' mean with a band; checked against
// numbers computed here by hand, and photographed with none, a few and many configurations.
#include "guitestutil.h"
#include "testutil.h"

#include "plots/losscurvesplot.h"
#include "plots/paretoplot.h"
#include "plots/qcustomplotinclude.h"
#include "runs/configurationsmodel.h"
#include "runs/configurationsview.h"
#include "runs/runsmodel.h"
#include "runs/runspanel.h"
#include "window/mainwindow.h"

#include <QApplication>
#include <QBrush>
#include <QLineEdit>
#include <QMenu>
#include <QSettings>
#include <QTreeView>

#include <cmath>
#include <random>

using namespace retort;
using namespace retort::ui;

using test::screenshot;

namespace {

/// The t quantile for 2 degrees of freedom at 0.975 (any table).
constexpr double kT2 = 4.302652730;

/// Mean and half-width of the 95 % interval of three values, by hand.
std::pair<double, double> byHand(double a, double b, double c) {
    const double m = (a + b + c) / 3;
    const double sd = std::sqrt(((a - m) * (a - m) + (b - m) * (b - m) + (c - m) * (c - m)) / 2);
    return {m, kT2 * sd / std::sqrt(3.0)};
}

/// The row of the configuration labelled @p label in the grouped tree's model.
int rowOf(ConfigurationsModel* m, const QString& label) {
    for (int r = 0; r < m->rowCount(); ++r)
        if (m->index(r, 0).data(ConfigurationsModel::LabelRole).toString() == label) return r;
    return -1;
}

/// The column titled @p title.
int columnOf(ConfigurationsModel* m, const QString& title) {
    for (int c = 0; c < m->columnCount(); ++c)
        if (m->headerData(c, Qt::Horizontal, Qt::DisplayRole).toString() == title) return c;
    return -1;
}

}  // namespace

class TestGrouped : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

    std::unique_ptr<MainWindow> window(const char* project) {
        return test::openWindow(m_dir, project);
    }

private Q_SLOTS:
    void initTestCase() { test::keepSettingsIn(m_dir); }

    void identicalCurvesStayVisible() {
        // Two runs with the same figures (one configuration run twice on a CPU): the second
        // curve lay exactly over the first and hid it. Now it is dashed and says whose twin it is.
        LossCurvesPlot l;
        for (const qint64 id : {1, 2}) {
            l.appendEpoch(id, "same", 1, {{"val_accuracy", 0.5}});
            l.appendEpoch(id, "same", 2, {{"val_accuracy", 0.6}});
        }
        l.appendEpoch(3, "other", 1, {{"val_accuracy", 0.5}});
        l.appendEpoch(3, "other", 2, {{"val_accuracy", 0.7}});
        l.setMetric("val_accuracy");
        l.redrawNow();
        QStringList dashed;
        for (int i = 0; i < l.plot()->graphCount(); ++i)
            if (l.plot()->graph(i)->pen().style() == Qt::DashLine)
                dashed << l.plot()->graph(i)->name();
        QCOMPARE(dashed, QStringList{QStringLiteral("#2 same (= #1)")});
    }

    void groupedTableComparesWithTheBaseline() {
        auto w = window("grouped.retort");
        QVERIFY(w);
        std::vector<int64_t> ids;
        {
            ProjectStore store(w->projectPath().toStdString());
            ids = test::addSeededStudy(store);
            const int64_t failed = store.createRun("broken", test::smallSyntheticSpec(), {});
            store.setStatus(failed, RunStatus::Failed, "out of memory");
        }
        QVERIFY(w->checkForOtherWriters());
        QCOMPARE(w->runsModel()->rowCount(), 10);
        RunsPanel* panel = w->runsPanel();
        QVERIFY(!panel->isGrouped());
        panel->setGrouped(true);
        ConfigurationsView* view = panel->grouped();
        QVERIFY(view->isVisible() && !w->runsView()->isVisible());
        ConfigurationsModel* m = view->model();
        QCOMPARE(m->rowCount(), 3);  // lambda 0, 0.9, 0.5; the failed run is not grouped
        QVERIFY2(view->summary().contains("3 configurations of 9 completed runs") &&
                     view->summary().contains("1 run that is not completed"),
                 qPrintable(view->summary()));
        const int base = rowOf(m, "distill.lambda=0"), nine = rowOf(m, "distill.lambda=0.9"),
                  five = rowOf(m, "distill.lambda=0.5");
        QVERIFY(base >= 0 && nine >= 0 && five >= 0);
        QVERIFY(m->index(base, 0).data().toString().endsWith("(baseline)"));
        QCOMPARE(m->index(nine, 1).data().toInt(), 3);
        QCOMPARE(m->rowCount(m->index(nine, 0)), 3);  // its runs beneath it
        // Test accuracy of the baseline: 0.80, 0.82, 0.81.
        const int testCol = columnOf(m, "Test acc."),
                  diffCol = columnOf(m, "Δ test acc. vs baseline");
        QVERIFY(testCol > 0 && diffCol > 0);
        const auto [mean, half] = byHand(0.80, 0.82, 0.81);
        QCOMPARE(m->index(base, testCol).data().toString(),
                 QString("%1 ± %2 %").arg(mean * 100, 0, 'f', 2).arg(half * 100, 0, 'f', 2));
        // lambda 0.9 gains 3, 2, 4 pt: +3.00 [+0.52, +5.48] (p 0.035), but two configurations
        // are compared with the baseline: Holm-adjusted p 0.070, within noise, and faded.
        const auto [gain, gainHalf] = byHand(0.03, 0.02, 0.04);
        QCOMPARE(m->index(nine, diffCol).data().toString(),
                 QString("+%1 [+%2, +%3] pt")
                     .arg(gain * 100, 0, 'f', 2)
                     .arg((gain - gainHalf) * 100, 0, 'f', 2)
                     .arg((gain + gainHalf) * 100, 0, 'f', 2));
        QCOMPARE(m->index(nine, diffCol).data().toString(), QString("+3.00 [+0.52, +5.48] pt"));
        QVERIFY(m->index(nine, diffCol).data(ConfigurationsModel::WithinNoiseRole).toBool());
        QVERIFY2(m->index(nine, diffCol).data(Qt::ToolTipRole).toString().contains("Holm"),
                 qPrintable(m->index(nine, diffCol).data(Qt::ToolTipRole).toString()));
        // lambda 0.5: within noise (its interval holds 0), and drawn faded like lambda 0.9.
        QVERIFY(m->index(five, diffCol).data(ConfigurationsModel::WithinNoiseRole).toBool());
        const QColor faded =
            m->index(five, diffCol).data(Qt::ForegroundRole).value<QBrush>().color();
        QCOMPARE(m->index(nine, diffCol).data(Qt::ForegroundRole).value<QBrush>().color(), faded);
        QCOMPARE(faded.red(), faded.green());  // grey
        // A run row's difference: to the baseline's run of the same seed (seed 1: +3 pt).
        const QModelIndex firstRun = m->index(0, diffCol, m->index(nine, 0));
        QCOMPARE(firstRun.data().toString(), QString("+3.00 pt"));

        // Right-click ▸ Use as Baseline on lambda 0.9: the differences turn around.
        auto* tree = view->view();
        tree->scrollToTop();
        const QModelIndex proxyNine = tree->model()->index(nine, 0);
        QTimer::singleShot(0, this, [] {
            auto* menu = qobject_cast<QMenu*>(QApplication::activePopupWidget());
            QVERIFY(menu);
            QAction* use = menu->findChild<QAction*>(QStringLiteral("useAsBaseline"));
            QVERIFY(use);
            use->trigger();
            menu->close();
        });
        Q_EMIT tree->customContextMenuRequested(tree->visualRect(proxyNine).center());
        QCOMPARE(view->baseline(), std::string("distill.lambda=0.9"));
        QCOMPARE(m->index(base, diffCol).data().toString(), QString("−3.00 [−5.48, −0.52] pt"));
        // A run id names its configuration (the flat table's "Use Its Configuration").
        view->setBaseline(std::to_string(ids[2]));  // seed 1's lambda 0.5
        QCOMPARE(view->baseline(), std::string("distill.lambda=0.5"));
        // The filter groups the runs it lets through; a baseline filtered away falls back.
        auto* filter = w->findChild<QLineEdit*>(QStringLiteral("runFilter"));
        filter->setText("lambda=0.9");
        QCOMPARE(m->rowCount(), 1);
        QVERIFY2(view->summary().contains("not among these runs"), qPrintable(view->summary()));
        filter->clear();
        QCOMPARE(m->rowCount(), 3);
        QCOMPARE(view->effectiveBaseline(), std::string("distill.lambda=0.5"));

        // Selecting a configuration selects its runs in the plots.
        tree->selectionModel()->select(
            tree->model()->index(nine, 0),
            QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        QCOMPARE(panel->selectedRunIds().size(), 3);
        view->setBaseline({});
        screenshot(w.get(), "workbench-grouped.png");
        // Back to runs: the table again, the plots by run.
        panel->setGrouped(false);
        QVERIFY(!w->paretoPlot()->grouped() && !w->lossPlot()->grouped());
        QVERIFY(w->runsView()->isVisible());
    }

    void groupedPlotsShowMeansWithIntervals() {
        auto w = window("grouped-plots.retort");
        QVERIFY(w);
        {
            ProjectStore store(w->projectPath().toStdString());
            test::addSeededStudy(store);
        }
        QVERIFY(w->checkForOtherWriters());
        w->runsPanel()->setGrouped(true);
        ParetoPlot* p = w->paretoPlot();
        QVERIFY(p->grouped());
        QCOMPARE(p->configurationCount(), 3);
        QCOMPARE(p->pointCount(), 9);  // the runs are still there for the ungrouped form
        // Validation accuracy = test − 0.01 + 0.002·k (k = seed − 1).
        int base = -1, nine = -1, five = -1;
        // (lambda 0 and 0.5 have the same mean, 0.802: their whiskers tell them apart.)
        const auto is = [&](int i, std::pair<double, double> mh) {
            return std::abs(p->configurationMean(i) - mh.first) < 1e-9 &&
                   std::abs(p->configurationWhisker(i).second - mh.first - mh.second) < 1e-9;
        };
        for (int i = 0; i < 3; ++i) {
            if (is(i, byHand(0.79, 0.812, 0.804))) base = i;
            if (is(i, byHand(0.82, 0.832, 0.844))) nine = i;
            if (is(i, byHand(0.80, 0.802, 0.804))) five = i;
        }
        QVERIFY(base >= 0 && nine >= 0 && five >= 0);
        const auto [m9, h9] = byHand(0.82, 0.832, 0.844);
        QVERIFY(std::abs(p->configurationWhisker(nine).first - (m9 - h9)) < 1e-9);
        QVERIFY(std::abs(p->configurationWhisker(nine).second - (m9 + h9)) < 1e-9);
        // lambda 0.5 is the smallest: on the front. The configurations share their seeds, so
        // each pair is judged by its paired difference (as the Findings judge them), not by
        // whether their own intervals overlap: lambda 0.9 is 0.02–0.04 above lambda 0.5 on
        // every seed (beyond noise: nothing smaller is as accurate, so on the front) and 0.02–
        // 0.04 above the baseline at its size, which it dominates beyond noise. (Their own
        // intervals, 0.832 ± 0.030 against 0.802 ± 0.005 and 0.802 ± 0.028, overlap: unpaired,
        // both looked undecided.)
        QCOMPARE(p->configurationStatus(five), FrontStatus::Front);
        QCOMPARE(p->configurationStatus(nine), FrontStatus::Front);
        QCOMPARE(p->configurationStatus(base), FrontStatus::Dominated);
        // Whiskers are drawn: one error-bar plottable per drawn group of points.
        int bars = 0;
        for (int i = 0; i < p->plot()->plottableCount(); ++i)
            bars += qobject_cast<QCPErrorBars*>(p->plot()->plottable(i)) != nullptr;
        QVERIFY(bars >= 2);
        QVERIFY(p->csv().contains("dominated") && p->csv().startsWith("configuration,"));

        // The curves: per configuration the mean at each epoch and its interval as a band.
        LossCurvesPlot* l = w->lossPlot();
        l->setMetric("val_accuracy");
        l->setSmoothing(0);
        l->redrawNow();
        QVERIFY(l->grouped());
        const qint64 firstNine = w->runsModel()->run(1).id;  // seed 1's lambda 0.9
        const auto curve = l->configurationCurve(firstNine, "val_accuracy");
        QCOMPARE(curve.size(), size_t(3));
        // The epoch axis starts near the first epoch (from 0 it left a third of the plot
        // empty, half for two epochs).
        QVERIFY2(l->plot()->xAxis->range().lower > 0.5,
                 qPrintable(QString::number(l->plot()->xAxis->range().lower)));
        // The y label names the metric in words that fit the axis ("ation perplexity
        // (languag" was what a short plot showed of "Validation perplexity (language models)").
        l->setMetric("val_perplexity");
        l->redrawNow();
        QCOMPARE(l->plot()->yAxis->label(), QStringLiteral("Validation perplexity"));
        l->setMetric("val_accuracy");
        l->redrawNow();
        // Its ticks are whole epochs (it marked 1, 1.5, 2, 2.5, 3).
        l->plot()->replot();
        for (double t : l->plot()->xAxis->tickVector())
            QVERIFY2(t == std::floor(t), qPrintable(QString::number(t)));
        // The size axis spans enough decades for the log ticker's powers of ten: under 1.6 it
        // fell back to 2·10³ 4·10³ 6·10³ 8·10³ 10⁴, crowded at the axis's right end.
        QCustomPlot* sizes = w->paretoPlot()->plot();
        sizes->replot();
        QVERIFY(sizes->xAxis->range().upper / sizes->xAxis->range().lower >= 40);
        for (double t : sizes->xAxis->tickVector())
            QVERIFY2(std::abs(std::log10(t) - std::round(std::log10(t))) < 1e-9,
                     qPrintable(QString::number(t)));
        const auto [e2, e2h] = byHand(0.82 - 0.1, 0.832 - 0.1, 0.844 - 0.1);
        QCOMPARE(curve[1][0], 2.0);
        QVERIFY(std::abs(curve[1][1] - e2) < 1e-9);
        QVERIFY(std::abs(curve[1][2] - (e2 - e2h)) < 1e-9);
        QVERIFY(std::abs(curve[1][3] - (e2 + e2h)) < 1e-9);
        // Three configurations: three named curves in the legend (bands unnamed).
        int named = 0;
        for (int i = 0; i < l->plot()->graphCount(); ++i)
            named += !l->plot()->graph(i)->name().isEmpty();
        QCOMPARE(named, 3);
        screenshot(w.get(), "workbench-grouped-3-configurations.png");
    }

    void groupedStaysReadableWithNoneAndMany() {
        auto w = window("grouped-many.retort");
        QVERIFY(w);
        w->runsPanel()->setGrouped(true);
        w->lossPlot()->setMetric("val_accuracy");
        QVERIFY(w->runsPanel()->grouped()->summary().contains("No runs yet"));
        screenshot(w.get(), "workbench-grouped-0-runs.png");
        const auto readable = [&](const char* what) {
            w->lossPlot()->redrawNow();
            for (QCustomPlot* p : {w->lossPlot()->plot(), w->paretoPlot()->plot()}) {
                p->replot();
                if (p->legend->visible())
                    QVERIFY2(p->legend->outerRect().height() <= p->height() / 3,
                             qPrintable(QString("%1: legend %2 of %3 px high")
                                            .arg(what)
                                            .arg(p->legend->outerRect().height())
                                            .arg(p->height())));
                QVERIFY2(
                    p->axisRect()->height() > 60,
                    qPrintable(
                        QString("%1: axes %2 px high").arg(what).arg(p->axisRect()->height())));
                QVERIFY(p->axisRect()->width() > p->width() / 2);
            }
        };
        // Configurations with long labels (four swept keys) × 3 seeds: first 6, which the
        // legend names all (it took the curves' plot down to a 40-pixel strip before long
        // names were shortened), then 40.
        const auto add = [&](int from, int to) {
            ProjectStore store(w->projectPath().toStdString());
            std::mt19937 rng(5 + from);
            std::uniform_real_distribution<double> u(0, 1);
            for (int c = from; c < to; ++c)
                for (int64_t seed = 1; seed <= 3; ++seed) {
                    Json spec = test::smallSyntheticSpec();
                    spec["seed"] = seed;
                    const double lambda = std::round(25.0 * c) / 1000;
                    spec["distill"]["lambda"] = lambda;
                    spec["distill"]["temperature"] = 1.0 + c % 4;
                    spec["prune"] = {{"sparsity", 0.5}};
                    spec["quantize"] = {{"bits", 8}};
                    const int64_t id = store.createRun("many", spec,
                                                       {{"distill.lambda", lambda},
                                                        {"distill.temperature", 1.0 + c % 4},
                                                        {"prune.sparsity", 0.5},
                                                        {"quantize.bits", 8},
                                                        {"seed", seed}});
                    store.startRun(id, Json::object());
                    const double acc = 0.8 + 0.1 * u(rng);
                    for (int e = 1; e <= 4; ++e)
                        store.recordEpoch(id, e, {{"val_accuracy", acc - 0.05 * (4 - e)}}, "", "");
                    store.finishRun(id, RunStatus::Completed,
                                    {{"test_accuracy", acc},
                                     {"val_accuracy", acc},
                                     {"compressed_size_bytes", 5000.0 + 2000.0 * c}},
                                    {}, {});
                }
        };
        add(0, 6);
        QVERIFY(w->checkForOtherWriters());
        QCOMPARE(w->runsPanel()->grouped()->model()->rowCount(), 6);
        readable("6 configurations");
        screenshot(w.get(), "workbench-grouped-6-configurations.png");
        add(6, 40);
        QVERIFY(w->checkForOtherWriters());
        QCOMPARE(w->runsPanel()->grouped()->model()->rowCount(), 40);
        readable("40 configurations");
        screenshot(w.get(), "workbench-grouped-40-configurations.png");
    }
};

QTEST_MAIN(TestGrouped)
#include "tst_grouped.moc"

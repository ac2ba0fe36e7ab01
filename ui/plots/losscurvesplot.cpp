#include "plots/losscurvesplot.h"

#include "export/dataexport.h"
#include "plots/plotsupport.h"
#include "stats/configurations.h"
#include "store/pretrainresults.h"
#include "store/resultcolumns.h"

#include "plots/qcustomplotinclude.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QRegularExpression>
#include <QSignalBlocker>
#include <QSlider>
#include <QStandardItemModel>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <set>

namespace retort::ui {

namespace {
// Validation accuracy first: it means the same for every run. The total loss of a distilled run
// adds the T²-scaled soft loss to the label loss, so it is not comparable with a label-only run's.
const char* kMetrics[][2] = {
    {"val_accuracy", "Validation accuracy"},
    {"val_macro_f1", "Validation macro-F1"},
    {"train_hard_loss", "Train loss (hard: labels only)"},
    {"train_soft_loss", "Train loss (soft: KD term)"},
    {"train_hidden_loss", "Train loss (hidden-state MSE)"},
    {"train_attention_loss", "Train loss (attention KL)"},
    {"train_loss", "Train loss (total: λ·T²·soft + (1−λ)·hard + …)"},
    {"sparsity", "Sparsity"},
    {"val_perplexity", "Validation perplexity (language models)"},
    // Pretraining (masked LM or next token), once per stored model:
    // drawn under the first run that started from it.
    {"teacher_pretrain_val_perplexity", "Teacher pretraining: validation perplexity"},
    {"teacher_pretrain_train_loss", "Teacher pretraining: train loss"},
    {"student_pretrain_val_perplexity", "Student pretraining: validation perplexity"},
    {"student_pretrain_train_loss", "Student pretraining: train loss"}};
bool isPretrainingMetric(const std::string& key) {
    return key.find("_pretrain_") != std::string::npos;
}
// Past this many runs the legend names only the runs selected in the table.
constexpr size_t kLegendRuns = 12;
}  // namespace

LossCurvesPlot::LossCurvesPlot(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
    m_metric = new QComboBox(this);
    for (const auto& m : kMetrics) m_metric->addItem(tr(m[1]), QString::fromLatin1(m[0]));
    m_smoothing = new QSlider(Qt::Horizontal, this);
    m_smoothing->setRange(0, 95);
    m_smoothing->setToolTip(tr("Exponential smoothing of the curves"));
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Metric:"), this));
    bar->addWidget(m_metric);
    bar->addSpacing(12);
    bar->addWidget(new QLabel(tr("Smoothing:"), this));
    bar->addWidget(m_smoothing, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(m_plot, 1);
    m_legendNote = new QLabel(this);
    m_legendNote->setStyleSheet(QStringLiteral("color: #707070"));
    m_legendNote->hide();
    layout->addWidget(m_legendNote);

    m_plot->setMinimumSize(320, 200);
    m_plot->xAxis->setLabel(tr("Epoch"));
    // Whole epochs (1, 2, 3; 5, 10, … for long runs), never 1.5.
    auto epochs = QSharedPointer<QCPAxisTickerFixed>::create();
    epochs->setTickStep(1.0);
    epochs->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    m_plot->xAxis->setTicker(epochs);
    m_plot->legend->setFont(QFont(font().family(), 8));
    m_plot->legend->setSelectableParts(QCPLegend::spItems);
    placeLegendBelow(m_plot, 4);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    connect(m_plot, &QCustomPlot::legendClick, this,
            [this](QCPLegend* l, QCPAbstractLegendItem* item, QMouseEvent*) {
                onLegendClick(l, item);
            });
    connect(m_plot, &QCustomPlot::mouseMove, this, &LossCurvesPlot::onHover);
    connect(m_metric, &QComboBox::currentIndexChanged, this, [this] { rebuild(); });
    connect(m_metric, &QComboBox::activated, this, [this] { m_metricChosen = true; });
    connect(m_smoothing, &QSlider::valueChanged, this, [this] { scheduleRebuild(); });
    // At most ~25 redraws a second however fast progress arrives.
    m_timer.setSingleShot(true);
    m_timer.setInterval(40);
    connect(&m_timer, &QTimer::timeout, this, &LossCurvesPlot::rebuild);
    addExportMenu(m_plot, QStringLiteral("loss-curves"), [this] { return csv(); });
    rebuild();
}

QString LossCurvesPlot::metric() const {
    return m_metric->currentData().toString();
}

void LossCurvesPlot::setMetric(const QString& metric) {
    const int i = m_metric->findData(metric);
    if (i >= 0) m_metric->setCurrentIndex(i);
    m_metricChosen = true;
}

void LossCurvesPlot::setSmoothing(int percent) {
    m_smoothing->setValue(percent);
}

void LossCurvesPlot::setRunHidden(qint64 runId, bool hidden) {
    auto it = m_series.find(runId);
    if (it == m_series.end()) return;
    it->second.hidden = hidden;
    rebuild();
}

int LossCurvesPlot::pointCount(qint64 runId, const QString& metric) const {
    auto it = m_series.find(runId);
    if (it == m_series.end()) return 0;
    auto p = it->second.points.find(metric.toStdString());
    return p == it->second.points.end() ? 0 : int(p->second.size());
}

void LossCurvesPlot::setRuns(const std::vector<RunRecord>& runs, const ProjectStore& store) {
    std::map<qint64, bool> hidden;
    for (const auto& [id, s] : m_series) hidden[id] = s.hidden;
    std::map<qint64, Series> previous;
    previous.swap(m_series);
    std::set<int64_t> pretrainedShown;  // each stored pretrained model is drawn once
    for (const auto& r : runs) {
        Series s;
        // Legend text: the run id and what distinguishes it (its swept values), else its name.
        const QString swept = QString::fromStdString(sweptText(r));
        s.name = QStringLiteral("#%1 %2").arg(r.id).arg(
            swept.isEmpty() ? QString::fromStdString(r.name) : swept);
        s.hidden = hidden[r.id];
        for (const auto& m : store.metrics(r.id))
            s.points[m.name].push_back({double(m.epoch), m.value});
        for (const auto& [key, stage, who] : kPretrainResults) {
            const std::string prefix = std::string(stage) + "_";
            const Json& p = r.results.contains(key) ? r.results[key] : Json();
            if (!p.is_object() || !pretrainedShown.insert(p.value("id", int64_t(0))).second)
                continue;
            s.pretrained[prefix] =
                pretrainedLabel(QString::fromLatin1(who), p.value("id", int64_t(0)),
                                p.value("objective", std::string("mlm")));
            int epoch = 0;
            for (const auto& e : p.value("epochs", Json::array())) {
                ++epoch;
                for (const auto& [name, value] : e.items())
                    if (value.is_number())
                        s.points[prefix + name].push_back({double(epoch), value.get<double>()});
            }
        }
        // A run still pretraining has stored none of it yet: its live points stay.
        if (auto old = previous.find(r.id); old != previous.end() && !hasEnded(r.status)) {
            for (const auto& [name, pts] : old->second.points)
                if (isPretrainingMetric(name) && !s.points.count(name)) s.points[name] = pts;
            for (const auto& [prefix, label] : old->second.pretrained)
                s.pretrained.emplace(prefix, label);
        }
        if (s.points.empty() && hasEnded(r.status)) continue;
        m_series[r.id] = std::move(s);
    }
    // A project of language models opens on validation perplexity (what its size plot and
    // Findings use), a classifier project on validation accuracy; and the list offers only the
    // metrics some run recorded (a language model has no macro-F1, no hidden-state loss).
    if (!runs.empty()) {
        bool lm = false;
        for (const auto& r : runs)
            lm |= r.results.value("task", std::string()) == "language_model" ||
                  (r.spec.is_object() && r.spec.value("task", std::string()) == "language_model");
        if (int(lm) != m_languageModels) {
            m_languageModels = int(lm);
            if (!m_metricChosen) {
                const QSignalBlocker block(m_metric);
                m_metric->setCurrentIndex(m_metric->findData(lm ? QStringLiteral("val_perplexity")
                                                                : QStringLiteral("val_accuracy")));
            }
        }
        std::set<std::string> recorded;
        for (const auto& [id, s] : m_series)
            for (const auto& [name, pts] : s.points) recorded.insert(name);
        if (auto* model = qobject_cast<QStandardItemModel*>(m_metric->model()))
            for (int i = 0; i < m_metric->count(); ++i)
                if (QStandardItem* item = model->item(i))
                    item->setEnabled(
                        recorded.empty() ||
                        recorded.count(m_metric->itemData(i).toString().toStdString()));
    }
    m_groups.clear();
    for (const auto& c : groupConfigurations(runs, false)) {
        Group g;
        const QString label = QString::fromStdString(c.label);
        g.name = c.runs.size() == 1 ? tr("%1 (1 run)").arg(label)
                                    : tr("%1 (%2 runs)").arg(label).arg(c.runs.size());
        g.runs.assign(c.runs.begin(), c.runs.end());
        m_groups.push_back(std::move(g));
    }
    scheduleRebuild();
}

void LossCurvesPlot::setGrouped(bool on) {
    if (on == m_grouped) return;
    m_grouped = on;
    rebuild();
}

void LossCurvesPlot::curveOf(const Series& s, const std::string& key, double alpha,
                             QVector<double>& xs, QVector<double>& ys) const {
    xs.clear();
    ys.clear();
    auto it = s.points.find(key);
    if (it != s.points.end())
        for (const auto& [x, y] : it->second) {
            xs << x;
            ys << (ys.isEmpty() ? y : alpha * ys.back() + (1 - alpha) * y);
        }
    if (key == s.tailKey && s.tailX >= 0 && (xs.isEmpty() || s.tailX > xs.back())) {
        xs << s.tailX;
        ys << (ys.isEmpty() ? s.tailY : alpha * ys.back() + (1 - alpha) * s.tailY);
    }
}

std::vector<std::array<double, 4>> LossCurvesPlot::configurationCurve(qint64 runId,
                                                                      const QString& metric) const {
    for (const Group& g : m_groups) {
        if (std::find(g.runs.begin(), g.runs.end(), runId) == g.runs.end()) continue;
        // Each run's (smoothed) curve, then per epoch the mean and its interval over the runs
        // that reached it.
        std::map<double, std::vector<double>> byX;
        QVector<double> xs, ys;
        for (qint64 id : g.runs) {
            auto it = m_series.find(id);
            if (it == m_series.end()) continue;
            curveOf(it->second, metric.toStdString(), m_smoothing->value() / 100.0, xs, ys);
            for (int i = 0; i < xs.size(); ++i) byX[xs[i]].push_back(ys[i]);
        }
        std::vector<std::array<double, 4>> out;
        for (const auto& [x, values] : byX) {
            const MeanInterval m = meanInterval(values);
            out.push_back({x, m.mean, m.hasInterval() ? m.low() : m.mean,
                           m.hasInterval() ? m.high() : m.mean});
        }
        return out;
    }
    return {};
}

void LossCurvesPlot::rebuildGrouped(const std::string& key) {
    const bool many = m_groups.size() > kLegendRuns;
    const QString metricName = QString::fromStdString(key);
    qint64 index = 0;  // colours by configuration, so ten configurations get ten colours
    for (const Group& group : m_groups) {
        ++index;
        const qint64 first = group.runs.front();
        const auto curve = configurationCurve(first, metricName);
        if (curve.empty()) continue;  // nothing recorded (failed, queued): no legend entry
        bool hidden = true, focus = false;
        for (qint64 id : group.runs) {
            auto it = m_series.find(id);
            hidden = hidden && (it == m_series.end() || it->second.hidden);
            focus = focus || m_focus.contains(id);
        }
        QVector<double> xs, mean, lo, hi;
        for (const auto& [x, m, l, h] : curve) {
            xs << x;
            mean << m;
            lo << l;
            hi << h;
        }
        QColor color = runColor(index);
        const bool faded = !m_focus.isEmpty() && !focus;
        if (faded) color.setAlpha(50);
        // The band: the interval's two edges, the space between them filled. With many
        // configurations only the selected ones have one: dozens of bands are a fog.
        if (!many || focus) {
            QCPGraph* upper = m_plot->addGraph();
            upper->setName(QString());  // unnamed: not a curve (addGraph names it "Graph n")
            upper->setPen(Qt::NoPen);
            upper->setData(xs, hi, true);
            QCPGraph* lower = m_plot->addGraph();
            lower->setName(QString());
            lower->setPen(Qt::NoPen);
            lower->setData(xs, lo, true);
            lower->setBrush(QColor(color.red(), color.green(), color.blue(), faded ? 12 : 50));
            lower->setChannelFillGraph(upper);
            for (QCPGraph* graph : {upper, lower}) {
                graph->setVisible(!hidden);
                graph->removeFromLegend();
                m_graphRuns.push_back(first);
            }
        }
        QCPGraph* g = m_plot->addGraph();
        g->setName(group.name);
        g->setPen(QPen(color, focus ? 3 : 2));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, color, 5));
        g->setData(xs, mean, true);
        g->setVisible(!hidden);
        m_graphRuns.push_back(first);
        if (hidden)
            if (auto* item = m_plot->legend->itemWithPlottable(g)) item->setTextColor(Qt::gray);
        if (many && !focus) g->removeFromLegend();
    }
}

void LossCurvesPlot::redrawNow() {
    m_timer.stop();
    rebuild();
}

void LossCurvesPlot::setFocusRuns(const QList<qint64>& ids) {
    m_focus = ids;
    scheduleRebuild();
}

void LossCurvesPlot::clear() {
    m_series.clear();
    rebuild();
}

QString LossCurvesPlot::pretrainedLabel(const QString& who, qint64 id,
                                        const std::string& objective) {
    const QString what = objective == "next_token" ? tr("next token") : tr("masked LM");
    return id > 0 ? tr("%1 pretrained (model %2, %3)").arg(who).arg(id).arg(what)
                  : tr("%1 pretraining (%2)").arg(who, what);
}

void LossCurvesPlot::appendPretrainingEpoch(qint64 runId, const QString& name,
                                            const std::string& stage, int epoch,
                                            const std::map<std::string, double>& metrics) {
    const std::string prefix = stage + "_";
    std::map<std::string, double> prefixed;
    for (const auto& [k, v] : metrics) prefixed[prefix + k] = v;
    Series& s = m_series[runId];
    if (!s.pretrained.count(prefix))
        s.pretrained[prefix] =
            pretrainedLabel(QString::fromStdString(stage.substr(0, stage.find('_'))), 0,
                            metrics.count("predicted_tokens") ? "next_token" : std::string("mlm"));
    appendEpoch(runId, name, epoch, prefixed);
}

void LossCurvesPlot::appendEpoch(qint64 runId, const QString& name, int epoch,
                                 const std::map<std::string, double>& metrics) {
    Series& s = m_series[runId];
    if (s.name.isEmpty()) s.name = QStringLiteral("#%1 %2").arg(runId).arg(name);
    for (const auto& [k, v] : metrics) {
        auto& pts = s.points[k];
        if (pts.empty() || pts.back().first < epoch) pts.push_back({double(epoch), v});
    }
    s.tailX = -1;
    scheduleRebuild();
}

void LossCurvesPlot::updateLive(qint64 runId, double x, double loss, const std::string& metric) {
    Series& s = m_series[runId];
    s.tailKey = metric;
    s.tailX = x;
    s.tailY = loss;
    scheduleRebuild();
}

void LossCurvesPlot::scheduleRebuild() {
    if (!m_timer.isActive()) m_timer.start();
}

void LossCurvesPlot::rebuild() {
    m_timer.stop();
    m_plot->clearGraphs();
    m_graphRuns.clear();
    const std::string key = metric().toStdString();
    const bool pretraining = isPretrainingMetric(key);
    const std::string prefix = pretraining ? key.substr(0, key.find("_pretrain_") + 10) : "";
    const double alpha = m_smoothing->value() / 100.0;
    const bool many = (m_grouped ? m_groups.size() : m_series.size()) > kLegendRuns;
    // The compared (focused) runs are drawn last, over the faded rest.
    std::vector<qint64> order;
    if (!m_grouped) {
        for (const auto& entry : m_series)
            if (!m_focus.contains(entry.first)) order.push_back(entry.first);
        for (const auto& entry : m_series)
            if (m_focus.contains(entry.first)) order.push_back(entry.first);
    } else {
        rebuildGrouped(key);
    }
    // A curve identical to one drawn before it would hide it completely (two runs of one
    // configuration on a deterministic CPU): it is drawn dashed, and its legend entry says so.
    std::map<std::pair<QVector<double>, QVector<double>>, qint64> drawn;
    for (const qint64 id : order) {
        const Series& s = m_series.at(id);
        QVector<double> xs, ys;
        curveOf(s, key, alpha, xs, ys);
        QCPGraph* g = m_plot->addGraph();
        const auto label = s.pretrained.find(prefix);
        QString name = label != s.pretrained.end()
                           ? QStringLiteral("%1 · %2").arg(label->second, s.name)
                           : s.name;
        const auto twin = xs.isEmpty() ? drawn.end() : drawn.find({xs, ys});
        if (twin != drawn.end())
            name += tr(" (= #%1)").arg(twin->second);
        else if (!xs.isEmpty())
            drawn[{xs, ys}] = id;
        g->setName(name);
        QColor color = runColor(id);
        if (!m_focus.isEmpty() && !m_focus.contains(id)) color.setAlpha(50);  // not compared: faded
        g->setPen(QPen(color, m_focus.contains(id) ? 3 : 2,
                       twin != drawn.end() ? Qt::DashLine : Qt::SolidLine));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, color, 5));
        g->setData(xs, ys, true);
        g->setVisible(!s.hidden);
        if (s.hidden) {
            if (auto* item = m_plot->legend->itemWithPlottable(g)) item->setTextColor(Qt::gray);
        }
        // Many runs: the legend names only the selected ones, so it never crowds out the
        // curves (hover names any curve).
        // A run without this metric (a label-only run's soft loss, a run that pretrained
        // nothing) is no legend entry.
        if ((many && !m_focus.contains(id)) || xs.isEmpty()) g->removeFromLegend();
        m_graphRuns.push_back(id);
    }
    // The axis says what is plotted: "(language models)" says where a metric applies, and
    // left "ation perplexity (languag" of a short plot's label. (Eliding to the axis rect's
    // height here cut "Validation accuracy" too: the rect is not laid out yet.)
    static const QRegularExpression where(QStringLiteral("\\s*\\([^()]*\\)$"));
    m_plot->yAxis->setLabel(m_metric->currentText().remove(where));
    bool anyPoint = false;
    for (int i = 0; i < m_plot->graphCount(); ++i) anyPoint |= !m_plot->graph(i)->data()->isEmpty();
    setPlotHint(m_plot, m_series.empty()
                            ? tr("No runs yet: Run ▸ Run Experiment (Ctrl+R) plots them here")
                        : !anyPoint && pretraining
                            ? tr("No run has started from a pretrained model (teacher.pretrain, "
                                 "student.pretrain)")
                        : !anyPoint ? tr("No run has recorded this metric yet")
                                    : QString());
    m_legendNote->setText(!many       ? QString()
                          : m_grouped ? tr("%n configurations: the legend names the selected ones",
                                           "", int(m_groups.size()))
                                      : tr("%n runs: the legend names the runs selected in the "
                                           "table",
                                           "", int(m_series.size())));
    m_legendNote->setVisible(many);
    m_plot->rescaleAxes(true);
    // Epochs from the first one recorded, not from 0 (which left half the plot empty for two
    // epochs); at least one epoch wide.
    const auto xr = m_plot->xAxis->range();
    const double xLow = std::max(0.0, xr.lower - 0.2);
    m_plot->xAxis->setRange(xLow, std::max(xr.upper, xLow + 1.0) + 0.2);
    const auto yr = m_plot->yAxis->range();
    const double pad = std::max(1e-3, (yr.upper - yr.lower) * 0.08);
    m_plot->yAxis->setRange(yr.lower - pad, yr.upper + pad);
    if (!anyPoint) {  // nothing to scale to: the first epochs of 0..1 (it showed −1..6)
        m_plot->xAxis->setRange(0.8, 5.2);
        m_plot->yAxis->setRange(0, 1);
    }
    m_plot->legend->setVisible(m_plot->legend->itemCount() > 0);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LossCurvesPlot::onLegendClick(QCPLegend*, QCPAbstractLegendItem* item) {
    auto* pli = qobject_cast<QCPPlottableLegendItem*>(item);
    if (!pli) return;
    for (int i = 0; i < m_plot->graphCount(); ++i)
        if (m_plot->graph(i) == pli->plottable()) {
            const qint64 id = m_graphRuns[size_t(i)];
            Series& s = m_series[id];
            s.hidden = !s.hidden;
            if (m_grouped)  // the configuration's runs go (and come back) together
                for (const Group& g : m_groups)
                    if (g.runs.front() == id)
                        for (qint64 other : g.runs)
                            if (m_series.count(other)) m_series[other].hidden = s.hidden;
        }
    rebuild();
}

void LossCurvesPlot::onHover(QMouseEvent* event) {
    double best = 12.0;  // pixels
    QString text;
    for (int i = 0; i < m_plot->graphCount(); ++i) {
        QCPGraph* g = m_plot->graph(i);
        if (!g->visible() || g->name().isEmpty()) continue;  // unnamed: a band's edge
        for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) {
            const double px = m_plot->xAxis->coordToPixel(it->key),
                         py = m_plot->yAxis->coordToPixel(it->value);
            const double d = std::hypot(px - event->position().x(), py - event->position().y());
            if (d < best) {
                best = d;
                text = QStringLiteral("%1\nepoch %2: %3")
                           .arg(fullName(g))
                           .arg(it->key, 0, 'g', 4)
                           .arg(it->value, 0, 'g', 5);
            }
        }
    }
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), plainToolTip(text), m_plot);
}

QString LossCurvesPlot::csv() const {
    QString out = QStringLiteral("run,name,metric,epoch,value\n");
    for (const auto& [id, s] : m_series)
        for (const auto& [metric, pts] : s.points)
            for (const auto& [x, y] : pts) {
                const QString name = QString::fromStdString(csvCell(s.name.toStdString()));
                out += QStringLiteral("%1,%2,%3,%4,%5\n")
                           .arg(id)
                           .arg(name, QString::fromStdString(metric))
                           .arg(x)
                           .arg(y, 0, 'g', 10);
            }
    return out;
}

}  // namespace retort::ui

#pragma once

#include "store/projectstore.h"

#include <QTimer>
#include <QWidget>

#include <array>
#include <map>
#include <vector>

class QCustomPlot;
class QComboBox;
class QSlider;
class QLabel;
class QCPAbstractLegendItem;
class QCPLegend;

namespace retort::ui {

/// Training curves of every run: one metric at a time, one stable colour per run, exponential
/// smoothing, legend clicks hide a run, hover shows the value. Live: epochs append as they end
/// and the running epoch's mean loss moves at its fractional position. Redraws are batched.
/// Pretraining stages are curves too (`teacher_pretrain_*`, `student_pretrain_*` metrics), each
/// stored model drawn once.
class LossCurvesPlot : public QWidget {
    Q_OBJECT
public:
    explicit LossCurvesPlot(QWidget* parent = nullptr);

    /// Replaces everything with the stored metrics of @p runs.
    void setRuns(const std::vector<RunRecord>& runs, const ProjectStore& store);
    /// Removes every run.
    void clear();
    /// A finished epoch of a run (live).
    void appendEpoch(qint64 runId, const QString& name, int epoch,
                     const std::map<std::string, double>& metrics);
    /// A finished pretraining epoch of a run (live): its metrics as `<stage>_<name>`, @p stage
    /// being "teacher_pretrain" or "student_pretrain".
    void appendPretrainingEpoch(qint64 runId, const QString& name, const std::string& stage,
                                int epoch, const std::map<std::string, double>& metrics);
    /// The running mean loss of the epoch in progress, at x = epoch - 1 + fraction, drawn at
    /// the end of @p metric's curve.
    void updateLive(qint64 runId, double x, double loss, const std::string& metric = "train_loss");

    QString metric() const;
    void setMetric(const QString& metric);
    void setSmoothing(int percent);
    void setRunHidden(qint64 runId, bool hidden);
    /// Runs to compare: when not empty, every other run is drawn faded.
    void setFocusRuns(const QList<qint64>& ids);
    /// One curve per configuration (runs that differ only in their seeds): the mean over its
    /// runs at each epoch with the 95 % interval of that mean as a shaded band.
    void setGrouped(bool on);
    bool grouped() const { return m_grouped; }
    /// Grouped: the mean curve of the configuration holding @p runId for @p metric, as drawn
    /// (epoch, mean, band low, band high); empty when there is none.
    std::vector<std::array<double, 4>> configurationCurve(qint64 runId,
                                                          const QString& metric) const;
    /// Points of @p metric stored for a run (tests and export).
    int pointCount(qint64 runId, const QString& metric) const;
    QCustomPlot* plot() const { return m_plot; }
    /// Redraws now instead of at the next batched redraw (static renders: reports, tests).
    void redrawNow();
    QString csv() const;

private:
    struct Series {
        QString name;
        std::map<std::string, std::vector<std::pair<double, double>>> points;
        double tailX = -1, tailY = 0;
        std::string tailKey = "train_loss";  // the curve the live tail extends
        /// the pretrained models drawn under this run: legend label by metric prefix
        /// ("teacher_pretrain_", "student_pretrain_")
        std::map<std::string, QString> pretrained;
        bool hidden = false;
    };
    /// A configuration's runs, for the grouped form.
    struct Group {
        QString name;
        std::vector<qint64> runs;
    };
    static QString pretrainedLabel(const QString& who, qint64 id, const std::string& objective);
    void scheduleRebuild();
    void rebuild();
    void rebuildGrouped(const std::string& key);
    /// A run's curve of @p key, smoothed by @p alpha (the live tail included for train_loss).
    void curveOf(const Series& s, const std::string& key, double alpha, QVector<double>& xs,
                 QVector<double>& ys) const;
    void onLegendClick(QCPLegend* legend, QCPAbstractLegendItem* item);
    void onHover(QMouseEvent* event);

    QCustomPlot* m_plot;
    QComboBox* m_metric;
    QSlider* m_smoothing;
    QLabel* m_legendNote = nullptr;
    QTimer m_timer;
    std::map<qint64, Series> m_series;
    std::vector<qint64> m_graphRuns;  // run id of each graph, in graph order
    QList<qint64> m_focus;
    std::vector<Group> m_groups;  // every run given, by configuration
    bool m_grouped = false;
    int m_languageModels = -1;    ///< whether the runs are language models (-1: no runs seen yet)
    bool m_metricChosen = false;  ///< a metric was picked (setMetric, the list): kept as is
};

}  // namespace retort::ui

#pragma once

#include "store/projectstore.h"

#include <QTimer>
#include <QWidget>

#include <map>

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
    /// The running mean loss of the epoch in progress, at x = epoch - 1 + fraction.
    void updateLive(qint64 runId, double x, double loss);

    QString metric() const;
    void setMetric(const QString& metric);
    void setSmoothing(int percent);
    void setRunHidden(qint64 runId, bool hidden);
    /// Runs to compare: when not empty, every other run is drawn faded.
    void setFocusRuns(const QList<qint64>& ids);
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
        bool hidden = false;
    };
    void scheduleRebuild();
    void rebuild();
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
};

}  // namespace retort::ui

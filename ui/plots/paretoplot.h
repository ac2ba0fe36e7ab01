#pragma once

#include "stats/configurations.h"
#include "store/projectstore.h"

#include <QWidget>

class QCustomPlot;

namespace retort::ui {

/// Accuracy versus compressed size: every completed run a point (log-scale size), coloured by
/// compression method; the teacher marked; the Pareto front as a step line; dominated runs
/// faded. Grouped: one point per configuration at its mean with its 95 % interval as a whisker,
/// the front over means, undecided configurations (within noise of one as small or smaller)
/// drawn hollow. Clicking a point emits runClicked (a configuration's first run); hovering
/// shows the run or configuration.
class ParetoPlot : public QWidget {
    Q_OBJECT
public:
    explicit ParetoPlot(QWidget* parent = nullptr);

    void setRuns(const std::vector<RunRecord>& runs);
    /// Configuration means with whiskers instead of runs.
    void setGrouped(bool on);
    bool grouped() const { return m_grouped; }
    /// Whether the runs (or grouped, the configuration means) are placed by perplexity: every
    /// run is a language model.
    bool byPerplexity() const { return m_perplexity; }
    /// Grouped: the configurations drawn, and each one's place against the front of means.
    int configurationCount() const { return int(m_configs.size()); }
    FrontStatus configurationStatus(int i) const { return m_configs.at(size_t(i)).status; }
    /// Grouped: configuration @p i's whisker (low, high) as drawn; its mean.
    std::pair<double, double> configurationWhisker(int i) const;
    double configurationMean(int i) const { return m_configs.at(size_t(i)).accuracy.mean; }
    /// Emphasizes these runs (the table's selection).
    void setSelectedRuns(const QList<qint64>& ids);
    /// Writes each point's run id beside it (for static images such as the report's).
    void setPointLabels(bool on);

    int pointCount() const { return int(m_points.size()); }
    int frontCount() const;
    QCustomPlot* plot() const { return m_plot; }
    QString csv() const;

Q_SIGNALS:
    void runClicked(qint64 runId);

private:
    struct Point {
        qint64 id;
        QString name, method;
        double size, accuracy;  ///< accuracy: the one runs are chosen by (validation)
        double test;            ///< test accuracy: shown, never used to choose
        bool onTest;            ///< the run has no validation split: accuracy is test
        bool front;
    };
    /// A configuration's point (grouped).
    struct ConfigPoint {
        QList<qint64> runs;
        int number;  ///< C1, C2, …: the configuration's place in the report's tables
        QString label, method;
        double size;
        MeanInterval accuracy;
        bool onTest;
        FrontStatus status;
        bool meanFront;  ///< on the ordinary front of the means (the step line)
    };
    void rebuild();
    void rebuildGrouped();
    void drawTeachers();
    void finishAxes(bool empty);
    int pointAt(const QPointF& pos) const;
    int configAt(const QPointF& pos) const;
    void showTip(QMouseEvent* e);

    QCustomPlot* m_plot;
    std::vector<Point> m_points;
    std::vector<ConfigPoint> m_configs;
    bool m_grouped = false;
    std::vector<std::pair<double, double>> m_teachers;  // (size, accuracy)
    QList<qint64> m_selected;
    bool m_labels = false;
    /// Every run is a language model: runs are placed and chosen by perplexity (lower is
    /// better, the axis reversed so better is still up); Point::accuracy and test hold
    /// perplexities, as ConfigPoint::accuracy does grouped.
    bool m_perplexity = false;
};

}  // namespace retort::ui

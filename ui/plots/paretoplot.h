#pragma once

#include "store/projectstore.h"

#include <QWidget>

class QCustomPlot;

namespace retort::ui {

/// Accuracy versus compressed size: every completed run a point (log-scale size), coloured by
/// compression method; the teacher marked; the Pareto front as a step line; dominated runs
/// faded. Clicking a point emits runClicked; hovering shows the run.
class ParetoPlot : public QWidget {
    Q_OBJECT
public:
    explicit ParetoPlot(QWidget* parent = nullptr);

    void setRuns(const std::vector<RunRecord>& runs);
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
    void rebuild();
    int pointAt(const QPointF& pos) const;

    QCustomPlot* m_plot;
    std::vector<Point> m_points;
    std::vector<std::pair<double, double>> m_teachers;  // (size, accuracy)
    QList<qint64> m_selected;
    bool m_labels = false;
};

}  // namespace retort::ui

#pragma once

#include "spec/experimentspec.h"

#include <QDialog>

namespace retort {
class ProjectStore;
}

namespace retort::ui {

/// One run in detail: its spec, per-epoch metrics, per-layer sparsity, sensitivity heatmaps,
/// results and environment.
class RunDetailDialog : public QDialog {
    Q_OBJECT
public:
    RunDetailDialog(const ProjectStore& store, qint64 runId, QWidget* parent = nullptr);

    /// Marks in every sensitivity heatmap the cells the editor's @p spec already holds.
    void showTargets(const Json& spec);

Q_SIGNALS:
    /// A sensitivity cell was clicked: set @p layer's entry of @p key (prune.per_layer or
    /// quantize.per_layer) to @p value in the editor.
    void perLayerTarget(const QString& key, const QString& layer, const Json& value);
};

}  // namespace retort::ui

#pragma once

#include <QDialog>

namespace retort {
class ProjectStore;
}

namespace retort::ui {

/// One run in detail: its spec, per-epoch metrics, per-layer sparsity, results and environment.
class RunDetailDialog : public QDialog {
    Q_OBJECT
public:
    RunDetailDialog(const ProjectStore& store, qint64 runId, QWidget* parent = nullptr);
};

}  // namespace retort::ui

#pragma once

#include "spec/experimentspec.h"

#include <QWidget>

class QLabel;
class QTableWidget;

namespace retort::ui {

/// A per-layer sensitivity table (compress/sensitivity.h) as a heatmap: one row a layer, one
/// column a level, each cell the validation accuracy drop in points with that layer alone
/// compressed, shaded from white (no loss) to red. Clicking a cell asks for that layer's target
/// in the editor: a sparsity column gives prune.per_layer, a bit-width column quantize.per_layer.
class SensitivityView : public QWidget {
    Q_OBJECT
public:
    /// @p table: Sensitivity::toJson()'s form; @p model: "teacher" or "student" (the caption).
    /// A table that does not parse shows why instead.
    SensitivityView(const Json& table, const QString& model, QWidget* parent = nullptr);

    QTableWidget* table() const { return m_table; }

    /// Marks (bold) the cells whose target @p spec (the editor's) already holds: a sparsity
    /// column where prune.per_layer has that layer at that value, a bit-width column where
    /// quantize.per_layer does.
    void showTargets(const Json& spec);

    /// The spec key and value a level's cell writes: ("prune.per_layer", 0.5) for
    /// "sparsity 0.5", ("quantize.per_layer", 4) for "int4"; an empty key for anything else.
    static std::pair<QString, Json> targetOf(const QString& level);

Q_SIGNALS:
    /// The user picked @p value for @p layer (a short name, "fc1") under @p key.
    void targetChosen(const QString& key, const QString& layer, const Json& value);

private:
    QTableWidget* m_table = nullptr;
};

}  // namespace retort::ui

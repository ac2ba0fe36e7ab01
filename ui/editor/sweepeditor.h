#pragma once

#include "spec/experimentspec.h"

#include <QWidget>

class QTableWidget;
class QComboBox;
class QLabel;
class QLineEdit;

namespace retort::ui {

/// The sweep as a table of dotted key -> comma-separated values (one grid). Any editor field
/// can be added as a row, starting from its current value. Below it the Seeds field repeats
/// every point of the sweep over student seeds: a count N (seeds 1 .. N) or a list ("1, 5, 9");
/// it is the sweep's `seed` entry, in every grid of a list of grids.
class SweepEditor : public QWidget {
    Q_OBJECT
public:
    explicit SweepEditor(QWidget* parent = nullptr);

    /// Shows @p sweep (an object of key -> list; a list of grids is shown read-only).
    void setSweep(const Json& sweep);
    /// The sweep the table describes (null when empty). Sets @p error for unparsable rows.
    Json sweep(QString* error = nullptr) const;
    /// The keys offered by "Add".
    void setKeys(const QStringList& keys, std::function<Json(const QString&)> currentValue);
    void setRunCount(int runs);
    /// Empties the Seeds field (before a new spec is shown).
    void clearSeeds();
    /// The keys it offers, in order.
    QStringList keys() const;

Q_SIGNALS:
    void edited();

private:
    void addRow(const QString& key, const QString& values);
    /// The seeds the field names (empty: the spec's own seed); sets @p error when unparsable.
    Json seeds(QString* error) const;

    QTableWidget* m_table;
    QComboBox* m_keys;
    QLabel* m_count;
    QLineEdit* m_seeds;
    bool m_readOnly = false;
    Json m_readOnlySweep;
    std::function<Json(const QString&)> m_current;
};

/// "1, 2, 4" -> [1, 2, 4]; bare words become strings, "null" null. Empty -> error.
Json parseValueList(const QString& text, QString* error);
/// [1, 2, 4] -> "1, 2, 4".
QString formatValueList(const Json& list);

}  // namespace retort::ui

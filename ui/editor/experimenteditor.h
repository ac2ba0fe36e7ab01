#pragma once

#include "spec/experimentspec.h"
#include "spec/specvalidator.h"

#include <QTimer>
#include <QUndoStack>
#include <QWidget>

#include <functional>
#include <memory>

class QLabel;
class QComboBox;
class QFormLayout;
class QScrollArea;

namespace retort {
class ProjectStore;
}

namespace retort::ui {

class SweepEditor;

/// The experiment form: every field of the spec, a sweep table, the live budget of teacher and
/// student, and validation by the engine on every edit (invalid fields marked with its
/// message). Holds the spec as JSON; every edit is an undoable command.
class ExperimentEditor : public QWidget {
    Q_OBJECT
public:
    explicit ExperimentEditor(QWidget* parent = nullptr);
    ~ExperimentEditor() override;

    /// The project, for teachers taken from completed runs (may be null).
    void setStore(const ProjectStore* store);
    /// Replaces the spec (clears the undo history).
    void setSpec(const Json& spec);
    const Json& spec() const { return m_spec; }
    QUndoStack* undoStack() { return &m_undo; }

    /// Sets a dotted key as an undoable edit, exactly as editing its field would.
    void setValue(const QString& key, const Json& value);
    /// Runs validation now instead of after the short debounce.
    void validateNow();

    bool isValid() const { return m_valid; }
    QString invalidReason() const { return m_reason; }
    /// The run points of the last successful validation.
    const std::vector<RunPoint>& points() const { return m_points; }
    /// The field widget of a key (tests), or null.
    QWidget* field(const QString& key) const;
    /// The value a key's field shows, as JSON (tests), or null without a field.
    Json fieldValue(const QString& key) const;
    /// The message marked at a field ("" when it is fine).
    QString fieldError(const QString& key) const;
    /// The label the form shows beside @p key's field (some follow another key: data.path's
    /// follows the format).
    QString fieldLabel(const QString& key) const;
    QString budgetText() const;

Q_SIGNALS:
    void validityChanged(bool valid, const QString& reason);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    struct Binding;
    friend class SetValueCommand;
    void installProbeScheduler();
    void apply(const QString& key, const Json& value);
    void refreshWidgets();
    /// Shows, hides, enables fields by the registry's conditions on @p effective (the spec
    /// with its defaults, as refreshWidgets computed it).
    void updateVisibility(const Json& effective);
    /// The form's label of a key's field @p w.
    QWidget* labelOf(QWidget* w, const QString& key) const;
    void validate();
    void userEdit(const QString& key, const Json& value);
    QWidget* addField(QFormLayout* form, const QString& label, const QString& key, QWidget* widget,
                      std::function<Json()> read, std::function<void(const Json&)> write);
    void buildForm();

    Json m_spec;
    QUndoStack m_undo;
    QTimer m_validateTimer;
    const ProjectStore* m_store = nullptr;
    QScrollArea* m_scroll = nullptr;
    std::unique_ptr<SpecValidator> m_validator;
    std::vector<std::unique_ptr<Binding>> m_bindings;
    std::vector<RunPoint> m_points;
    bool m_valid = false;
    bool m_refreshing = false;
    QString m_reason;
    QString m_sweepError;  ///< what the sweep editor could not read (its Seeds field)
    SweepEditor* m_sweep = nullptr;
    QLabel* m_budget = nullptr;
    QComboBox* m_teacherRun = nullptr;
};

}  // namespace retort::ui

#pragma once

#include <QApplication>

namespace retort::ui {

/// The workbench's application object: an exception that escapes an event handler (a slot, a
/// timer, an action) is caught here, shown to the user and logged, instead of reaching
/// std::terminate and losing the editor's unsaved changes.
class SafeApplication : public QApplication {
    Q_OBJECT
public:
    SafeApplication(int& argc, char** argv);
    bool notify(QObject* receiver, QEvent* event) override;

private:
    void report(const QString& what);
    bool m_reporting = false;
};

}  // namespace retort::ui

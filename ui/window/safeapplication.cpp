#include "window/safeapplication.h"

#include <QMessageBox>
#include <QTimer>

#include <iostream>

namespace retort::ui {

SafeApplication::SafeApplication(int& argc, char** argv) : QApplication(argc, argv) {}

bool SafeApplication::notify(QObject* receiver, QEvent* event) {
    try {
        return QApplication::notify(receiver, event);
    } catch (const std::exception& e) {
        report(QString::fromUtf8(e.what()));
    } catch (...) {
        report(tr("an unknown error"));
    }
    return false;
}

void SafeApplication::report(const QString& what) {
    std::cerr << "retort: " << what.toStdString() << "\n";
    if (m_reporting) return;  // one dialog at a time
    m_reporting = true;
    // Shown from the event loop, not from inside the handler that failed.
    QTimer::singleShot(0, this, [this, what] {
        QMessageBox box(QMessageBox::Critical, tr("Retort"),
                        tr("The last action failed: %1\n\nThe project and the editor are as they "
                           "were before it.")
                            .arg(what));
        box.setTextFormat(Qt::PlainText);
        box.exec();
        m_reporting = false;
    });
}

}  // namespace retort::ui

#pragma once

// What the workbench's GUI tests share: a window on a project, settings kept in the test's
// folder, screenshots under RETORT_SCREENSHOT_DIR.
#include "window/mainwindow.h"

#include <QDir>
#include <QSettings>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

namespace retort::test {

/// Saves @p w as RETORT_SCREENSHOT_DIR/@p name, after batched plot redraws (40 ms).
inline void screenshot(QWidget* w, const QString& name) {
    QTest::qWait(120);
    QDir().mkpath(RETORT_SCREENSHOT_DIR);
    QVERIFY(w->grab().save(QStringLiteral(RETORT_SCREENSHOT_DIR "/") + name));
}

/// A shown 1280×800 window on @p project in @p dir (created if new), or null.
inline std::unique_ptr<ui::MainWindow> openWindow(const QTemporaryDir& dir, const char* project) {
    auto w = std::make_unique<ui::MainWindow>();
    w->setConfirmClose(false);
    w->resize(1280, 800);
    w->show();
    if (!w->openProject(dir.filePath(project))) return nullptr;
    return w;
}

/// Keeps the workbench's settings (recent projects, dialogs' choices) in @p dir.
inline void keepSettingsIn(const QTemporaryDir& dir) {
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, dir.filePath("settings"));
    QSettings::setDefaultFormat(QSettings::NativeFormat);
}

}  // namespace retort::test

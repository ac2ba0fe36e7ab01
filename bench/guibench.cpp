// Runs one spec through the workbench (MainWindow, its run controller and worker thread),
// offscreen, and prints the run's results as JSON: bench/run.py compares its training speed
// (train_samples_per_s) with retort-cli's on the same spec.
// usage: retort-bench-gui SPEC.json PROJECT.retort

#include "runs/runcontroller.h"
#include "runs/runsmodel.h"
#include "spec/experimentspec.h"
#include "window/mainwindow.h"

#include <QApplication>
#include <QEventLoop>

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: retort-bench-gui SPEC.json PROJECT.retort\n";
        return 2;
    }
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    retort::ui::MainWindow window;
    window.setConfirmClose(false);
    window.resize(1280, 800);
    window.show();
    if (!window.openProject(QString::fromLocal8Bit(argv[2])) ||
        !window.importSpecFile(QString::fromLocal8Bit(argv[1])))
        return 2;
    QEventLoop loop;
    QObject::connect(window.controller(), &retort::ui::RunController::idle, &loop,
                     &QEventLoop::quit);
    if (window.runExperiment() < 1) return 2;
    loop.exec();
    retort::Json out = retort::Json::array();
    for (const auto& r : window.runsModel()->runs())
        out.push_back({{"status", r.status}, {"results", r.results}});
    std::cout << out.dump() << "\n";
    return 0;
}

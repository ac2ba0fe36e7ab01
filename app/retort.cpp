// retort: the workbench. Parses the command line and shows the main window.

#include "train/environment.h"
#include "window/mainwindow.h"
#include "window/safeapplication.h"

#include <QApplication>
#include <QCommandLineParser>

#include <cstring>
#include <memory>

int main(int argc, char** argv) {
    // --help and --version print text: they need no display (a QApplication without one aborts).
    bool textOnly = false;
    for (int i = 1; i < argc; ++i)
        for (const char* flag : {"-h", "--help", "--help-all", "-v", "--version"})
            textOnly = textOnly || std::strcmp(argv[i], flag) == 0;
    std::unique_ptr<QCoreApplication> application;
    if (textOnly)
        application = std::make_unique<QCoreApplication>(argc, argv);
    else
        application = std::make_unique<retort::ui::SafeApplication>(argc, argv);
    QCoreApplication& app = *application;
    QCoreApplication::setApplicationName(QStringLiteral("Retort"));
    QCoreApplication::setOrganizationName(QStringLiteral("Retort"));
    QCoreApplication::setApplicationVersion(
        QString::fromStdString(retort::versionString().substr(7)));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Workbench for neural-network compression experiments"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("project"),
                                 QStringLiteral("Project file (.retort) to open or create"),
                                 QStringLiteral("[PROJECT]"));
    QCommandLineOption specOption(QStringLiteral("spec"),
                                  QStringLiteral("Load an experiment spec (JSON) into the editor"),
                                  QStringLiteral("SPEC.json"));
    parser.addOption(specOption);
    parser.process(app);

    retort::ui::MainWindow window;
    window.show();
    const QStringList args = parser.positionalArguments();
    if (!args.isEmpty()) window.openProject(args.first());
    if (parser.isSet(specOption) && !window.importSpecFile(parser.value(specOption))) return 2;
    return QApplication::exec();
}

// retort: the workbench. Parses the command line and shows the main window.

#include "environment.h"
#include "mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Retort"));
    QApplication::setOrganizationName(QStringLiteral("Retort"));
    QApplication::setApplicationVersion(QString::fromStdString(retort::versionString().substr(7)));

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

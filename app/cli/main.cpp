// retort-cli: the headless entry point. Parses the command line, dispatches to one command
// (commands.h), prints results on stdout and progress and errors on stderr. Exit: 0 ok, 1 a run
// failed or was cancelled, 2 bad usage or an invalid spec/project.

#include "clihelp.h"
#include "commands.h"
#include "store/projectstore.h"
#include "train/environment.h"

#include <iostream>

using namespace retort;
using namespace retort::cli;

int main(int argc, char** argv) {
    try {
        Args a = parse(argc, argv);
        if (a.command.empty()) {
            if (a.has("version")) {
                std::cout << "retort-cli " << versionString().substr(7) << "\n";
                return 0;
            }
            if (a.has("help")) {
                std::cout << kUsage;
                return 0;
            }
            std::cerr << kUsage;
            return 2;
        }
        if (a.has("help")) {
            std::cout << commandHelp(a.command);
            return 0;
        }
        if (a.has("version")) {
            std::cout << "retort-cli " << versionString().substr(7) << "\n";
            return 0;
        }
        if (a.command == "run") return cmdRun(a);
        if (a.command == "validate") return cmdValidate(a);
        if (a.command == "keys") return cmdKeys(a);
        if (a.command == "list") return cmdList(a);
        if (a.command == "compare") return cmdCompare(a);
        if (a.command == "sensitivity") return cmdSensitivity(a);
        if (a.command == "show") return cmdShow(a);
        if (a.command == "pretrained") return cmdPretrained(a);
        if (a.command == "generate") return cmdGenerate(a);
        if (a.command == "delete") return cmdDelete(a);
        if (a.command == "export") return cmdExport(a);
        if (a.command == "resume") return cmdResume(a);
        if (a.command == "export-model") return cmdExportModel(a);
        if (a.command == "report") return cmdReport(a);
        if (a.command == "submit") return cmdSubmit(a);
        if (a.command == "sync") return cmdSync(a);
        if (a.command == "cancel") return cmdCancel(a);
        if (a.command == "run-point") return cmdRunPoint(a);
        throw UsageError("unknown command '" + a.command + "' (see retort-cli --help)");
    } catch (const SpecError& e) {
        for (const auto& i : e.issues())
            std::cerr << "error: " << (i.key.empty() ? "" : i.key + ": ") << i.message << "\n";
        return 2;
    } catch (const UsageError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const StoreError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }
}

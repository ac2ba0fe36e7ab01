#include "cliargs.h"
#include "clioutput.h"
#include "commands.h"

#include "cluster/slurm.h"
#include "store/projectstore.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace retort::cli {

namespace {

SlurmOptions slurmOptions(const Args& a) {
    SlurmOptions o;
    o.partition = a.option("partition");
    o.time = a.option("time");
    o.gres = a.option("gres");
    o.mem = a.option("mem");
    o.account = a.option("account");
    o.qos = a.option("qos");
    o.sbatch_args = a.option("sbatch-args");
    o.shared_dir = a.option("shared-dir");
    o.retort_cli = a.option("retort-cli");
    if (!a.option("cpus-per-task").empty()) {
        try {
            o.cpus_per_task = std::stoll(a.option("cpus-per-task"));
        } catch (const std::exception&) {
            throw UsageError("--cpus-per-task must be a number");
        }
    }
    o.fillFrom(loadSlurmSettings(a.option("settings", defaultSettingsPath())));
    return o;
}

std::string selfPath() {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("retort-cli");
}

}  // namespace

int cmdSubmit(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("expected one SPEC.json");
    if (!a.has("slurm")) throw UsageError("submit needs a scheduler: --slurm");
    const std::string project = a.required("project");
    Json spec = readSpecFile(a.positional[0]);
    applyOverrides(a, spec);
    const SlurmOptions options = slurmOptions(a);
    if (options.shared_dir.empty())  // before the project is touched
        throw UsageError(
            "no shared folder: give --shared-dir or shared-dir in the [slurm] "
            "section of " +
            a.option("settings", defaultSettingsPath()));
    if (a.has("dry-run")) {  // validates against the project if there is one; writes nothing
        const bool exists = access(project.c_str(), F_OK) == 0;
        // A scratch project of the same file name: the printed folder names match a real submit.
        const std::string scratchDir = "/tmp/retort-dry-run-" + std::to_string(getpid());
        const std::string scratch =
            scratchDir + "/" + project.substr(project.find_last_of('/') + 1);
        if (!exists) mkdir(scratchDir.c_str(), 0700);
        auto removeScratch = [&] {
            if (exists) return;
            for (const char* suffix : {"", "-wal", "-shm"}) std::remove((scratch + suffix).c_str());
            rmdir(scratchDir.c_str());
        };
        std::string script;
        try {
            ProjectStore store(exists ? project : scratch, exists
                                                               ? ProjectStore::Access::ReadOnly
                                                               : ProjectStore::Access::ReadWrite);
            script = submitSweep(store, spec, options, selfPath(), true).script;
        } catch (...) {
            removeScratch();
            throw;
        }
        removeScratch();
        std::cout << script;
        return 0;
    }
    ProjectStore store(project);
    const SubmitResult r = submitSweep(store, spec, options, selfPath(), false);
    if (a.has("json")) {
        std::cout << Json({{"job_id", r.job_id},
                           {"teacher_job", r.teacher_job},
                           {"folder", r.folder},
                           {"runs", r.runs}})
                         .dump(2)
                  << "\n";
    } else {
        std::cout << "submitted " << r.runs.size() << " run(s) as Slurm array job " << r.job_id;
        if (!r.teacher_job.empty()) std::cout << " after teacher job " << r.teacher_job;
        std::cout << "\nfolder: " << r.folder << "\nfollow with: retort-cli sync --project "
                  << project << "\n";
    }
    return 0;
}

int cmdSync(const Args& a) {
    if (!a.positional.empty()) throw UsageError("sync takes no arguments");
    const std::string project = a.required("project");
    ProjectStore store(project);
    const SyncReport r = syncSlurm(store);
    if (a.has("json")) {
        std::cout << Json({{"merged", r.merged},
                           {"failed", r.failed},
                           {"cancelled", r.cancelled},
                           {"interrupted", r.interrupted},
                           {"pending", r.pending},
                           {"running", r.running},
                           {"unanswered", r.unanswered},
                           {"done", r.done()}})
                         .dump(2)
                  << "\n";
    } else {
        std::cout << "merged " << r.merged << ", failed " << r.failed << ", cancelled "
                  << r.cancelled << ", interrupted " << r.interrupted << "; pending " << r.pending
                  << ", running " << r.running << "\n";
    }
    if (r.unanswered > 0)
        std::cerr << "sync: Slurm did not answer for " << r.unanswered
                  << " task(s); they are left as they were (try again later)\n";
    return 0;
}

int cmdCancel(const Args& a) {
    if (!a.positional.empty()) throw UsageError("cancel takes no arguments");
    ProjectStore store(a.required("project"));
    const int n = cancelSlurm(store);
    std::cerr << "cancelled " << n << " Slurm job(s); retort-cli sync records the runs\n";
    return 0;
}

}  // namespace retort::cli

#pragma once

#include "spec/experimentspec.h"
#include "store/projectstore.h"
#include "train/progress.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace retort {

/// A Slurm command that failed, or a setting that cannot be used: says which and why.
class SlurmError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// How a sweep is handed to Slurm. Empty fields are left to the cluster's defaults.
struct SlurmOptions {
    std::string partition;      ///< --partition
    std::string time;           ///< --time, e.g. "02:00:00"
    int64_t cpus_per_task = 0;  ///< --cpus-per-task (0: the cluster's default)
    std::string gres;           ///< --gres, e.g. "gpu:1"
    std::string mem;            ///< --mem, e.g. "8G"
    std::string account;        ///< --account
    std::string qos;            ///< --qos
    std::string sbatch_args;    ///< further sbatch options, split at spaces
    std::string shared_dir;     ///< folder every node sees: points, shards, logs, scripts
    std::string retort_cli;     ///< retort-cli on the nodes (empty: the submitting program)

    /// Fills the fields that are empty here from @p defaults.
    void fillFrom(const SlurmOptions& defaults);
};

/// $XDG_CONFIG_HOME/retort/settings.ini (or ~/.config/retort/settings.ini).
std::string defaultSettingsPath();

/// Reads the [slurm] section of an INI settings file (`key = value`; keys as the options:
/// partition, time, cpus-per-task, gres, mem, account, qos, sbatch-args, shared-dir,
/// retort-cli). A missing file gives empty options; an unknown key or bad value throws
/// SlurmError naming the file, line and key.
SlurmOptions loadSlurmSettings(const std::string& path);

/// Writes @p options as the [slurm] section of @p path, keeping its other sections.
void saveSlurmSettings(const std::string& path, const SlurmOptions& options);

/// What submitSweep did.
struct SubmitResult {
    std::string folder;         ///< this sweep's folder in the shared folder
    std::string job_id;         ///< the array job
    std::string teacher_job;    ///< the teacher job (empty: none)
    std::vector<int64_t> runs;  ///< the queued runs, in array order
    std::string script;         ///< the array job's script (and the teacher's, if any)
};

/// Expands and validates @p spec, writes each point and the job scripts into a new folder under
/// the shared folder, submits the teacher job (when the spec trains a zoo teacher) and one
/// `sbatch --array` job that depends on it, then records every point in @p store as a queued
/// run with its job and array index. @p dryRun: only returns the scripts; nothing is written or
/// submitted. @p cli is the retort-cli the tasks run (when options.retort_cli is empty).
/// Throws SpecError for a bad spec, SlurmError when sbatch fails (nothing is recorded then).
SubmitResult submitSweep(ProjectStore& store, const Json& spec, SlurmOptions options,
                         const std::string& cli, bool dryRun);

/// What syncSlurm found.
struct SyncReport {
    int merged = 0;       ///< finished runs moved into the project
    int failed = 0;       ///< tasks that ended failed (Slurm's reason recorded)
    int cancelled = 0;    ///< tasks cancelled
    int interrupted = 0;  ///< tasks gone with a half-written shard
    int pending = 0;      ///< still waiting in Slurm's queue
    int running = 0;      ///< still running
    int unanswered = 0;   ///< Slurm did not answer for them: left exactly as they were
    bool done() const { return pending == 0 && running == 0 && unanswered == 0; }
};

/// Reads Slurm's view of every unsynced task (squeue; then sacct when accounting exists,
/// else scontrol show job) and its shard: a completed shard run is merged in one transaction;
/// a task that ended otherwise becomes failed/cancelled (with Slurm's reason); one that Slurm
/// positively no longer knows, with no finished run in its shard, becomes interrupted but stays
/// watched, so a shard that completes later is still merged; pending and running ones get
/// Slurm's state. When Slurm does not answer (every query failed), nothing changes. A
/// half-written shard is never merged. Running it again changes nothing.
SyncReport syncSlurm(ProjectStore& store);

/// Cancels (scancel) the jobs of every unsynced task; returns how many jobs were cancelled.
int cancelSlurm(ProjectStore& store);

/// `retort-cli run-point`: runs one sweep point written by submitSweep into the shard project
/// @p shard (created anew). With @p teacherCache, the shard starts as a copy of it (the shared
/// teacher and its outputs). @p teacherOnly: trains the teacher into @p shard and stops.
/// @p progress: the run's progress (the task's log). Returns the run's status (completed,
/// failed, cancelled) or "teacher".
std::string runPoint(const std::string& pointFile, const std::string& shard,
                     const std::string& teacherCache, bool teacherOnly, ProgressFn progress = {});

}  // namespace retort

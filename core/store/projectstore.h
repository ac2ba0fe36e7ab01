#pragma once

#include "spec/experimentspec.h"
#include "store/runstatus.h"

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace retort {

/// A project file that cannot be opened or written: names the file and the problem.
class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A stored blob (weights, checkpoint, teacher outputs) whose checksum does not match: names
/// the project, the run or teacher, and the artifact. Nothing corrupt is ever loaded.
class CorruptArtifactError : public StoreError {
public:
    using StoreError::StoreError;
};

/// One run as stored.
struct RunRecord {
    int64_t id = 0;
    std::string name;
    RunStatus status = RunStatus::Queued;
    Json spec;          ///< the full spec of this run (sweep expanded, defaults filled in)
    Json params;        ///< the swept values (dotted key -> value)
    Json results;       ///< headline results (SPEC.md names), empty until completed
    Json environment;   ///< where it ran: versions, OS, CPU, threads, device
    std::string error;  ///< why it failed or was cancelled/interrupted
    std::string created_at, started_at, finished_at;  ///< ISO-8601 UTC
    std::string slurm_state;  ///< a Slurm run not yet merged: Slurm's last seen state; else empty
    std::string owner_host;   ///< running: the host of the process running it
    int64_t owner_pid = 0;    ///< running: that process's id on its host
};

/// A sweep point handed to Slurm: one task of an array job, running into its own shard project.
struct SlurmTask {
    int64_t run_id = 0;       ///< the queued run in this project it stands for
    std::string job_id;       ///< the array job's id
    int64_t array_index = 0;  ///< the task's index in the array
    std::string teacher_job;  ///< the job that trains the shared teacher (empty: none)
    std::string shard;        ///< the task's shard project (in the shared folder)
    std::string state;        ///< Slurm's last seen state: PENDING, RUNNING, COMPLETED, ...
    std::string reason;       ///< Slurm's reason or exit code, when it gives one
    bool synced = false;      ///< merged (or ended) into this project: sync leaves it alone
};

/// One per-epoch value.
struct MetricPoint {
    int64_t epoch = 0;
    std::string
        name;  ///< train_loss, train_soft_loss, train_hard_loss, val_accuracy, sparsity, lr, ...
    double value = 0;
};

/// Achieved sparsity of one layer of a run's final student.
struct LayerRecord {
    std::string layer;
    int64_t numel = 0;
    int64_t nonzero = 0;
};

/// A teacher stored once per project and reused by every run with the same key.
struct TeacherRecord {
    std::string key;    ///< hash of the teacher spec and the data it was trained on
    Json spec;          ///< what the key stands for (compared on lookup)
    std::string state;  ///< serialized weights (LibTorch archive) or TorchScript file bytes
    Json summary;       ///< test accuracy, parameter count, FLOPs, per-epoch metrics
};

/// A pretrained encoder (masked LM), stored once per project under the key of what defines it
/// and checkpointed after every epoch, so a stopped pretraining resumes where it was.
struct PretrainedRecord {
    int64_t id = 0;                ///< what `"pretrained": N` names (0: not stored yet)
    std::string key;               ///< hash of spec
    Json spec;                     ///< model, pretrain settings, seed, data and tokenizer keys
    std::string state;             ///< the encoder and its masked-LM head (LibTorch archive)
    std::string optimizer;         ///< the optimizer's state after epochs_done (resume)
    int64_t epochs_done = 0;       ///< epochs finished
    Json metrics = Json::array();  ///< per epoch: train_loss, train_perplexity, val_perplexity, …
};

/// Everything a finished run of a shard project brings into the main project.
struct MergedRun {
    RunRecord run;                                 ///< status, results, environment, times
    std::vector<MetricPoint> metrics;              ///< per-epoch metrics
    std::vector<LayerRecord> layers;               ///< per-layer sparsity
    std::map<std::string, std::string> artifacts;  ///< kind -> bytes
    std::vector<TeacherRecord> teachers;           ///< teachers the run used
};

/// The project file: the one class that speaks SQL. Schema version in PRAGMA user_version,
/// migrations in a transaction, WAL journal. One object is one connection: use one per thread.
class ProjectStore {
public:
    enum class Access { ReadWrite, ReadOnly };
    static constexpr int kSchemaVersion = 8;

    /// Opens (ReadWrite: creates if missing, migrates, marks dead `running` runs `interrupted`).
    explicit ProjectStore(const std::string& path, Access access = Access::ReadWrite);
    ~ProjectStore();
    ProjectStore(const ProjectStore&) = delete;
    ProjectStore& operator=(const ProjectStore&) = delete;

    const std::string& path() const { return m_path; }
    /// Switches this file from WAL to a rollback journal: for files on a network filesystem that
    /// another host reads afterwards (Slurm shards), where WAL's shared memory does not work.
    void useRollbackJournal();
    int schemaVersion() const;
    /// Runs this open found `running` with no live process behind them and marked `interrupted`
    /// (read-only opens report such runs as `interrupted` without writing).
    int recoveredRuns() const { return m_recovered; }
    /// SQLite's full integrity check: "ok", or what is wrong.
    std::string integrityCheck() const;

    int64_t createRun(const std::string& name, const Json& spec, const Json& params);
    /// Marks a run `running`, owned by this process, with its environment.
    void startRun(int64_t id, const Json& environment);
    /// One transaction: the epoch's metrics and the checkpoint (student and optimizer state).
    void recordEpoch(int64_t id, int64_t epoch, const std::map<std::string, double>& metrics,
                     const std::string& studentState, const std::string& optimizerState);
    /// One transaction: final status, results, per-layer sparsity and artifacts.
    void finishRun(int64_t id, RunStatus status, const Json& results,
                   const std::vector<LayerRecord>& layers,
                   const std::map<std::string, std::string>& artifacts,
                   const std::string& error = {});
    /// Sets only the status and error (e.g. cancelling queued runs).
    void setStatus(int64_t id, RunStatus status, const std::string& error = {});

    std::vector<RunRecord> runs() const;
    std::optional<RunRecord> run(int64_t id) const;
    std::vector<MetricPoint> metrics(int64_t id) const;
    std::vector<LayerRecord> layers(int64_t id) const;
    std::optional<std::string> artifact(int64_t id, const std::string& kind) const;
    /// Stores (or replaces) one artifact of a completed run: what analyses of a finished run
    /// (sensitivity) keep beside it. Refuses the kinds a run's training writes.
    void saveArtifact(int64_t id, const std::string& kind, const std::string& data);
    /// The kinds of artifact a run has.
    std::vector<std::string> artifactKinds(int64_t id) const;

    /// Deletes runs with their metrics, layers and artifacts, in one transaction. Refuses
    /// (StoreError naming the run and its status, deleting nothing) a run that is queued or
    /// running: cancel it first. Unknown ids are an error too. Cached teachers stay.
    void deleteRuns(const std::vector<int64_t>& ids);

    /// SQLite's data_version: changes when another connection (another process, the worker
    /// thread's connection) commits to the project. Cheap; the workbench polls it to see runs
    /// that retort-cli or a cluster sync add or finish.
    int64_t dataVersion() const;

    /// Writes a consistent copy of the whole project to @p target (which must not exist, nor
    /// any of its side files).
    void saveCopy(const std::string& target) const;

    /// Removes the project file @p path and its SQLite side files (`-wal`, `-shm`, `-journal`),
    /// which SQLite would otherwise replay into a new project of that name. Throws StoreError
    /// naming the file that cannot be removed.
    static void removeProjectFiles(const std::string& path);
    /// Whether this process may write the project @p path (or create it): the file and its
    /// folder (for SQLite's -wal and -shm files) are writable. A read-only project opens with
    /// Access::ReadOnly only; opening it ReadWrite throws StoreError saying so.
    static bool writable(const std::string& path);
    /// The SQLite side files of the project @p path that exist now.
    static std::vector<std::string> sideFiles(const std::string& path);

    std::optional<TeacherRecord> teacher(const std::string& key) const;
    void saveTeacher(const TeacherRecord& teacher);

    /// A frozen teacher's outputs over the training set and its test accuracy, stored under the
    /// teacher key (which covers the teacher, the data bytes and their preparation).
    struct TeacherOutputs {
        std::string logits;    ///< serialized float32 tensor [samples, classes]
        double test_accuracy;  ///< the teacher's accuracy on the test set
    };
    std::optional<TeacherOutputs> teacherOutputs(const std::string& key) const;
    void saveTeacherOutputs(const std::string& key, const TeacherOutputs& outputs);
    /// Every stored teacher key.
    std::vector<std::string> teacherKeys() const;

    /// A pretrained encoder by its key or by its id, its blobs' checksum verified.
    std::optional<PretrainedRecord> pretrained(const std::string& key) const;
    std::optional<PretrainedRecord> pretrained(int64_t id) const;
    /// Stores @p record under its key (replacing that key's row, keeping its id); returns the id.
    int64_t savePretrained(const PretrainedRecord& record);
    /// Every stored pretrained encoder without its blobs (id, key, spec, epochs, metrics).
    std::vector<PretrainedRecord> pretrainedList() const;

    /// A trained tokenizer's SentencePiece model by its key (Tokenizer::key), checksum verified.
    std::optional<std::string> tokenizer(const std::string& key) const;
    /// Stores a tokenizer with what describes it ({"type", "vocab_size", ...}).
    void saveTokenizer(const std::string& key, const std::string& model, const Json& info);

    // ---- Slurm: sweep points run elsewhere and merged back (schema 4)
    /// A sweep point submitted to Slurm: the run to create and its task.
    struct NewSlurmRun {
        std::string name;
        Json spec, params;
        SlurmTask task;  ///< run_id is filled in
    };
    /// One transaction: creates each run `queued` with its task. Returns the run ids.
    std::vector<int64_t> addSlurmRuns(const std::vector<NewSlurmRun>& runs);
    std::vector<SlurmTask> slurmTasks() const;
    /// Records Slurm's view of a task that is not finished.
    void setSlurmState(int64_t runId, const std::string& state, const std::string& reason);
    /// One transaction: the finished run of a shard becomes run @p runId here (status, results,
    /// environment, times, metrics, layers, artifacts), its teachers are added where missing,
    /// and the task is marked synced. Does nothing if the task is already synced.
    void mergeRun(int64_t runId, const MergedRun& merged);
    /// One transaction: a task that ended without a mergeable run: the run gets @p status
    /// (failed, cancelled or interrupted) and @p error, the task Slurm's state and is synced.
    void endSlurmTask(int64_t runId, const std::string& slurmState, RunStatus status,
                      const std::string& error);
    /// One transaction: Slurm no longer knows the task and its shard has no finished run. The
    /// run becomes interrupted with @p error; the task stays unsynced, so a later sync still
    /// merges its shard if it completes. Returns false when the run already was interrupted so.
    bool markSlurmTaskLost(int64_t runId, const std::string& error);

private:
    void addSlurmTask(const SlurmTask& task);
    void exec(const char* sql);
    void migrate();
    int recoverInterrupted();
    std::vector<int64_t> deadRunningRuns() const;
    [[noreturn]] void fail(const std::string& what) const;
    RunRecord readRun(sqlite3_stmt* st) const;

    std::string m_path;
    sqlite3* m_db = nullptr;
    int m_recovered = 0;
    std::vector<int64_t> m_deadRunning;  // read-only: runs shown as interrupted
};

}  // namespace retort

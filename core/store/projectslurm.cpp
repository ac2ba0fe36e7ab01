// ProjectStore's Slurm tasks: sweep points submitted to a cluster, their states as Slurm reports
// them, and the merge of a finished shard's run back into the project.
#include "store/projectstore.h"

#include "store/projectstoresql.h"

#include <sqlite3.h>

namespace retort {

namespace {

using storesql::blobChecksum;
using storesql::kNow;
using storesql::Statement;
using storesql::Transaction;

}  // namespace

std::vector<int64_t> ProjectStore::addSlurmRuns(const std::vector<NewSlurmRun>& runs) {
    Transaction tx(m_db);
    std::vector<int64_t> ids;
    for (const auto& r : runs) {
        SlurmTask t = r.task;
        t.run_id = createRun(r.name, r.spec, r.params);
        addSlurmTask(t);
        ids.push_back(t.run_id);
    }
    tx.commit();
    return ids;
}

void ProjectStore::addSlurmTask(const SlurmTask& t) {
    Statement(m_db, std::string(
                        "INSERT INTO slurm_tasks(run_id, job_id, array_index, teacher_job, shard, "
                        "state, reason, synced, submitted_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ") +
                        kNow + ")")
        .bind(1, t.run_id)
        .bind(2, t.job_id)
        .bind(3, t.array_index)
        .bind(4, t.teacher_job)
        .bind(5, t.shard)
        .bind(6, t.state.empty() ? std::string("PENDING") : t.state)
        .bind(7, t.reason)
        .bind(8, int64_t(t.synced ? 1 : 0))
        .run();
}

std::vector<SlurmTask> ProjectStore::slurmTasks() const {
    Statement st(m_db,
                 "SELECT run_id, job_id, array_index, teacher_job, shard, state, reason, synced "
                 "FROM slurm_tasks ORDER BY run_id");
    std::vector<SlurmTask> out;
    while (st.step())
        out.push_back({st.i64(0), st.text(1), st.i64(2), st.text(3), st.text(4), st.text(5),
                       st.text(6), st.i64(7) != 0});
    return out;
}

void ProjectStore::setSlurmState(int64_t runId, const std::string& state,
                                 const std::string& reason) {
    Statement(m_db, "UPDATE slurm_tasks SET state = ?, reason = ? WHERE run_id = ? AND synced = 0")
        .bind(1, state)
        .bind(2, reason)
        .bind(3, runId)
        .run();
}

namespace {
bool taskSynced(sqlite3* db, int64_t runId) {
    Statement st(db, "SELECT synced FROM slurm_tasks WHERE run_id = ?");
    st.bind(1, runId);
    return !st.step() || st.i64(0) != 0;
}
}  // namespace

void ProjectStore::mergeRun(int64_t runId, const MergedRun& m) {
    Transaction tx(m_db);
    if (taskSynced(m_db, runId)) return;  // merged before (or not a Slurm run): nothing to do
    const RunRecord& r = m.run;
    Statement(
        m_db,
        "UPDATE runs SET status = ?, results = ?, environment = ?, error = ?, started_at = ?, "
        "finished_at = ?, owner_host = '', owner_pid = 0 WHERE id = ?")
        .bind(1, std::string(statusName(r.status)))
        .bind(2, r.results.dump())
        .bind(3, r.environment.dump())
        .bind(4, r.error)
        .bind(5, r.started_at)
        .bind(6, r.finished_at)
        .bind(7, runId)
        .run();
    for (const char* table : {"metrics", "layers", "artifacts"})
        Statement(m_db, std::string("DELETE FROM ") + table + " WHERE run_id = ?")
            .bind(1, runId)
            .run();
    Statement me(m_db, "INSERT INTO metrics(run_id, epoch, name, value) VALUES(?, ?, ?, ?)");
    for (const auto& p : m.metrics) {
        me.bind(1, runId).bind(2, p.epoch).bind(3, p.name).bind(4, p.value).run();
        sqlite3_reset(me.get());
    }
    Statement l(m_db, "INSERT INTO layers(run_id, layer, numel, nonzero) VALUES(?, ?, ?, ?)");
    for (const auto& x : m.layers) {
        l.bind(1, runId).bind(2, x.layer).bind(3, x.numel).bind(4, x.nonzero).run();
        sqlite3_reset(l.get());
    }
    Statement a(m_db, "INSERT INTO artifacts(run_id, kind, data, checksum) VALUES(?, ?, ?, ?)");
    for (const auto& [kind, data] : m.artifacts) {
        a.bind(1, runId).bind(2, kind).blob(3, data).bind(4, blobChecksum(data)).run();
        sqlite3_reset(a.get());
    }
    for (const auto& t : m.teachers)
        if (!teacher(t.key)) saveTeacher(t);
    Statement(m_db, "UPDATE slurm_tasks SET state = 'COMPLETED', synced = 1 WHERE run_id = ?")
        .bind(1, runId)
        .run();
    tx.commit();
}

void ProjectStore::endSlurmTask(int64_t runId, const std::string& slurmState, RunStatus status,
                                const std::string& error) {
    Transaction tx(m_db);
    if (taskSynced(m_db, runId)) return;
    setStatus(runId, status, error);
    Statement(m_db, "UPDATE slurm_tasks SET state = ?, reason = ?, synced = 1 WHERE run_id = ?")
        .bind(1, slurmState)
        .bind(2, error)
        .bind(3, runId)
        .run();
    tx.commit();
}

bool ProjectStore::markSlurmTaskLost(int64_t runId, const std::string& error) {
    Transaction tx(m_db);
    if (taskSynced(m_db, runId)) return false;
    Statement st(m_db, "SELECT state FROM slurm_tasks WHERE run_id = ?");
    st.bind(1, runId);
    if (st.step() && st.text(0) == "UNKNOWN") return false;  // marked by an earlier sync
    setStatus(runId, RunStatus::Interrupted, error);
    Statement(m_db, "UPDATE slurm_tasks SET state = 'UNKNOWN', reason = ? WHERE run_id = ?")
        .bind(1, error)
        .bind(2, runId)
        .run();
    tx.commit();
    return true;
}

}  // namespace retort

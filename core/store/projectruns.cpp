// ProjectStore's runs: creating, starting and finishing them, their per-epoch metrics and
// checkpoints, per-layer sparsity and artifacts, reading and deleting them.
#include "store/projectstore.h"

#include "store/projectstoresql.h"

#include <sqlite3.h>

#include <unistd.h>
#include <algorithm>
#include <set>

namespace retort {

namespace {

using storesql::blobChecksum;
using storesql::hostName;
using storesql::kNow;
using storesql::parseJson;
using storesql::Statement;
using storesql::Transaction;
using storesql::verifyBlob;

}  // namespace

int64_t ProjectStore::createRun(const std::string& name, const Json& spec, const Json& params) {
    Statement st(
        m_db,
        std::string(
            "INSERT INTO runs(name, status, spec, params, created_at) VALUES(?, 'queued', ?, ?, ") +
            kNow + ")");
    st.bind(1, name).bind(2, spec.dump()).bind(3, params.dump()).run();
    return sqlite3_last_insert_rowid(m_db);
}

void ProjectStore::startRun(int64_t id, const Json& environment) {
    Statement st(
        m_db,
        std::string(
            "UPDATE runs SET status = 'running', error = '', environment = ?, started_at = ") +
            kNow + ", owner_host = ?, owner_pid = ? WHERE id = ?");
    st.bind(1, environment.dump()).bind(2, hostName()).bind(3, int64_t(getpid())).bind(4, id).run();
    if (sqlite3_changes(m_db) != 1) throw StoreError(m_path + ": no run " + std::to_string(id));
}

void ProjectStore::recordEpoch(int64_t id, int64_t epoch,
                               const std::map<std::string, double>& metrics,
                               const std::string& studentState, const std::string& optimizerState) {
    Transaction tx(m_db);
    Statement m(m_db,
                "INSERT OR REPLACE INTO metrics(run_id, epoch, name, value) VALUES(?, ?, ?, ?)");
    for (const auto& [name, value] : metrics) {
        m.bind(1, id).bind(2, epoch).bind(3, name).bind(4, value).run();
        sqlite3_reset(m.get());
    }
    Statement a(
        m_db, "INSERT OR REPLACE INTO artifacts(run_id, kind, data, checksum) VALUES(?, ?, ?, ?)");
    const std::pair<const char*, const std::string*> parts[] = {
        {"checkpoint_student", &studentState}, {"checkpoint_optimizer", &optimizerState}};
    for (const auto& [kind, data] : parts) {
        if (data->empty()) continue;
        a.bind(1, id).bind(2, std::string(kind)).blob(3, *data).bind(4, blobChecksum(*data)).run();
        sqlite3_reset(a.get());
    }
    tx.commit();
}

void ProjectStore::finishRun(int64_t id, RunStatus status, const Json& results,
                             const std::vector<LayerRecord>& layers,
                             const std::map<std::string, std::string>& artifacts,
                             const std::string& error) {
    Transaction tx(m_db);
    Statement(m_db,
              std::string("UPDATE runs SET status = ?, results = ?, error = ?, finished_at = ") +
                  kNow + " WHERE id = ?")
        .bind(1, std::string(statusName(status)))
        .bind(2, results.dump())
        .bind(3, error)
        .bind(4, id)
        .run();
    Statement l(m_db,
                "INSERT OR REPLACE INTO layers(run_id, layer, numel, nonzero) VALUES(?, ?, ?, ?)");
    for (const auto& r : layers) {
        l.bind(1, id).bind(2, r.layer).bind(3, r.numel).bind(4, r.nonzero).run();
        sqlite3_reset(l.get());
    }
    Statement a(
        m_db, "INSERT OR REPLACE INTO artifacts(run_id, kind, data, checksum) VALUES(?, ?, ?, ?)");
    for (const auto& [kind, data] : artifacts) {
        a.bind(1, id).bind(2, kind).blob(3, data).bind(4, blobChecksum(data)).run();
        sqlite3_reset(a.get());
    }
    tx.commit();
}

void ProjectStore::setStatus(int64_t id, RunStatus status, const std::string& error) {
    Statement(m_db, std::string("UPDATE runs SET status = ?, error = ?, finished_at = CASE WHEN ? "
                                "THEN ") +
                        kNow + " ELSE finished_at END WHERE id = ?")
        .bind(1, std::string(statusName(status)))
        .bind(2, error)
        .bind(3, int64_t(hasEnded(status)))
        .bind(4, id)
        .run();
}

RunRecord ProjectStore::readRun(sqlite3_stmt* raw) const {
    auto col = [&](int c) {
        const auto* p = sqlite3_column_text(raw, c);
        return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
    };
    RunRecord r;
    r.id = sqlite3_column_int64(raw, 0);
    r.name = col(1);
    const auto status = statusFromName(col(2));
    if (!status)  // the schema's CHECK allows only the known names
        throw StoreError(m_path + ": run " + std::to_string(r.id) + " has the unknown status '" +
                         col(2) + "'");
    r.status = *status;
    r.spec = parseJson(col(3));
    r.params = parseJson(col(4));
    r.results = parseJson(col(5));
    r.environment = parseJson(col(6));
    r.error = col(7);
    r.created_at = col(8);
    r.started_at = col(9);
    r.finished_at = col(10);
    r.slurm_state = col(11);
    r.owner_host = col(12);
    r.owner_pid = sqlite3_column_int64(raw, 13);
    if (r.status == RunStatus::Running && !r.owner_host.empty() && r.owner_host != hostName() &&
        r.error.empty())
        r.error = "possibly running on " + r.owner_host + " (pid " + std::to_string(r.owner_pid) +
                  "): only that host can tell whether it stopped";
    if (r.status == RunStatus::Running &&
        std::find(m_deadRunning.begin(), m_deadRunning.end(), r.id) != m_deadRunning.end()) {
        r.status = RunStatus::Interrupted;
        r.error = "the process running it stopped before it finished";
    }
    return r;
}

static const char* kRunColumns =
    "SELECT id, name, status, spec, params, results, environment, error, created_at, started_at, "
    "finished_at, (SELECT state FROM slurm_tasks WHERE run_id = runs.id AND synced = 0), "
    "owner_host, owner_pid FROM runs";

std::vector<RunRecord> ProjectStore::runs() const {
    Statement st(m_db, std::string(kRunColumns) + " ORDER BY id");
    std::vector<RunRecord> out;
    while (st.step()) out.push_back(readRun(st.get()));
    return out;
}

std::optional<RunRecord> ProjectStore::run(int64_t id) const {
    Statement st(m_db, std::string(kRunColumns) + " WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return readRun(st.get());
}

void ProjectStore::deleteRuns(const std::vector<int64_t>& ids) {
    Transaction tx(m_db);
    for (int64_t id : ids) {
        const auto r = run(id);
        if (!r) throw StoreError(m_path + ": there is no run " + std::to_string(id));
        if (!hasEnded(r->status))
            throw StoreError(m_path + ": run " + std::to_string(id) + " is " +
                             statusName(r->status) +
                             "; cancel it before deleting it (nothing was deleted)");
        Statement(m_db, "DELETE FROM runs WHERE id = ?").bind(1, id).run();
    }
    tx.commit();
}

std::vector<MetricPoint> ProjectStore::metrics(int64_t id) const {
    Statement st(m_db,
                 "SELECT epoch, name, value FROM metrics WHERE run_id = ? ORDER BY epoch, name");
    st.bind(1, id);
    std::vector<MetricPoint> out;
    while (st.step()) out.push_back({st.i64(0), st.text(1), st.f64(2)});
    return out;
}

std::vector<LayerRecord> ProjectStore::layers(int64_t id) const {
    Statement st(m_db, "SELECT layer, numel, nonzero FROM layers WHERE run_id = ? ORDER BY rowid");
    st.bind(1, id);
    std::vector<LayerRecord> out;
    while (st.step()) out.push_back({st.text(0), st.i64(1), st.i64(2)});
    return out;
}

std::optional<std::string> ProjectStore::artifact(int64_t id, const std::string& kind) const {
    Statement st(m_db, "SELECT data, checksum FROM artifacts WHERE run_id = ? AND kind = ?");
    st.bind(1, id).bind(2, kind);
    if (!st.step()) return std::nullopt;
    std::string data = st.bytes(0);
    verifyBlob(data, st.text(1), m_path + ": run " + std::to_string(id) + "'s stored " + kind);
    return data;
}

void ProjectStore::saveArtifact(int64_t id, const std::string& kind, const std::string& data) {
    static const std::set<std::string> owned = {"student", "compressed", "checkpoint_student",
                                                "checkpoint_optimizer"};
    if (owned.count(kind))
        throw StoreError(m_path + ": the artifact '" + kind + "' belongs to the run's training");
    const auto r = run(id);
    if (!r || r->status != RunStatus::Completed)
        throw StoreError(m_path + ": run " + std::to_string(id) + " is not a completed run");
    Statement a(
        m_db, "INSERT OR REPLACE INTO artifacts(run_id, kind, data, checksum) VALUES(?, ?, ?, ?)");
    a.bind(1, id).bind(2, kind).blob(3, data).bind(4, blobChecksum(data)).run();
}

std::vector<std::string> ProjectStore::artifactKinds(int64_t id) const {
    Statement st(m_db, "SELECT kind FROM artifacts WHERE run_id = ? ORDER BY kind");
    st.bind(1, id);
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
}

}  // namespace retort

#include "store/projectstore.h"

#include "store/projectschema.h"

#include <sqlite3.h>
#include <zlib.h>

#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace retort {

namespace {

using schema::kApplicationId;
using schema::kMigrations;

static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == ProjectStore::kSchemaVersion);

constexpr const char* kNow = "strftime('%Y-%m-%dT%H:%M:%SZ','now')";

/// The checksum stored beside a blob: its size and CRC-32, enough to catch a flipped byte or a
/// truncation (not tampering: a project is trusted as data, never as code).
std::string blobChecksum(const std::string& data) {
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < data.size();) {
        const size_t n = std::min<size_t>(data.size() - off, 1u << 30);
        crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + off), static_cast<uInt>(n));
        off += n;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "crc32:%08lx", static_cast<unsigned long>(crc));
    return std::to_string(data.size()) + ":" + buf;
}

/// Throws StoreError naming @p what when @p data does not match the checksum stored with it.
void verifyBlob(const std::string& data, const std::string& checksum, const std::string& what) {
    if (!checksum.empty() && blobChecksum(data) != checksum)
        throw CorruptArtifactError(what + " is corrupt (its checksum does not match: stored " +
                                   checksum + ", read " + blobChecksum(data) + ")");
}

std::string hostName() {
    char buf[256] = {};
    gethostname(buf, sizeof buf - 1);
    return buf;
}

/// An SQLite error as a message naming the project file, with what a user can do about it.
StoreError sqlError(sqlite3* db) {
    const char* file = sqlite3_db_filename(db, "main");
    std::string msg = std::string(file && *file ? file : "the project") + ": " + sqlite3_errmsg(db);
    const int code = sqlite3_errcode(db) & 0xff;
    if (code == SQLITE_READONLY)
        msg +=
            " (the file or its folder is read-only for this user: open it read-only, or copy "
            "it somewhere writable)";
    else if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
        msg += " (the file is damaged or truncated)";
    else if (code == SQLITE_FULL)
        msg += " (the disk is full)";
    return StoreError(msg);
}

/// A prepared statement with bound parameters; finalized on scope exit.
class Statement {
public:
    Statement(sqlite3* db, const std::string& sql) : m_db(db) {
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &m_st, nullptr) != SQLITE_OK)
            throw sqlError(db);
    }
    ~Statement() { sqlite3_finalize(m_st); }
    Statement& bind(int i, int64_t v) {
        check(sqlite3_bind_int64(m_st, i, v));
        return *this;
    }
    Statement& bind(int i, double v) {
        check(sqlite3_bind_double(m_st, i, v));
        return *this;
    }
    Statement& bind(int i, const std::string& v) {
        check(sqlite3_bind_text(m_st, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
        return *this;
    }
    Statement& blob(int i, const std::string& v) {
        check(sqlite3_bind_blob64(m_st, i, v.data(), v.size(), SQLITE_TRANSIENT));
        return *this;
    }
    /// Steps once: true while a row is available.
    bool step() {
        int rc = sqlite3_step(m_st);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw sqlError(m_db);
    }
    void run() {
        while (step()) {
        }
    }
    int64_t i64(int c) const { return sqlite3_column_int64(m_st, c); }
    double f64(int c) const { return sqlite3_column_double(m_st, c); }
    std::string text(int c) const {
        const auto* p = sqlite3_column_text(m_st, c);
        return p ? std::string(reinterpret_cast<const char*>(p),
                               static_cast<size_t>(sqlite3_column_bytes(m_st, c)))
                 : std::string();
    }
    std::string bytes(int c) const {
        const void* p = sqlite3_column_blob(m_st, c);
        return p ? std::string(static_cast<const char*>(p),
                               static_cast<size_t>(sqlite3_column_bytes(m_st, c)))
                 : std::string();
    }
    sqlite3_stmt* get() const { return m_st; }

private:
    void check(int rc) {
        if (rc != SQLITE_OK)
            throw StoreError(std::string("SQL bind error: ") + sqlite3_errmsg(m_db));
    }
    sqlite3* m_db;
    sqlite3_stmt* m_st = nullptr;
};

/// BEGIN IMMEDIATE ... COMMIT, rolled back if the scope is left by an exception.
class Transaction {
public:
    explicit Transaction(sqlite3* db) : m_db(db) { exec("BEGIN IMMEDIATE"); }
    ~Transaction() {
        if (!m_done) sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    void commit() {
        exec("COMMIT");
        m_done = true;
    }

private:
    void exec(const char* sql) {
        char* err = nullptr;
        if (sqlite3_exec(m_db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
            sqlite3_free(err);
            throw sqlError(m_db);
        }
    }
    sqlite3* m_db;
    bool m_done = false;
};

/// A file path as a URI path: reserved characters percent-encoded.
std::string uriPath(const std::string& p) {
    std::string out;
    for (unsigned char c : p) {
        if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
            out += char(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

Json parseJson(const std::string& s) {
    if (s.empty()) return Json::object();
    return Json::parse(s, nullptr, false);
}

}  // namespace

ProjectStore::ProjectStore(const std::string& path, Access access) : m_path(path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const bool exists = fs::exists(path, ec);
    if (access == Access::ReadOnly && !exists) throw StoreError(path + ": no such project file");
    if (exists && fs::is_directory(path, ec))
        throw StoreError(path + ": is a folder, not a project file");
    if (exists && fs::file_size(path, ec) > 0) {
        // Check the SQLite header ourselves: SQLite would only fail later, with a vaguer message.
        std::ifstream in(path, std::ios::binary);
        char header[16] = {};
        in.read(header, 16);
        if (in.gcount() < 16 || std::string(header, 16) != std::string("SQLite format 3\0", 16))
            throw StoreError(path + ": not a Retort project (not an SQLite database)");
    }
    if (access == Access::ReadWrite && !exists &&
        !fs::is_directory(fs::absolute(path, ec).parent_path(), ec))
        throw StoreError(path + ": no such folder " +
                         fs::absolute(path, ec).parent_path().string());
    if (access == Access::ReadWrite && !writable(path))
        throw StoreError(path + ": read-only (" + std::string(std::strerror(EACCES)) +
                         " for this user, on the file or its folder): open it read-only to "
                         "look at it, or copy it somewhere writable to add runs");
    int flags = access == Access::ReadOnly ? SQLITE_OPEN_READONLY
                                           : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    std::string name = path;
    // Reading a project we may not write: SQLite would try to create -shm (and leave it behind,
    // or fail in a read-only folder). With no -wal file no writer has it open, so it is read as
    // an immutable file, creating nothing.
    if (access == Access::ReadOnly && !writable(path) && !fs::exists(path + "-wal", ec)) {
        flags |= SQLITE_OPEN_URI;
        name = "file:" + uriPath(fs::absolute(path, ec).string()) + "?immutable=1";
    }
    if (sqlite3_open_v2(name.c_str(), &m_db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
        std::string msg = m_db ? sqlite3_errmsg(m_db) : "out of memory";
        sqlite3_close(m_db);
        m_db = nullptr;
        throw StoreError(path + ": cannot open: " + msg);
    }
    try {
        sqlite3_busy_timeout(m_db, 15000);
        exec("PRAGMA foreign_keys = ON");
        int64_t appId = 0;
        {
            Statement app(m_db, "PRAGMA application_id");
            app.step();
            appId = app.i64(0);
        }
        const int version = schemaVersion();
        if (appId != 0 && appId != kApplicationId)
            throw StoreError(path +
                             ": not a Retort project (an SQLite database of another application)");
        int64_t tables = 0;
        {
            Statement count(m_db, "SELECT count(*) FROM sqlite_master");
            count.step();
            tables = count.i64(0);
        }
        if (appId == 0 && (version != 0 || tables != 0))
            throw StoreError(path +
                             ": not a Retort project (an SQLite database without Retort's marker)");
        if (version > kSchemaVersion)
            throw StoreError(path + ": made by a newer Retort (schema version " +
                             std::to_string(version) + ", this build reads up to " +
                             std::to_string(kSchemaVersion) + ")");
        if (access == Access::ReadWrite) {
            exec("PRAGMA journal_mode = WAL");
            exec("PRAGMA synchronous = NORMAL");
            migrate();
            m_recovered = recoverInterrupted();
        } else if (version == 0) {
            throw StoreError(path + ": empty project (no Retort schema)");
        } else if (version < kSchemaVersion) {
            throw StoreError(path + ": schema version " + std::to_string(version) +
                             " needs migrating; open it for writing once");
        } else {
            m_deadRunning = deadRunningRuns();
        }
        Statement check(m_db, "PRAGMA quick_check");
        check.step();
        if (check.text(0) != "ok")
            throw StoreError(path + ": the database is corrupt (" + check.text(0) + ")");
    } catch (const StoreError&) {
        sqlite3_close(m_db);
        m_db = nullptr;
        throw;
    } catch (const std::exception& e) {
        sqlite3_close(m_db);
        m_db = nullptr;
        throw StoreError(path + ": " + e.what());
    }
}

ProjectStore::~ProjectStore() {
    sqlite3_close(m_db);
}

void ProjectStore::fail(const std::string& what) const {
    throw StoreError(m_path + ": " + what + ": " + sqlite3_errmsg(m_db));
}

void ProjectStore::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(m_db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errmsg(m_db);
        sqlite3_free(err);
        if (msg.find("file is not a database") != std::string::npos)
            throw StoreError(m_path + ": not a Retort project (not an SQLite database)");
        throw sqlError(m_db);
    }
}

int ProjectStore::schemaVersion() const {
    Statement st(m_db, "PRAGMA user_version");
    st.step();
    return static_cast<int>(st.i64(0));
}

void ProjectStore::migrate() {
    Transaction tx(m_db);
    // Read again inside the write lock: another process may have migrated meanwhile.
    const int version = schemaVersion();
    if (version > kSchemaVersion) throw StoreError(m_path + ": made by a newer Retort");
    for (int v = version; v < kSchemaVersion; ++v) exec(kMigrations[v]);
    if (version < kSchemaVersion) {
        exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
        exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    }
    tx.commit();
}

std::vector<int64_t> ProjectStore::deadRunningRuns() const {
    Statement sel(m_db, "SELECT id, owner_host, owner_pid FROM runs WHERE status = 'running'");
    std::vector<int64_t> dead;
    const std::string host = hostName();
    while (sel.step()) {
        const int64_t pid = sel.i64(2);
        const std::string owner = sel.text(1);
        // A run owned by another host (a project on a shared disk) may well be running there:
        // only its own host can tell that its process is gone.
        if (!owner.empty() && owner != host && pid > 0) continue;
        const bool alive =
            owner == host && pid > 0 &&
            (pid == getpid() || kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
        if (!alive) dead.push_back(sel.i64(0));
    }
    return dead;
}

std::string ProjectStore::integrityCheck() const {
    Statement st(m_db, "PRAGMA integrity_check");
    std::string out;
    while (st.step()) out += (out.empty() ? "" : "; ") + st.text(0);
    return out;
}

int ProjectStore::recoverInterrupted() {
    Transaction tx(m_db);
    const std::vector<int64_t> dead = deadRunningRuns();
    for (int64_t id : dead)
        Statement(m_db,
                  std::string("UPDATE runs SET status = 'interrupted', finished_at = ") + kNow +
                      ", error = 'the process running it stopped before it finished' WHERE id = ?")
            .bind(1, id)
            .run();
    tx.commit();
    return static_cast<int>(dead.size());
}

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

int64_t ProjectStore::dataVersion() const {
    Statement st(m_db, "PRAGMA data_version");
    st.step();
    return st.i64(0);
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

std::optional<ProjectStore::TeacherOutputs> ProjectStore::teacherOutputs(
    const std::string& key) const {
    Statement st(m_db, "SELECT logits, test_accuracy, checksum FROM teacher_outputs WHERE key = ?");
    st.bind(1, key);
    if (!st.step()) return std::nullopt;
    TeacherOutputs out{st.bytes(0), st.f64(1)};
    verifyBlob(out.logits, st.text(2),
               m_path + ": the stored outputs of teacher " + key.substr(0, 8));
    return out;
}

void ProjectStore::saveTeacherOutputs(const std::string& key, const TeacherOutputs& outputs) {
    Statement(
        m_db,
        std::string("INSERT OR REPLACE INTO teacher_outputs(key, logits, test_accuracy, checksum, "
                    "created_at) VALUES(?, ?, ?, ?, ") +
            kNow + ")")
        .bind(1, key)
        .blob(2, outputs.logits)
        .bind(3, outputs.test_accuracy)
        .bind(4, blobChecksum(outputs.logits))
        .run();
}

std::optional<std::string> ProjectStore::tokenizer(const std::string& key) const {
    Statement st(m_db, "SELECT model, checksum FROM tokenizers WHERE key = ?");
    st.bind(1, key);
    if (!st.step()) return std::nullopt;
    std::string model = st.bytes(0);
    verifyBlob(model, st.text(1), m_path + ": the stored tokenizer " + key.substr(0, 8));
    return model;
}

void ProjectStore::saveTokenizer(const std::string& key, const std::string& model,
                                 const Json& info) {
    Statement(m_db, std::string("INSERT OR REPLACE INTO tokenizers(key, model, info, checksum, "
                                "created_at) VALUES(?, ?, ?, ?, ") +
                        kNow + ")")
        .bind(1, key)
        .blob(2, model)
        .bind(3, info.dump())
        .bind(4, blobChecksum(model))
        .run();
}

void ProjectStore::useRollbackJournal() {
    exec("PRAGMA journal_mode = DELETE");
}

std::vector<std::string> ProjectStore::artifactKinds(int64_t id) const {
    Statement st(m_db, "SELECT kind FROM artifacts WHERE run_id = ? ORDER BY kind");
    st.bind(1, id);
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
}

std::vector<std::string> ProjectStore::teacherKeys() const {
    Statement st(m_db, "SELECT key FROM teachers ORDER BY key");
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
}

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

void ProjectStore::saveCopy(const std::string& target) const {
    std::error_code ec;
    if (std::filesystem::exists(target, ec)) throw StoreError(target + ": already exists");
    for (const auto& side : sideFiles(target))
        throw StoreError(side + ": a stale SQLite side file; remove it first");
    Statement(m_db, "VACUUM INTO ?").bind(1, target).run();
}

std::optional<TeacherRecord> ProjectStore::teacher(const std::string& key) const {
    Statement st(m_db, "SELECT key, spec, state, summary, checksum FROM teachers WHERE key = ?");
    st.bind(1, key);
    if (!st.step()) return std::nullopt;
    TeacherRecord t{st.text(0), parseJson(st.text(1)), st.bytes(2), parseJson(st.text(3))};
    verifyBlob(t.state, st.text(4), m_path + ": the stored teacher " + key.substr(0, 8));
    return t;
}

void ProjectStore::saveTeacher(const TeacherRecord& t) {
    Statement(m_db,
              std::string("INSERT OR REPLACE INTO teachers(key, spec, state, summary, checksum, "
                          "created_at) VALUES(?, ?, ?, ?, ?, ") +
                  kNow + ")")
        .bind(1, t.key)
        .bind(2, t.spec.dump())
        .blob(3, t.state)
        .bind(4, t.summary.dump())
        .bind(5, blobChecksum(t.state))
        .run();
}

namespace {
constexpr const char* kPretrainedColumns =
    "SELECT id, key, spec, epochs_done, metrics, state, optimizer, checksum FROM pretrained ";
}

std::optional<PretrainedRecord> ProjectStore::pretrained(const std::string& key) const {
    Statement st(m_db, std::string(kPretrainedColumns) + "WHERE key = ?");
    st.bind(1, key);
    if (!st.step()) return std::nullopt;
    PretrainedRecord r{st.i64(0),   st.text(1), parseJson(st.text(2)), st.bytes(5),
                       st.bytes(6), st.i64(3),  parseJson(st.text(4))};
    verifyBlob(r.state + r.optimizer, st.text(7),
               m_path + ": the stored pretrained model " + std::to_string(r.id));
    return r;
}

std::optional<PretrainedRecord> ProjectStore::pretrained(int64_t id) const {
    Statement st(m_db, "SELECT key FROM pretrained WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return pretrained(st.text(0));
}

int64_t ProjectStore::savePretrained(const PretrainedRecord& r) {
    Statement(m_db, std::string("INSERT INTO pretrained(key, spec, state, optimizer, epochs_done, "
                                "metrics, checksum, created_at, updated_at) VALUES(?, ?, ?, ?, ?, "
                                "?, ?, ") +
                        kNow + ", " + kNow +
                        ") ON CONFLICT(key) DO UPDATE SET spec = excluded.spec, state = "
                        "excluded.state, optimizer = excluded.optimizer, epochs_done = "
                        "excluded.epochs_done, metrics = excluded.metrics, checksum = "
                        "excluded.checksum, updated_at = excluded.updated_at")
        .bind(1, r.key)
        .bind(2, r.spec.dump())
        .blob(3, r.state)
        .blob(4, r.optimizer)
        .bind(5, r.epochs_done)
        .bind(6, r.metrics.dump())
        .bind(7, blobChecksum(r.state + r.optimizer))
        .run();
    Statement st(m_db, "SELECT id FROM pretrained WHERE key = ?");
    st.bind(1, r.key);
    st.step();
    return st.i64(0);
}

std::vector<PretrainedRecord> ProjectStore::pretrainedList() const {
    Statement st(m_db, "SELECT id, key, spec, epochs_done, metrics FROM pretrained ORDER BY id");
    std::vector<PretrainedRecord> out;
    while (st.step()) {
        PretrainedRecord r;
        r.id = st.i64(0);
        r.key = st.text(1);
        r.spec = parseJson(st.text(2));
        r.epochs_done = st.i64(3);
        r.metrics = parseJson(st.text(4));
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace retort

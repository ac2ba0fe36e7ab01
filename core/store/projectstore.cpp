// ProjectStore's connection: opening a project file, its schema and migrations, the recovery of
// runs whose process died, and operations on the whole file (integrity check, journal mode,
// copies). The rest of the class: runs in projectruns.cpp, teachers, pretrained encoders and
// tokenizers in projectcache.cpp, Slurm tasks in projectslurm.cpp, file helpers in
// projectfiles.cpp; the SQL helpers they share in projectstoresql.h.
#include "store/projectstore.h"

#include "store/projectschema.h"
#include "store/projectstoresql.h"

#include <sqlite3.h>

#include <unistd.h>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace retort {

namespace {

using schema::kApplicationId;
using schema::kMigrations;
using storesql::hostName;
using storesql::kNow;
using storesql::sqlError;
using storesql::Statement;
using storesql::Transaction;

static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == ProjectStore::kSchemaVersion);

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

void ProjectStore::useRollbackJournal() {
    exec("PRAGMA journal_mode = DELETE");
}

int64_t ProjectStore::dataVersion() const {
    Statement st(m_db, "PRAGMA data_version");
    st.step();
    return st.i64(0);
}

void ProjectStore::saveCopy(const std::string& target) const {
    std::error_code ec;
    if (std::filesystem::exists(target, ec)) throw StoreError(target + ": already exists");
    for (const auto& side : sideFiles(target))
        throw StoreError(side + ": a stale SQLite side file; remove it first");
    Statement(m_db, "VACUUM INTO ?").bind(1, target).run();
}

}  // namespace retort

#pragma once

// ProjectStore's SQL plumbing, shared by the files that define its members (projectstore.cpp,
// projectruns.cpp, projectcache.cpp, projectslurm.cpp): statements, transactions, errors and
// blob checksums. Internal to core/store: not for other folders.

#include "store/projectstore.h"

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace retort::storesql {

inline constexpr const char* kNow = "strftime('%Y-%m-%dT%H:%M:%SZ','now')";

/// The checksum stored beside a blob: its size and CRC-32, enough to catch a flipped byte or a
/// truncation (not tampering: a project is trusted as data, never as code).
std::string blobChecksum(const std::string& data);

/// Throws StoreError naming @p what when @p data does not match the checksum stored with it.
void verifyBlob(const std::string& data, const std::string& checksum, const std::string& what);

std::string hostName();

/// An SQLite error as a message naming the project file, with what a user can do about it.
StoreError sqlError(sqlite3* db);

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

/// A stored JSON text: an empty one is an empty object; malformed text parses to a discarded
/// value rather than throwing.
Json parseJson(const std::string& s);

}  // namespace retort::storesql

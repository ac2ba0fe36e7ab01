// ProjectStore's shared SQL helpers (projectstoresql.h): blob checksums, the host name, SQLite
// errors as StoreError, stored JSON.
#include "store/projectstoresql.h"

#include <zlib.h>

#include <unistd.h>
#include <algorithm>
#include <cstdio>

namespace retort::storesql {

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

Json parseJson(const std::string& s) {
    if (s.empty()) return Json::object();
    return Json::parse(s, nullptr, false);
}

}  // namespace retort::storesql

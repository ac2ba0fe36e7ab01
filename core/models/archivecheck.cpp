#include "models/archivecheck.h"

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <sstream>

namespace retort {

namespace {

uint64_t le(const std::string& b, uint64_t at, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
    return v;
}

uint32_t crcOf(const char* data, uint64_t size) {
    uLong crc = crc32(0L, Z_NULL, 0);
    while (size > 0) {
        const uInt chunk = static_cast<uInt>(std::min<uint64_t>(size, 1u << 30));
        crc = crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
        data += chunk;
        size -= chunk;
    }
    return static_cast<uint32_t>(crc);
}

/// CRC-32 of a deflated entry's inflated bytes (-1 when it does not inflate to `expected` bytes).
int64_t inflatedCrc(const char* data, uint64_t size, uint64_t expected) {
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return -1;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z.avail_in = static_cast<uInt>(std::min<uint64_t>(size, UINT32_MAX));
    uLong crc = crc32(0L, Z_NULL, 0);
    uint64_t total = 0;
    char out[65536];
    int rc = Z_OK;
    while (rc == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(out);
        z.avail_out = sizeof out;
        rc = inflate(&z, Z_NO_FLUSH);
        const uint64_t got = sizeof out - z.avail_out;
        total += got;
        if (total > expected) break;
        crc = crc32(crc, reinterpret_cast<const Bytef*>(out), static_cast<uInt>(got));
    }
    inflateEnd(&z);
    return rc == Z_STREAM_END && total == expected ? static_cast<int64_t>(crc) : -1;
}

}  // namespace

void verifyArchive(const std::string& b, const std::string& what) {
    const auto fail = [&](const std::string& why) {
        throw ArchiveError(what + ": not a sound LibTorch archive (" + why + ")");
    };
    const uint64_t n = b.size();
    if (n < 22) fail("too short");
    // The end-of-central-directory record: within the last 64 KiB + 22 bytes.
    uint64_t eocd = UINT64_MAX;
    for (uint64_t i = n - 22 + 1; i-- > (n > 65557 ? n - 65557 : 0);)
        if (le(b, i, 4) == 0x06054b50 && i + 22 + le(b, i + 20, 2) == n) {
            eocd = i;
            break;
        }
    if (eocd == UINT64_MAX) fail("no end of central directory: truncated?");
    uint64_t entries = le(b, eocd + 10, 2);
    uint64_t cdSize = le(b, eocd + 12, 4);
    uint64_t cdOffset = le(b, eocd + 16, 4);
    if (entries == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF) {
        // Zip64: the locator sits just before the record and points at the zip64 record.
        if (eocd < 20 || le(b, eocd - 20, 4) != 0x07064b50) fail("bad zip64 locator");
        const uint64_t z64 = le(b, eocd - 20 + 8, 8);
        if (n < 56 || z64 > n - 56 || le(b, z64, 4) != 0x06064b50) fail("bad zip64 record");
        entries = le(b, z64 + 32, 8);
        cdSize = le(b, z64 + 40, 8);
        cdOffset = le(b, z64 + 48, 8);
    }
    if (entries == 0) fail("no entries");
    if (cdOffset > n || cdSize > n - cdOffset) fail("central directory out of range");
    uint64_t at = cdOffset;
    const uint64_t cdEnd = cdOffset + cdSize;
    for (uint64_t e = 0; e < entries; ++e) {
        if (at + 46 > cdEnd || le(b, at, 4) != 0x02014b50) fail("bad central directory entry");
        const uint64_t method = le(b, at + 10, 2);
        const uint32_t crc = static_cast<uint32_t>(le(b, at + 16, 4));
        uint64_t csize = le(b, at + 20, 4);
        uint64_t usize = le(b, at + 24, 4);
        const uint64_t nameLen = le(b, at + 28, 2);
        const uint64_t extraLen = le(b, at + 30, 2);
        const uint64_t commentLen = le(b, at + 32, 2);
        uint64_t local = le(b, at + 42, 4);
        if (at + 46 + nameLen + extraLen + commentLen > cdEnd) fail("bad central directory entry");
        const std::string name = b.substr(at + 46, nameLen);
        // Zip64 extra field: the 64-bit values of the fields that read 0xFFFFFFFF, in order.
        for (uint64_t x = at + 46 + nameLen; x + 4 <= at + 46 + nameLen + extraLen;) {
            const uint64_t id = le(b, x, 2), len = le(b, x + 2, 2);
            if (x + 4 + len > at + 46 + nameLen + extraLen) fail("bad extra field of " + name);
            if (id == 0x0001) {
                uint64_t p = x + 4;
                const auto next = [&](uint64_t& field) {
                    if (field != 0xFFFFFFFF) return;
                    if (p + 8 > x + 4 + len) fail("bad zip64 field of " + name);
                    field = le(b, p, 8);
                    p += 8;
                };
                next(usize);
                next(csize);
                next(local);
            }
            x += 4 + len;
        }
        if (local > n || n - local < 30 || le(b, local, 4) != 0x04034b50)
            fail("entry " + name + " has no local header");
        const uint64_t data = local + 30 + le(b, local + 26, 2) + le(b, local + 28, 2);
        if (data > n || csize > n - data) fail("entry " + name + " runs past the end");
        if (method == 0) {
            if (csize != usize) fail("entry " + name + " has inconsistent sizes");
            if (crcOf(b.data() + data, csize) != crc) fail("entry " + name + " fails its CRC-32");
        } else if (method == 8) {
            if (inflatedCrc(b.data() + data, csize, usize) != static_cast<int64_t>(crc))
                fail("entry " + name + " fails its CRC-32");
        } else {
            fail("entry " + name + " uses compression method " + std::to_string(method));
        }
        at += 46 + nameLen + extraLen + commentLen;
    }
}

std::string readArchiveFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ArchiveError(path + ": cannot be read");
    std::ostringstream os;
    os << in.rdbuf();
    if (in.bad()) throw ArchiveError(path + ": cannot be read");
    return os.str();
}

}  // namespace retort

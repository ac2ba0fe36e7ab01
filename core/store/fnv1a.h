#pragma once

// The content hash of Retort's cache keys (data fingerprints, teacher keys): 64-bit FNV-1a,
// stable across processes, machines and versions, so stored teachers and teacher outputs are
// found again. Not a cryptographic hash: it tells changed content from unchanged, no more.

#include <cstdint>
#include <cstdio>
#include <string>

namespace retort {

/// FNV-1a over bytes fed in any number of pieces.
class Fnv1a {
public:
    static constexpr uint64_t kOffsetBasis = 1469598103934665603ULL;
    explicit Fnv1a(uint64_t seed = kOffsetBasis) : m_h(seed) {}

    void update(const char* data, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            m_h ^= static_cast<unsigned char>(data[i]);
            m_h *= 1099511628211ULL;
        }
    }
    void update(const std::string& bytes) { update(bytes.data(), bytes.size()); }
    uint64_t value() const { return m_h; }
    /// The hash as 16 lowercase hex digits.
    std::string hex() const {
        char buf[17];
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(m_h));
        return buf;
    }

private:
    uint64_t m_h;
};

/// The hash of @p bytes, hex-encoded.
inline std::string fnv1aHex(const std::string& bytes, uint64_t seed = Fnv1a::kOffsetBasis) {
    Fnv1a h(seed);
    h.update(bytes);
    return h.hex();
}

}  // namespace retort

#pragma once

// The pipe protocol between Tokenizer (core) and retort-tokenize, the helper process that runs
// SentencePiece. Debian's libsentencepiece carries its own protobuf 3.14 with exported symbols,
// and LibTorch loads the system's protobuf 3.21: in one process the two bind to each other's
// symbols and the program crashes before main(). So SentencePiece runs in a process without
// LibTorch. Header-only and dependency-free: the helper includes it without linking the core.
//
// A request: "RTK1", a command byte, the options, the model (empty to train), the texts.
// A reply: a status byte (1 ok, 0 error + message), then what the command returns.
// Strings are a little-endian u32 length and their bytes; counts are little-endian u64.

#include <cstdint>
#include <cstring>
#include <istream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace retort::tokenizerprotocol {

inline constexpr char kMagic[4] = {'R', 'T', 'K', '1'};

enum Command : char {
    kTrain = 'T',   ///< texts -> model, vocabulary size
    kLoad = 'L',    ///< model -> vocabulary size (checks the model)
    kEncode = 'E',  ///< model, texts -> ids per text (no [CLS], not cut)
    kPieces = 'P',  ///< model, texts -> pieces per text
    kVocab = 'V',   ///< model -> every piece, by id
};

/// What the helper needs to know of TokenizerOptions.
struct Settings {
    uint8_t bpe = 0;          ///< 0 unigram, 1 BPE
    uint64_t vocab_size = 0;  ///< pieces, special ones included
    uint8_t lowercase = 1;    ///< case-fold before splitting
};

struct Request {
    char command = kEncode;
    Settings settings;
    std::string model;
    std::vector<std::string> texts;
};

inline void putU32(std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xFF));
}
inline void putU64(std::string& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(char((v >> (8 * i)) & 0xFF));
}
inline void putString(std::string& out, const std::string& s) {
    if (s.size() > 0xFFFFFFFFu) throw std::length_error("tokenizer: a text over 4 GiB");
    putU32(out, uint32_t(s.size()));
    out += s;
}

/// Reads the encoding above from a byte buffer; throws std::runtime_error when it is cut short.
class Reader {
public:
    explicit Reader(const std::string& bytes) : m_b(bytes) {}
    uint8_t u8() { return uint8_t(take(1)[0]); }
    uint32_t u32() {
        const char* p = take(4);
        uint32_t v = 0;
        for (int i = 3; i >= 0; --i) v = (v << 8) | uint8_t(p[i]);
        return v;
    }
    uint64_t u64() {
        const char* p = take(8);
        uint64_t v = 0;
        for (int i = 7; i >= 0; --i) v = (v << 8) | uint8_t(p[i]);
        return v;
    }
    std::string string() {
        const uint32_t n = u32();
        return std::string(take(n), n);
    }
    /// A count of items each at least @p minBytes long: refused if the rest cannot hold them.
    uint64_t count(size_t minBytes) {
        const uint64_t n = u64();
        if (n > (m_b.size() - m_at) / (minBytes ? minBytes : 1))
            throw std::runtime_error("tokenizer protocol: a count past the end");
        return n;
    }
    bool atEnd() const { return m_at == m_b.size(); }

private:
    const char* take(size_t n) {
        if (n > m_b.size() - m_at) throw std::runtime_error("tokenizer protocol: cut short");
        const char* p = m_b.data() + m_at;
        m_at += n;
        return p;
    }
    const std::string& m_b;
    size_t m_at = 0;
};

inline std::string encodeRequest(const Request& r) {
    std::string out(kMagic, 4);
    out.push_back(r.command);
    out.push_back(char(r.settings.bpe));
    putU64(out, r.settings.vocab_size);
    out.push_back(char(r.settings.lowercase));
    putString(out, r.model);
    putU64(out, r.texts.size());
    for (const auto& t : r.texts) putString(out, t);
    return out;
}

inline Request decodeRequest(const std::string& bytes) {
    Reader in(bytes);
    Request r;
    for (char c : kMagic)
        if (char(in.u8()) != c) throw std::runtime_error("tokenizer protocol: not a request");
    r.command = char(in.u8());
    r.settings.bpe = in.u8();
    r.settings.vocab_size = in.u64();
    r.settings.lowercase = in.u8();
    r.model = in.string();
    const uint64_t n = in.count(4);
    r.texts.reserve(n);
    for (uint64_t i = 0; i < n; ++i) r.texts.push_back(in.string());
    if (!in.atEnd()) throw std::runtime_error("tokenizer protocol: bytes after the request");
    return r;
}

}  // namespace retort::tokenizerprotocol

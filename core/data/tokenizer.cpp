#include "data/tokenizer.h"

#include "data/tokenizerprotocol.h"
#include "store/fnv1a.h"
#include "system/process.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace retort {

namespace proto = tokenizerprotocol;
namespace fs = std::filesystem;

namespace {

void check(const TokenizerOptions& o) {
    if (o.vocab_size < 8 || o.vocab_size > 1000000)
        throw std::invalid_argument("tokenizer vocab_size must be in [8, 1000000], not " +
                                    std::to_string(o.vocab_size));
    if (o.max_length < 2 || o.max_length > 100000)
        throw std::invalid_argument("tokenizer max_length must be in [2, 100000], not " +
                                    std::to_string(o.max_length));
}

/// Runs the helper on one request and returns its reply (the status byte checked and removed).
std::string call(const proto::Request& request) {
    const std::string helper = Tokenizer::helperPath();
    const ProcessResult p = runProcess({helper}, proto::encodeRequest(request));
    if (!p.started) throw std::runtime_error("tokenizer: cannot run " + helper + ": " + p.error);
    if (!p.error.empty() || p.exit != 0 || p.out.empty())
        throw std::runtime_error("tokenizer: " + helper + " failed (" +
                                 (!p.error.empty() ? p.error
                                  : p.signal       ? "signal " + std::to_string(p.signal)
                                                   : "exit " + std::to_string(p.exit)) +
                                 ")" + (p.err.empty() ? "" : ": " + p.err));
    const std::string& reply = p.out;
    if (reply[0] != '\1') {
        const std::string rest = reply.substr(1);
        proto::Reader r(rest);
        throw std::runtime_error("tokenizer: " + r.string());
    }
    return reply.substr(1);
}

proto::Request request(char command, const TokenizerOptions& o, const std::string& model,
                       const std::vector<std::string>& texts) {
    proto::Request r;
    r.command = command;
    r.settings.bpe = o.type == TokenizerType::Bpe;
    r.settings.vocab_size = uint64_t(o.vocab_size);
    r.settings.lowercase = o.lowercase;
    r.model = model;
    r.texts = texts;
    return r;
}

}  // namespace

std::string Tokenizer::helperPath() {
    if (const char* e = std::getenv("RETORT_TOKENIZE"); e && *e) return e;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    std::string looked;
    if (!ec) {
        const fs::path dir = exe.parent_path();
        for (const fs::path& p : {dir / "retort-tokenize", dir / ".." / "app" / "retort-tokenize",
                                  dir / ".." / "lib" / "retort" / "retort-tokenize"}) {
            if (access(p.c_str(), X_OK) == 0) return p.lexically_normal().string();
            looked += (looked.empty() ? "" : ", ") + p.lexically_normal().string();
        }
    }
    throw std::runtime_error("tokenizer: the helper retort-tokenize is not installed (looked in " +
                             looked + "; set RETORT_TOKENIZE to its path)");
}

Tokenizer Tokenizer::train(const std::vector<std::string>& texts, const TokenizerOptions& options) {
    check(options);
    if (texts.empty()) throw std::runtime_error("tokenizer: no training texts");
    std::string reply;
    try {
        reply = call(request(proto::kTrain, options, "", texts));
    } catch (const std::runtime_error& e) {
        // SentencePiece's words name its own flags; say it in the spec's.
        const std::string what = e.what();
        const std::string tag = "Vocabulary size is smaller than required_chars. ";
        const size_t at = what.find(tag);
        if (at == std::string::npos) throw;
        long long asked = 0, needed = 0;
        if (std::sscanf(what.c_str() + at + tag.size(), "%lld vs %lld", &asked, &needed) != 2)
            throw;
        throw std::invalid_argument(
            "data.tokenizer.vocab_size: " + std::to_string(options.vocab_size) +
            " is too small: the training texts have " + std::to_string(needed) +
            " distinct characters, each a piece of its own; use at least " +
            std::to_string(needed + 3) + " (with [PAD], [UNK] and [CLS])");
    }
    proto::Reader r(reply);
    Tokenizer t;
    t.m_model = r.string();
    t.m_vocab = int64_t(r.u64());
    t.m_options = options;
    return t;
}

Tokenizer Tokenizer::fromModel(const std::string& model, const TokenizerOptions& options) {
    check(options);
    const std::string reply = call(request(proto::kLoad, options, model, {}));
    proto::Reader r(reply);
    Tokenizer t;
    t.m_model = model;
    t.m_vocab = int64_t(r.u64());
    t.m_options = options;
    return t;
}

std::vector<std::vector<int64_t>> Tokenizer::encode(const std::vector<std::string>& texts,
                                                    bool cut) const {
    const std::string reply = call(request(proto::kEncode, m_options, m_model, texts));
    proto::Reader r(reply);
    const uint64_t n = r.count(4);
    if (n != texts.size()) throw std::runtime_error("tokenizer: the helper lost texts");
    std::vector<std::vector<int64_t>> out(n);
    const size_t keep = cut ? size_t(m_options.max_length - 1) : ~size_t(0);
    for (auto& ids : out) {
        const uint32_t k = r.u32();
        ids.reserve(std::min<size_t>(k, keep) + 1);
        ids.push_back(kCls);
        for (uint32_t i = 0; i < k; ++i) {
            const int64_t id = int64_t(r.u32());
            if (id >= m_vocab) throw std::runtime_error("tokenizer: an id past the vocabulary");
            if (i < keep) ids.push_back(id);
        }
    }
    return out;
}

std::vector<std::vector<std::string>> Tokenizer::pieces(
    const std::vector<std::string>& texts) const {
    const std::string reply = call(request(proto::kPieces, m_options, m_model, texts));
    proto::Reader r(reply);
    const uint64_t n = r.count(4);
    if (n != texts.size()) throw std::runtime_error("tokenizer: the helper lost texts");
    std::vector<std::vector<std::string>> out(n);
    for (auto& p : out) {
        const uint32_t k = r.u32();
        for (uint32_t i = 0; i < k; ++i) p.push_back(r.string());
    }
    return out;
}

std::vector<std::string> Tokenizer::vocabulary() const {
    const std::string reply = call(request(proto::kVocab, m_options, m_model, {}));
    proto::Reader r(reply);
    const uint64_t n = r.count(4);
    std::vector<std::string> out;
    out.reserve(n);
    for (uint64_t i = 0; i < n; ++i) out.push_back(r.string());
    return out;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids,
                              const std::vector<std::string>& vocabulary) {
    static const std::string space = "\xE2\x96\x81";  // U+2581, SentencePiece's word start
    std::string joined;
    for (int64_t id : ids)
        if (id > kCls && size_t(id) < vocabulary.size()) joined += vocabulary[size_t(id)];
    std::string text;
    for (size_t i = 0; i < joined.size();) {
        if (joined.compare(i, space.size(), space) == 0) {
            if (!text.empty()) text += ' ';
            i += space.size();
        } else {
            text += joined[i++];
        }
    }
    return text;
}

std::string Tokenizer::key(const TokenizerOptions& o, const std::string& dataFingerprint) {
    // max_length only cuts encoded samples: it does not change the model.
    const nlohmann::json j = {{"type", o.type},
                              {"vocab_size", o.vocab_size},
                              {"lowercase", o.lowercase},
                              {"data", dataFingerprint},
                              {"sentencepiece", "0.1.97"}};
    return fnv1aHex(j.dump());
}

}  // namespace retort

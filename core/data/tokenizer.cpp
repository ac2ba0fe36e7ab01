#include "data/tokenizer.h"

#include "data/tokenizerprotocol.h"
#include "store/fnv1a.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

extern char** environ;

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

/// The helper process and our ends of its pipes: closed, and the process killed and reaped,
/// whatever way a call ends.
struct Child {
    pid_t pid = -1;
    int in = -1, out = -1;
    bool reaped = false;
    int status = 0;

    void closeIn() {
        if (in >= 0) close(in);
        in = -1;
    }
    void closeOut() {
        if (out >= 0) close(out);
        out = -1;
    }
    /// Waits for the process; false when it cannot be waited for (SIGCHLD ignored, say).
    bool wait() {
        if (pid < 0 || reaped) return reaped;
        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR) return false;
        reaped = true;
        return true;
    }
    ~Child() {
        closeIn();
        closeOut();
        if (pid > 0 && !reaped) {
            kill(pid, SIGKILL);
            wait();
        }
    }
};

/// Runs the helper on one request and returns its reply (the status byte checked and removed).
/// posix_spawn, not fork: the caller may be a multi-threaded GUI. The request goes through a
/// non-blocking socket (send with MSG_NOSIGNAL: a helper that dies early is an error, not a
/// SIGPIPE), written while the reply is read, so neither side can wait on a full buffer.
std::string call(const proto::Request& request) {
    const std::string helper = Tokenizer::helperPath();
    const std::string bytes = proto::encodeRequest(request);
    int in[2], out[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0)
        throw std::runtime_error(std::string("tokenizer: socketpair: ") + std::strerror(errno));
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        throw std::runtime_error(std::string("tokenizer: pipe: ") + std::strerror(errno));
    }
    Child child;
    child.in = in[0];
    child.out = out[0];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[1], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    char* argv[] = {const_cast<char*>(helper.c_str()), nullptr};
    const int rc = posix_spawn(&child.pid, helper.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[1]);
    close(out[1]);
    if (rc != 0) {
        child.pid = -1;
        throw std::runtime_error("tokenizer: cannot run " + helper + ": " + std::strerror(rc));
    }
    fcntl(child.in, F_SETFL, fcntl(child.in, F_GETFL) | O_NONBLOCK);
    std::string reply;
    size_t sent = 0;
    char buf[65536];
    while (child.out >= 0) {
        pollfd fds[2] = {{child.in, POLLOUT, 0}, {child.out, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("tokenizer: poll: ") + std::strerror(errno));
        }
        if (child.in >= 0 && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            const ssize_t n =
                send(child.in, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n > 0) sent += size_t(n);
            if ((n < 0 && errno != EINTR && errno != EAGAIN) || sent == bytes.size())
                child.closeIn();  // all sent, or the helper is gone
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t n = read(child.out, buf, sizeof buf);
            if (n > 0)
                reply.append(buf, size_t(n));
            else if (n == 0 || errno != EINTR)
                child.closeOut();
        }
    }
    child.closeIn();
    if (!child.wait())
        throw std::runtime_error("tokenizer: cannot wait for " + helper + ": " +
                                 std::strerror(errno));
    const int status = child.status;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || reply.empty() || sent != bytes.size())
        throw std::runtime_error("tokenizer: " + helper + " failed (" +
                                 (WIFSIGNALED(status)
                                      ? "signal " + std::to_string(WTERMSIG(status))
                                      : "exit " + std::to_string(WEXITSTATUS(status))) +
                                 ")");
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
    const std::string reply = call(request(proto::kTrain, options, "", texts));
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

std::vector<std::vector<int64_t>> Tokenizer::encode(const std::vector<std::string>& texts) const {
    const std::string reply = call(request(proto::kEncode, m_options, m_model, texts));
    proto::Reader r(reply);
    const uint64_t n = r.count(4);
    if (n != texts.size()) throw std::runtime_error("tokenizer: the helper lost texts");
    std::vector<std::vector<int64_t>> out(n);
    const size_t keep = size_t(m_options.max_length - 1);
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

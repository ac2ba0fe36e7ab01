#include "system/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

extern char** environ;

namespace retort {

namespace {

/// The process and our ends of its streams: closed, and the process killed and reaped, whatever
/// way a call ends.
struct Child {
    pid_t pid = -1;
    int fd[3] = {-1, -1, -1};  ///< stdin (ours to write), stdout, stderr (ours to read)
    bool reaped = false;
    int status = 0;

    void closeFd(int i) {
        if (fd[i] >= 0) close(fd[i]);
        fd[i] = -1;
    }
    bool wait() {
        if (pid < 0 || reaped) return reaped;
        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR) return false;
        reaped = true;
        return true;
    }
    ~Child() {
        for (int i = 0; i < 3; ++i) closeFd(i);
        if (pid > 0 && !reaped) {
            kill(pid, SIGKILL);
            wait();
        }
    }
};

}  // namespace

ProcessResult runProcess(const std::vector<std::string>& argv, const std::string& input,
                         int timeoutMs) {
    ProcessResult r;
    if (argv.empty()) {
        r.error = "no program to run";
        return r;
    }
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
        pipe2(err, O_CLOEXEC) != 0) {
        r.error = std::string("cannot make its streams: ") + std::strerror(errno);
        for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]})
            if (fd >= 0) close(fd);
        return r;
    }
    Child child;
    child.fd[0] = in[0];
    child.fd[1] = out[0];
    child.fd[2] = err[0];
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[1], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    const int rc = posix_spawnp(&child.pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[1]);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        child.pid = -1;
        r.error = std::strerror(rc);
        return r;
    }
    r.started = true;
    fcntl(child.fd[0], F_SETFL, fcntl(child.fd[0], F_GETFL) | O_NONBLOCK);
    if (input.empty()) child.closeFd(0);
    size_t sent = 0;
    char buf[65536];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (child.fd[1] >= 0 || child.fd[2] >= 0) {
        int wait = -1;
        if (timeoutMs >= 0) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  deadline - std::chrono::steady_clock::now())
                                  .count();
            if (left <= 0) {
                kill(child.pid, SIGKILL);
                r.timedOut = true;
                break;
            }
            wait = int(std::min<long long>(left, 1000));
        }
        pollfd fds[3] = {
            {child.fd[0], POLLOUT, 0}, {child.fd[1], POLLIN, 0}, {child.fd[2], POLLIN, 0}};
        if (poll(fds, 3, wait) < 0) {
            if (errno == EINTR) continue;
            r.error = std::string("poll: ") + std::strerror(errno);
            break;
        }
        if (child.fd[0] >= 0 && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            const ssize_t n =
                send(child.fd[0], input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
            if (n > 0) sent += size_t(n);
            if ((n < 0 && errno != EINTR && errno != EAGAIN) || sent == input.size())
                child.closeFd(0);  // all sent, or the program stopped reading
        }
        for (int i = 1; i < 3; ++i) {
            if (child.fd[i] < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            const ssize_t n = read(child.fd[i], buf, sizeof buf);
            if (n > 0)
                (i == 1 ? r.out : r.err).append(buf, size_t(n));
            else if (n == 0 || errno != EINTR)
                child.closeFd(i);
        }
    }
    if (!r.error.empty() || r.timedOut) return r;  // Child's destructor kills and reaps
    child.closeFd(0);
    if (!child.wait()) {
        r.error = std::string("waitpid: ") + std::strerror(errno);
        return r;
    }
    if (WIFEXITED(child.status)) r.exit = WEXITSTATUS(child.status);
    if (WIFSIGNALED(child.status)) r.signal = WTERMSIG(child.status);
    if (sent != input.size() && r.error.empty()) r.error = "it did not read all of its input";
    return r;
}

}  // namespace retort

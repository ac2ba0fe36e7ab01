#pragma once

// Running a helper program and talking to it through its standard streams: the Slurm commands
// (squeue, sbatch, ...) and retort-tokenize. posix_spawn, not fork: the caller may be a
// multi-threaded GUI.

#include <string>
#include <vector>

namespace retort {

/// What a finished program gave back.
struct ProcessResult {
    int exit = -1;   ///< exit status; -1 when it could not run, was killed or died by a signal
    int signal = 0;  ///< the signal that ended it (0: none)
    bool started = false;   ///< the program could be started at all
    bool timedOut = false;  ///< killed after the time limit
    std::string out, err;   ///< its stdout and stderr
    std::string error;      ///< why it could not be started or waited for ("" otherwise)
};

/// Runs @p argv (argv[0] looked up in PATH unless it holds a '/'), writes @p input to its stdin
/// while reading its stdout and stderr, and waits for it. A program still running after
/// @p timeoutMs (negative: no limit) is killed. Its stdin is a socket written with MSG_NOSIGNAL,
/// so a program that exits without reading is an error of that call, not a SIGPIPE. The
/// program is killed and reaped however the call ends (an exception included).
ProcessResult runProcess(const std::vector<std::string>& argv, const std::string& input = {},
                         int timeoutMs = -1);

}  // namespace retort

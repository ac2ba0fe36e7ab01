#pragma once

// A run's status: one enum and one string table (runstatus.cpp), the names the project file's
// CHECK constraint, the JSON exports and the tables print. No LibTorch, no SQLite.

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace retort {

enum class RunStatus {
    Queued,       ///< created, not started
    Running,      ///< a process is training it
    Completed,    ///< finished with results
    Failed,       ///< ended by an error of the run (its error says which)
    Cancelled,    ///< stopped by the user
    Interrupted,  ///< its process died or the machine went down; resumable
};

/// The status's name as stored and printed ("completed").
const char* statusName(RunStatus s);
/// The status a name stands for; nullopt for any other text.
std::optional<RunStatus> statusFromName(std::string_view name);
/// Whether Runner::resume continues a run with this status (interrupted, cancelled, queued).
bool canResume(RunStatus s);
/// Whether the run has ended (completed, failed, cancelled or interrupted).
bool hasEnded(RunStatus s);

inline std::ostream& operator<<(std::ostream& os, RunStatus s) {
    return os << statusName(s);
}

}  // namespace retort

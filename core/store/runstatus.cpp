#include "store/runstatus.h"

#include <array>
#include <utility>

namespace retort {

namespace {
constexpr std::array<std::pair<RunStatus, const char*>, 6> kNames{{
    {RunStatus::Queued, "queued"},
    {RunStatus::Running, "running"},
    {RunStatus::Completed, "completed"},
    {RunStatus::Failed, "failed"},
    {RunStatus::Cancelled, "cancelled"},
    {RunStatus::Interrupted, "interrupted"},
}};
}  // namespace

const char* statusName(RunStatus s) {
    for (const auto& [status, name] : kNames)
        if (status == s) return name;
    return "unknown";
}

std::optional<RunStatus> statusFromName(std::string_view name) {
    for (const auto& [status, n] : kNames)
        if (name == n) return status;
    return std::nullopt;
}

bool canResume(RunStatus s) {
    return s == RunStatus::Interrupted || s == RunStatus::Cancelled || s == RunStatus::Queued;
}

bool hasEnded(RunStatus s) {
    return s != RunStatus::Queued && s != RunStatus::Running;
}

}  // namespace retort

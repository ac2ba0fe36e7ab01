#pragma once

#include "spec/experimentspec.h"
#include "store/projectstore.h"

#include <string>
#include <vector>

namespace retort {

/// One run as the JSON exports and `list --json` show it: id, name, status, params, results,
/// error (when there is one).
Json runJson(const RunRecord& run);

/// Every run of a project: {"project": path, "runs": [runJson...]}.
Json runsJson(const std::string& project, const std::vector<RunRecord>& runs);

/// Runs as CSV: `id,name,status`, the swept keys, every scalar result, `error`; one row a run.
std::string runsCsv(const std::vector<RunRecord>& runs);

/// The per-epoch metrics of @p runs in long form, CSV: `run,metric,step,value` (step is the
/// epoch, 1-based), ordered by run, metric, step.
std::string metricsCsv(const ProjectStore& store, const std::vector<RunRecord>& runs);

/// The same in JSON: {"project": path, "metrics": [{"run", "metric", "step", "value"}...]}.
Json metricsJson(const ProjectStore& store, const std::vector<RunRecord>& runs);

/// A CSV cell: quoted (with doubled quotes) when it holds a comma, quote or line break.
std::string csvCell(const std::string& text);

/// A word for a POSIX shell: as is when it holds only safe characters, else single-quoted.
std::string shellQuote(const std::string& text);

/// Writes @p bytes to @p path through a temporary file beside it and a rename, so that a failed
/// write never leaves half a file. Throws std::runtime_error naming the file and the reason.
void writeFileAtomic(const std::string& path, const std::string& bytes);

/// Writes an export (`--out`, File ▸ Export) where a user expects it, and never over a project:
///  - "-" writes to standard output (so exports can be piped);
///  - a symlink is followed: its target is written (through writeFileAtomic beside it), the link
///    stays a link;
///  - an existing device, pipe or socket is written directly, never replaced;
///  - a regular file is replaced through writeFileAtomic.
/// Refused, with std::runtime_error naming the path and why, before anything is written: the
/// project @p project itself (by file identity, whatever the spelling) or its SQLite side files
/// (`-wal`, `-shm`, `-journal`), any existing SQLite database (a Retort project of another name
/// above all), and a folder.
void writeExport(const std::string& path, const std::string& bytes, const std::string& project);

}  // namespace retort

#pragma once

#include "experimentspec.h"

#include <map>
#include <string>
#include <vector>

namespace retort {

class ProjectStore;

/// Checks specs against everything outside them: the data files, the shapes the models get,
/// the TorchScript teacher, the project's runs. Probes of the same data are done once.
class SpecValidator {
public:
    /// @param store the project, for `teacher.run` (may be null: such a teacher is then refused)
    explicit SpecValidator(const ProjectStore* store = nullptr) : m_store(store) {}

    /// Every problem of one (expanded) spec, ranges included.
    std::vector<SpecIssue> validate(const ExperimentSpec& spec);

    /// Parses, expands and validates a whole spec document. Throws SpecError listing every
    /// problem (each once, with the sweep point where only some points have it).
    std::vector<RunPoint> plan(const Json& specJson);

    /// The data's shape, or the reason it cannot be read (cached per data spec).
    const DataShape* dataShape(const DataOptions& data, std::string& error);

private:
    const ProjectStore* m_store;
    /// Keyed by the data options and the files' stamp (path, size, mtime): a file that changes
    /// on disk is probed again, and so is one whose error was cached.
    std::map<std::string, std::pair<DataShape, std::string>> m_probes;
    /// TorchScript teachers by file stamp and input shape: output classes, or the error.
    std::map<std::string, std::pair<int64_t, std::string>> m_scripts;
};

}  // namespace retort

#pragma once

#include "spec/experimentspec.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace retort {

class ProjectStore;

/// Checks specs against everything outside them: the data files, the shapes the models get,
/// the TorchScript teacher, the project's runs. Probes of the same data are done once.
class SpecValidator {
public:
    /// @param store the project, for `teacher.run` (may be null: such a teacher is then refused)
    explicit SpecValidator(const ProjectStore* store = nullptr);
    ~SpecValidator();

    /// Runs @p work somewhere else (a thread pool) and, when it is done, validates again.
    using ProbeScheduler = std::function<void(std::function<void()> work)>;
    /// With a scheduler, a file that has not been probed yet (data files, a TorchScript
    /// teacher) is probed by it in the background and reported meanwhile as an issue "checking
    /// … in the background"; without one (the default), probes run at once. Results are cached
    /// either way, by the files' stamps.
    void setProbeScheduler(ProbeScheduler scheduler) { m_scheduler = std::move(scheduler); }

    /// Every problem of one (expanded) spec, ranges included; without @p readData the data
    /// files are not probed (nor the shapes that need them checked).
    std::vector<SpecIssue> validate(const ExperimentSpec& spec, bool readData = true);

    /// Parses, expands and validates a whole spec document. Throws SpecError listing every
    /// problem (each once, with the sweep point where only some points have it).
    std::vector<RunPoint> plan(const Json& specJson);

    /// The data's shape, or the reason it cannot be read (cached per data spec). Text data whose
    /// tokenizer the project already holds gets that tokenizer's vocabulary (SentencePiece
    /// stops where the texts run out of pieces: 200,000 asked for may be 4,493).
    std::optional<DataShape> dataShape(const DataOptions& data, Task task, std::string& error);

private:
    struct Cache;
    /// The probe as read from the files (cached), before the project's tokenizers.
    const DataShape* probedShape(const DataOptions& data, Task task, std::string& error);
    /// TorchScript teacher @p path for @p sampleShape: its output classes (0 with an issue).
    int64_t probeScript(const std::string& path, const std::vector<int64_t>& sampleShape,
                        std::vector<SpecIssue>& out);

    const ProjectStore* m_store;
    /// Shared with background probes, which may outlive this validator.
    std::shared_ptr<Cache> m_cache;
    ProbeScheduler m_scheduler;
};

}  // namespace retort

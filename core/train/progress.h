#pragma once

// Plain structs the runner reports through: no LibTorch here, so the workbench's widgets and the
// CLI's printers include this and not the engine.

#include "store/runstatus.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace retort {

/// What the runner reports while it works. Plain data: safe to copy into a GUI signal.
struct Progress {
    enum class Kind {
        Message,  ///< a stage began (message says which)
        Batch,    ///< a training batch finished
        Epoch,    ///< an epoch finished; metrics holds its values
    };
    Kind kind = Kind::Message;
    int64_t run_id = 0;    ///< the run being worked on
    std::string stage;     ///< data | teacher | teacher_outputs | student | evaluate
    int64_t epoch = 0;     ///< 1-based epoch of the stage
    int64_t epochs = 0;    ///< epochs of the stage
    int64_t batch = 0;     ///< 1-based batch within the epoch
    int64_t batches = 0;   ///< batches per epoch
    double loss = 0;       ///< running mean training loss of the epoch
    double elapsed_s = 0;  ///< seconds since the stage began
    double eta_s = 0;      ///< estimated seconds left in the stage
    std::map<std::string, double> metrics;  ///< Epoch: that epoch's metrics
    std::string message;                    ///< Message: what is happening
};

using ProgressFn = std::function<void(const Progress&)>;

/// How a run ended.
struct RunOutcome {
    RunStatus status = RunStatus::Failed;  ///< completed, failed or cancelled
    std::string error;                     ///< why, when not completed
    nlohmann::json results;                ///< the stored results (completed runs)
};

}  // namespace retort

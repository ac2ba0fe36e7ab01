#pragma once

#include "models/modelzoo.h"
#include "spec/experimentspec.h"

#include <QString>

namespace retort::ui {

/// What a spec's models cost, before training: computed by the engine's own counters.
struct ModelBudget {
    bool known = false;    ///< false when the model cannot be described (e.g. TorchScript)
    ModelSummary summary;  ///< parameters, FLOPs, dense size
    int64_t expected_compressed = 0;  ///< estimated compressed file size (student)
    QString note;                     ///< why it is not known, or what it is
    int64_t trainable = -1;  ///< parameters its training updates (train.finetune); -1: unknown
};

/// The student's budget, with the spec's pruning and quantization applied to its size.
ModelBudget studentBudget(const ExperimentSpec& spec, const DataShape& data);
/// The teacher's budget (a zoo teacher; others give a note).
ModelBudget teacherBudget(const ExperimentSpec& spec, const DataShape& data);

}  // namespace retort::ui

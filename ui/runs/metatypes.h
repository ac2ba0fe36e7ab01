#pragma once

// Engine structs that cross from the GUI thread to the worker and back in queued signals, as
// plain data (no JSON, no LibTorch): registered once here for every header whose signals carry
// them (the worker registers them at run time too).
#include "spec/experimentspec.h"
#include "train/progress.h"

#include <QMetaType>

Q_DECLARE_METATYPE(retort::Progress)
Q_DECLARE_METATYPE(retort::ExperimentSpec)
Q_DECLARE_METATYPE(retort::RunStatus)

#pragma once

// retort::Progress crosses from the worker thread to the GUI in queued signals: plain data,
// registered once here for every header whose signals carry it.
#include "runner.h"

#include <QMetaType>

Q_DECLARE_METATYPE(retort::Progress)

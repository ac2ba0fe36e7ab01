#pragma once

// QCustomPlot's header is written with Qt's keywords (signals, slots, emit, foreach), which this
// project turns off (QT_NO_KEYWORDS) because LibTorch uses `slots` as an identifier. Define them
// only while that header is read.
#ifdef QT_NO_KEYWORDS
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define emit Q_EMIT
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef emit
#undef foreach
#else
#include <qcustomplot.h>
#endif

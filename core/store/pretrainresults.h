#pragma once

// Where a run's results keep the pretrained models it started from (pretrain's outcome:
// {"id", "key", "epochs", "reused", "seconds", "objective"}), and whose each one is.

namespace retort {

struct PretrainResult {
    const char* key;    ///< the results key
    const char* stage;  ///< the progress stage that pretrains it (metric prefix: stage + "_")
    const char* model;  ///< "teacher" or "student"
};

/// The teacher's, then the student's.
inline constexpr PretrainResult kPretrainResults[] = {
    {"teacher_pretrain", "teacher_pretrain", "teacher"},
    {"pretrain", "student_pretrain", "student"}};

}  // namespace retort

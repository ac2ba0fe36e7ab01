// libFuzzer target: the spec parser, validator ranges and sweep expansion on arbitrary bytes.
#include "spec/experimentspec.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace retort;
    const Json j = Json::parse(data, data + size, nullptr, false);
    if (j.is_discarded()) return 0;
    std::vector<SpecIssue> issues;
    const auto points = expandSweep(j, issues);
    if (points.size() > 64) return 0;
    for (const auto& p : points) {
        checkRanges(p.spec);
        std::vector<SpecIssue> again;
        ExperimentSpec::fromJson(p.spec.toJson(), again);  // a written spec reads back
        if (!again.empty()) __builtin_trap();
    }
    return 0;
}

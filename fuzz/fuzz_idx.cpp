// libFuzzer target: the IDX parser on arbitrary (decompressed) bytes.
#include "data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        retort::IdxArray a =
            retort::parseIdx(std::string(reinterpret_cast<const char*>(data), size), "fuzz.idx");
        int64_t n = 1;
        for (int64_t d : a.dims) n *= d;
        if (n != a.values.numel()) __builtin_trap();
    } catch (const retort::DataError&) {
    }
    return 0;
}

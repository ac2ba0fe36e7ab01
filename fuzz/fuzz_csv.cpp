// libFuzzer target: the CSV parser on arbitrary text, with and without a header line.
#include "data/dataset.h"

#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    for (retort::CsvHeader header :
         {retort::CsvHeader::Auto, retort::CsvHeader::Yes, retort::CsvHeader::No}) {
        try {
            std::istringstream in(text);
            retort::CsvTable t = retort::parseCsv(in, "fuzz.csv", size % 3, header);
            if (t.features.size() != t.labels.size() * size_t(t.columns)) __builtin_trap();
        } catch (const retort::DataError&) {
        }
    }
    return 0;
}

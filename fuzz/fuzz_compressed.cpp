// libFuzzer target: the compressed-model reader, and rebuilding a network from what it read.
#include "models/compressedmodel.h"
#include "train/runner.h"

#include <zlib.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The checksum would reject almost every mutation: fix it up so the parser behind it is
    // exercised too (the last 4 bytes are the CRC-32 of the rest).
    std::string bytes(reinterpret_cast<const char*>(data), size);
    if (bytes.size() > 8 && (size & 1)) {
        const uint32_t crc = static_cast<uint32_t>(crc32(
            0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size() - 4)));
        for (int i = 0; i < 4; ++i)
            bytes[bytes.size() - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
    }
    try {
        retort::loadCompressedModel(bytes);
    } catch (const retort::FormatError&) {
    } catch (const c10::Error&) {
    }
    return 0;
}

// libFuzzer target: the text data readers on arbitrary bytes. The first byte picks the reader
// (TSV, CSV, JSON Lines with or without a header line, a WordNet data file; with bit 16, texts
// without labels, and plain text in WordNet's place); the rest is the file. Beyond "no crash":
// every sample has valid UTF-8, a non-blank text, a label (none without labels) and a line
// after the one before; a label map of the samples gives every sample an id inside it.
#include "data/textdata.h"

#include <sstream>

using namespace retort;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const uint8_t mode = data[0];
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
    std::istringstream in(text);
    const bool labels = (mode & 16) == 0;
    try {
        if (mode % 4 == 3 && labels) {
            for (const auto& s : parseWordNetData(in, "data.fuzz"))
                if (s.gloss.empty() || s.lex_file < 0 || s.lex_file >= 45 || s.split < 0 ||
                    s.split > 2 || invalidUtf8(s.gloss) != std::string_view::npos)
                    __builtin_trap();
            return 0;
        }
        const TextFileFormat format = mode % 4 == 0   ? TextFileFormat::Tsv
                                      : mode % 4 == 1 ? TextFileFormat::Csv
                                      : mode % 4 == 2 ? TextFileFormat::Jsonl
                                                      : TextFileFormat::Lines;
        TextFileOptions o;
        o.labels = labels;
        o.header = (mode & 4) == 0;
        if (!o.header || (mode & 8)) {
            o.text_column = "1";
            o.label_column = "0";
        }
        const TextSamples s = parseTextFile(in, "fuzz", format, o);
        if (s.texts.size() != s.labels.size() || s.texts.size() != s.lines.size()) __builtin_trap();
        for (size_t i = 0; i < s.texts.size(); ++i) {
            if (s.texts[i].find_first_not_of(" \t\r\n") == std::string::npos ||
                s.labels[i].empty() == labels ||
                invalidUtf8(s.texts[i]) != std::string_view::npos ||
                invalidUtf8(s.labels[i]) != std::string_view::npos ||
                (i > 0 && s.lines[i] <= s.lines[i - 1]))
                __builtin_trap();
        }
        if (!labels) return 0;
        const LabelMap m = makeLabelMap(s, "fuzz");
        for (int64_t id : labelIds(s, m, "fuzz"))
            if (id < 0 || size_t(id) >= m.names.size()) __builtin_trap();
    } catch (const DataError&) {
    }
    return 0;
}

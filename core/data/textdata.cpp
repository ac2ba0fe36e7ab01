#include "data/textdata.h"

#include "store/fnv1a.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace retort {

namespace {

using Json = nlohmann::json;

std::string at(int64_t line) {
    return "line " + std::to_string(line) + ": ";
}

/// A value as messages quote it: at most 40 bytes, never cut inside a UTF-8 sequence.
std::string quoted(const std::string& s) {
    if (s.size() <= 40) return "'" + s + "'";
    size_t n = 40;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return "'" + s.substr(0, n) + "…'";
}

bool digit(char c) {
    return c >= '0' && c <= '9';
}

bool allDigits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), digit);
}

bool isIndex(const std::string& s) {
    return s.size() < 7 && allDigits(s);
}

/// One record of a delimited file: its fields and the line it starts on.
struct Record {
    std::vector<std::string> fields;
    int64_t line = 0;
};

/// Splits TSV (no quoting) or CSV (RFC 4180) text into records. Blank lines are skipped; a
/// trailing "\r" of a line (CRLF files) is dropped.
class DelimitedReader {
public:
    DelimitedReader(std::istream& in, const std::string& name, bool csv)
        : m_in(in), m_name(name), m_csv(csv) {}

    bool next(Record& r) {
        std::string line;
        while (true) {
            if (!std::getline(m_in, line)) return false;
            ++m_line;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (m_line == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // BOM
            if (!line.empty()) break;
        }
        r.line = m_line;
        r.fields.clear();
        if (!m_csv) {
            size_t start = 0;
            while (true) {
                const size_t tab = line.find('\t', start);
                r.fields.push_back(line.substr(start, tab - start));
                if (tab == std::string::npos) break;
                start = tab + 1;
            }
            return true;
        }
        std::string field;
        bool quoted = false, wasQuoted = false;
        for (size_t i = 0;; ++i) {
            if (i == line.size()) {
                if (!quoted) break;
                // A line break inside quotes belongs to the field.
                if (!std::getline(m_in, line))
                    throw DataError(m_name, at(r.line) + "a quoted field is not closed");
                ++m_line;
                if (!line.empty() && line.back() == '\r') line.pop_back();
                field += '\n';
                i = size_t(-1);
                continue;
            }
            const char c = line[i];
            if (quoted) {
                if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    field += c;
                }
            } else if (c == '"' && field.empty() && !wasQuoted) {
                quoted = wasQuoted = true;
            } else if (c == ',') {
                r.fields.push_back(std::move(field));
                field.clear();
                wasQuoted = false;
            } else if (wasQuoted) {
                throw DataError(m_name, at(m_line) + "text after a closing quote");
            } else {
                field += c;
            }
        }
        r.fields.push_back(std::move(field));
        return true;
    }

private:
    std::istream& m_in;
    const std::string& m_name;
    bool m_csv;
    int64_t m_line = 0;
};

/// The index of column @p want among @p header (by name, or an index when it is a number).
std::optional<size_t> findColumn(const std::string& want, const std::vector<std::string>& header,
                                 size_t width) {
    const auto it = std::find(header.begin(), header.end(), want);
    if (it != header.end()) return size_t(it - header.begin());
    if (isIndex(want) && std::stoul(want) < width) return std::stoul(want);
    return std::nullopt;
}

void addSample(TextSamples& out, std::string text, std::string label, int64_t line,
               const std::string& name, bool labeled) {
    if (const size_t bad = invalidUtf8(text); bad != std::string_view::npos)
        throw DataError(name,
                        at(line) + "invalid UTF-8 in the text at byte " + std::to_string(bad + 1));
    if (const size_t bad = invalidUtf8(label); bad != std::string_view::npos)
        throw DataError(name,
                        at(line) + "invalid UTF-8 in the label at byte " + std::to_string(bad + 1));
    if (text.find_first_not_of(" \t\r\n") == std::string::npos)
        throw DataError(name, at(line) + "empty text");
    if (label.empty() && labeled) throw DataError(name, at(line) + "empty label");
    out.texts.push_back(std::move(text));
    out.labels.push_back(std::move(label));
    out.lines.push_back(line);
}

TextSamples parseDelimited(std::istream& in, const std::string& name, bool csv,
                           const TextFileOptions& o) {
    TextSamples out;
    DelimitedReader reader(in, name, csv);
    Record r;
    if (!reader.next(r)) throw DataError(name, "has no samples");
    std::vector<std::string> header;
    const size_t width = r.fields.size();
    if (o.header) header = r.fields;
    // Both columns are looked for before either is missing: one message names every one.
    const std::optional<size_t> text = findColumn(o.text_column, header, width),
                                label = o.labels ? findColumn(o.label_column, header, width) : text;
    if (!text || !label) {
        std::string have, missing;
        for (const auto& h : header) have += (have.empty() ? "" : ", ") + quoted(h);
        if (!text) missing = "text column " + quoted(o.text_column);
        if (!label)
            missing += (missing.empty() ? "" : " and no ") + std::string("label column ") +
                       quoted(o.label_column);
        throw DataError(name, "has no " + missing +
                                  (header.empty() ? " (" + std::to_string(width) + " columns)"
                                                  : " (columns: " + have + ")"));
    }
    bool have = !o.header;
    while (have || reader.next(r)) {
        have = false;
        if (r.fields.size() != width)
            throw DataError(name, at(r.line) + "has " + std::to_string(r.fields.size()) +
                                      " fields, the " + (o.header ? "header " : "first row ") +
                                      std::to_string(width) + " (a ragged row)");
        std::string l = o.labels ? std::move(r.fields[*label]) : std::string();
        addSample(out, std::move(r.fields[*text]), std::move(l), r.line, name, o.labels);
    }
    if (out.texts.empty()) throw DataError(name, "has a header but no samples");
    return out;
}

/// The next line of @p in that is not blank, its number in @p n (counted from 1 over every
/// line): a UTF-8 BOM dropped from the first, a CRLF's "\r" from each. False at the end.
bool nextLine(std::istream& in, std::string& line, int64_t& n) {
    while (std::getline(in, line)) {
        ++n;
        if (n == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t\r") != std::string::npos) return true;
    }
    return false;
}

TextSamples parseJsonl(std::istream& in, const std::string& name, const TextFileOptions& o) {
    TextSamples out;
    std::string line;
    int64_t n = 0;
    while (nextLine(in, line, n)) {
        if (const size_t bad = invalidUtf8(line); bad != std::string_view::npos)
            throw DataError(name, at(n) + "invalid UTF-8 at byte " + std::to_string(bad + 1));
        Json j;
        try {
            j = Json::parse(line);
        } catch (const Json::exception& e) {  // parse_error, or out_of_range for 1e400
            throw DataError(name, at(n) + "not JSON (" + std::string(e.what()) + ")");
        }
        if (!j.is_object()) throw DataError(name, at(n) + "is not a JSON object");
        if (!j.contains(o.text_column) && o.labels && !j.contains(o.label_column))
            throw DataError(name, at(n) + "has no text key " + quoted(o.text_column) +
                                      " and no label key " + quoted(o.label_column));
        auto field = [&](const std::string& key, const char* role, bool number) {
            if (!j.contains(key))
                throw DataError(name, at(n) + "has no " + role + " key " + quoted(key));
            const Json& v = j[key];
            if (v.is_string()) return v.get<std::string>();
            if (number && v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
            if (number && v.is_number_integer()) return std::to_string(v.get<int64_t>());
            throw DataError(name, at(n) + quoted(key) + " must be a string" +
                                      (number ? " or an integer" : "") + ", not " + v.type_name());
        };
        std::string text = field(o.text_column, "text", false);
        addSample(out, std::move(text), o.labels ? field(o.label_column, "label", true) : "", n,
                  name, o.labels);
    }
    if (out.texts.empty()) throw DataError(name, "has no samples");
    return out;
}

TextSamples parseLines(std::istream& in, const std::string& name, const TextFileOptions& o) {
    if (o.labels)
        throw DataError(name,
                        "is plain text, one document per line, without labels: a language model "
                        "(task language_model) reads it; a classifier needs a .tsv, .csv or "
                        ".jsonl file with a label column");
    TextSamples out;
    std::string line;
    int64_t n = 0;
    while (nextLine(in, line, n)) {
        addSample(out, std::move(line), std::string(), n, name, false);
        line = std::string();
    }
    if (out.texts.empty()) throw DataError(name, "has no text");
    return out;
}

TextFileFormat byExtension(const std::string& path) {
    const size_t dot = path.rfind('.');
    std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
    for (char& c : ext)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    if (ext == "tsv" || ext == "tab") return TextFileFormat::Tsv;
    if (ext == "csv") return TextFileFormat::Csv;
    if (ext == "jsonl" || ext == "ndjson") return TextFileFormat::Jsonl;
    if (ext == "txt") return TextFileFormat::Lines;
    throw DataError(path, "cannot tell the layout from the extension '." + ext +
                              "': name the file .tsv or .tab (tab-separated), .csv, .jsonl or "
                              ".ndjson (JSON Lines), or .txt (one document per line, for a "
                              "language model)");
}

/// A class id as written: digits, no leading zero ("01" is a name, not 1).
bool classNumber(const std::string& s) {
    return s.size() <= 9 && allDigits(s) && (s == "0" || s[0] != '0');
}

}  // namespace

size_t invalidUtf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        size_t len = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return i;  // a continuation byte, an overlong lead (C0, C1) or past F4
        }
        if (i + len > n) return i;
        for (size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += len;
    }
    return std::string_view::npos;
}

TextSamples parseTextFile(std::istream& in, const std::string& name, TextFileFormat format,
                          const TextFileOptions& options) {
    switch (format) {
        case TextFileFormat::Tsv:
            return parseDelimited(in, name, false, options);
        case TextFileFormat::Csv:
            return parseDelimited(in, name, true, options);
        case TextFileFormat::Jsonl:
            return parseJsonl(in, name, options);
        case TextFileFormat::Lines:
            return parseLines(in, name, options);
        case TextFileFormat::Auto:
            break;
    }
    throw DataError(name, "no format given");
}

TextSamples readTextFile(const std::string& path, const TextFileOptions& options) {
    const TextFileFormat f =
        options.format == TextFileFormat::Auto ? byExtension(path) : options.format;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw DataError(path, "cannot be opened");
    return parseTextFile(in, path, f, options);
}

LabelMap makeLabelMap(const TextSamples& train, const std::string& name) {
    LabelMap m;
    const std::set<std::string> distinct(train.labels.begin(), train.labels.end());
    if (distinct.size() < 2)
        throw DataError(
            name, "has one class only (" +
                      (distinct.empty() ? std::string("no samples") : quoted(*distinct.begin())) +
                      "): nothing to classify");
    int64_t top = 0;
    m.integers = std::all_of(distinct.begin(), distinct.end(), classNumber);
    if (m.integers)
        for (const auto& l : distinct) top = std::max<int64_t>(top, std::stoll(l));
    // Integers are ids only while the ids they leave unused stay few (labels 0 and 999999999
    // are two names, not a billion classes).
    m.integers = m.integers && top < std::max<int64_t>(1000, 2 * int64_t(distinct.size()));
    if (m.integers) {
        m.names.assign(size_t(top + 1), "");
        for (const auto& l : distinct) m.names[size_t(std::stoll(l))] = l;
    } else {
        m.names.assign(distinct.begin(), distinct.end());
    }
    return m;
}

std::vector<int64_t> labelIds(const TextSamples& samples, const LabelMap& map,
                              const std::string& name) {
    std::map<std::string, int64_t> id;
    for (size_t i = 0; i < map.names.size(); ++i)
        if (!map.names[i].empty()) id[map.names[i]] = int64_t(i);
    std::vector<int64_t> out;
    out.reserve(samples.labels.size());
    for (size_t i = 0; i < samples.labels.size(); ++i) {
        const auto it = id.find(samples.labels[i]);
        if (it == id.end())
            throw DataError(name, at(samples.lines[i]) + "label " + quoted(samples.labels[i]) +
                                      " never occurs in the training data");
        out.push_back(it->second);
    }
    return out;
}

// ---------------------------------------------------------------- WordNet

const std::array<const char*, 45>& wordNetLexFiles() {
    static const std::array<const char*, 45> names = {
        "adj.all",          "adj.pert",           "adv.all",
        "noun.Tops",        "noun.act",           "noun.animal",
        "noun.artifact",    "noun.attribute",     "noun.body",
        "noun.cognition",   "noun.communication", "noun.event",
        "noun.feeling",     "noun.food",          "noun.group",
        "noun.location",    "noun.motive",        "noun.object",
        "noun.person",      "noun.phenomenon",    "noun.plant",
        "noun.possession",  "noun.process",       "noun.quantity",
        "noun.relation",    "noun.shape",         "noun.state",
        "noun.substance",   "noun.time",          "verb.body",
        "verb.change",      "verb.cognition",     "verb.communication",
        "verb.competition", "verb.consumption",   "verb.contact",
        "verb.creation",    "verb.emotion",       "verb.motion",
        "verb.perception",  "verb.possession",    "verb.social",
        "verb.stative",     "verb.weather",       "adj.ppl"};
    return names;
}

std::string normalizedText(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool space = false;
    for (const char c : text) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
    }
    return out;
}

int wordNetSplit(const std::string& gloss) {
    Fnv1a h;
    h.update("wordnet:" + normalizedText(gloss));
    const int bucket = int(h.value() % 10);
    return bucket < 8 ? 0 : bucket == 8 ? 1 : 2;
}

std::vector<WordNetSynset> parseWordNetData(std::istream& in, const std::string& name) {
    std::vector<WordNetSynset> out;
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.rfind("  ", 0) == 0) continue;  // the licence header
        if (line.empty()) continue;
        // offset lex_filenum ss_type w_cnt word lex_id ... p_cnt ... | gloss
        std::istringstream f(line);
        std::string offset, lex, pos;
        f >> offset >> lex >> pos;
        const size_t bar = line.find(" | ");
        if (offset.size() != 8 || !allDigits(offset) || lex.size() != 2 || !allDigits(lex) ||
            pos.size() != 1 || std::string("nvasr").find(pos[0]) == std::string::npos ||
            bar == std::string::npos)
            throw DataError(name, at(n) + "not a WordNet synset line");
        WordNetSynset s;
        s.offset = std::stoll(offset);
        s.lex_file = std::stoi(lex);
        s.pos = pos[0];
        if (s.lex_file >= int(wordNetLexFiles().size()))
            throw DataError(name, at(n) + "lexicographer file " + lex + " does not exist");
        s.gloss = line.substr(bar + 3);
        while (!s.gloss.empty() && (s.gloss.back() == ' ' || s.gloss.back() == '\r'))
            s.gloss.pop_back();
        if (s.gloss.empty()) throw DataError(name, at(n) + "empty gloss");
        if (const size_t bad = invalidUtf8(s.gloss); bad != std::string_view::npos)
            throw DataError(name, at(n) + "invalid UTF-8 in the gloss");
        s.split = wordNetSplit(s.gloss);
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<WordNetSynset> readWordNet(const std::string& dir) {
    std::vector<WordNetSynset> all;
    for (const char* part : {"noun", "verb", "adj", "adv"}) {
        const std::string path = dir + "/data." + part;
        std::ifstream in(path, std::ios::binary);
        if (!in)
            throw DataError(path,
                            "cannot be opened (WordNet 3.0 comes with Debian's "
                            "wordnet-base package)");
        std::vector<WordNetSynset> some = parseWordNetData(in, path);
        all.insert(all.end(), std::make_move_iterator(some.begin()),
                   std::make_move_iterator(some.end()));
    }
    return all;
}

}  // namespace retort

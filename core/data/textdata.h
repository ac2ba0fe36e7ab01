#pragma once

// Text data as read from files, before any tokenizer: UTF-8 TSV, CSV or JSON Lines files of
// (text, label) samples or of texts alone (a language model's corpus), plain text files of one
// document per line, and WordNet 3.0's glosses labelled by lexicographer file
// (Debian's wordnet-base). Plain functions; every error names the file, the line and the
// problem. No LibTorch here: tokenizing and batching come after.

#include "data/dataerror.h"

#include <array>
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace retort {

/// The layout of a text data file.
enum class TextFileFormat {
    Auto,   ///< by the file name's extension: .tsv/.tab, .csv, .jsonl/.ndjson, .txt
    Tsv,    ///< tab-separated, no quoting
    Csv,    ///< comma-separated, RFC 4180 quoting ("a, ""b""" and line breaks inside quotes)
    Jsonl,  ///< one JSON object per line
    Lines,  ///< plain text, one document per line (blank lines skipped); no labels
};

/// How to read a text data file.
struct TextFileOptions {
    TextFileFormat format = TextFileFormat::Auto;  ///< the layout (auto: by extension)
    /// The text's column: a header name (a key for JSON Lines) or a 0-based index ("1").
    std::string text_column = "text";
    std::string label_column = "label";  ///< the label's column, the same way
    bool header = true;                  ///< TSV/CSV: the first line names the columns
    /// Whether samples have labels. False (a language model's texts): the label column is never
    /// looked for, and every label reads "".
    bool labels = true;
};

/// Samples as written: texts and their labels, with the line each came from.
struct TextSamples {
    std::vector<std::string> texts;   ///< UTF-8, never empty
    std::vector<std::string> labels;  ///< as written; a JSON integer label as its decimal text
                                      ///< ("" for each when the options say no labels)
    std::vector<int64_t> lines;       ///< 1-based line where each sample starts
};

/// Reads a text data file. Throws DataError naming @p path, the line and the problem: invalid
/// UTF-8, a missing column, an empty text or label, a ragged row, a bad JSON line, no samples,
/// labels asked of a plain text file.
TextSamples readTextFile(const std::string& path, const TextFileOptions& options);
/// Parses text data already open; @p name names it in errors; @p format must not be Auto.
TextSamples parseTextFile(std::istream& in, const std::string& name, TextFileFormat format,
                          const TextFileOptions& options);

/// The byte offset of the first invalid UTF-8 sequence in @p s (overlong forms, surrogates
/// and code points past U+10FFFF included), or std::string_view::npos.
size_t invalidUtf8(std::string_view s);

/// Class ids for labels. When every training label is a non-negative integer, the integer is the
/// id (classes: the largest + 1); otherwise the distinct labels sorted by byte order are ids
/// 0..n-1.
struct LabelMap {
    std::vector<std::string> names;  ///< names[id]: the label as written ("" for an unused id)
    bool integers = false;           ///< the labels are the ids themselves
};

/// The map of a training set's labels. Throws DataError naming @p name if it has one class.
LabelMap makeLabelMap(const TextSamples& train, const std::string& name);
/// Each sample's class id under @p map. Throws DataError naming @p name and the line of a label
/// the map does not know (one in a test file never seen in training).
std::vector<int64_t> labelIds(const TextSamples& samples, const LabelMap& map,
                              const std::string& name);

// ---------------------------------------------------------------- WordNet

/// Where Debian's wordnet-base puts WordNet 3.0.
inline constexpr const char* kWordNetDir = "/usr/share/wordnet";

/// WordNet's 45 lexicographer files (lexnames(5WN)), indexed by their number: the classes.
const std::array<const char*, 45>& wordNetLexFiles();

/// One synset: its gloss and lexicographer file, and where it lies in the fixed split.
struct WordNetSynset {
    std::string gloss;   ///< definition and examples, as in the data file
    int lex_file = 0;    ///< index into wordNetLexFiles()
    char pos = 'n';      ///< n, v, a, s (satellite adjective) or r
    int64_t offset = 0;  ///< byte offset in its data file: with pos, the synset's identity
    int split = 0;       ///< 0 train, 1 validation, 2 test
};

/// A text as splits compare it: ASCII letters lower-cased, runs of white space made one space,
/// none at either end. Texts equal under it are duplicates and stay on one side of a split.
std::string normalizedText(std::string_view text);

/// The version of WordNet's split that wordNetSplit computes, stored in every run's results
/// (`data_split_version`) and part of a configuration's identity: runs of two versions were
/// tested on different test sets and never pool. Version 1 hashed the synset (pos and offset),
/// which put 110 of the test glosses verbatim in training; version 2 hashes the normalized gloss.
inline constexpr int kWordNetSplitVersion = 2;

/// The split of a synset: FNV-1a 64 of "wordnet:" and its normalized gloss, modulo 10; 0-7
/// train, 8 validation, 9 test. Fixed, so every run of every project sees the same test set,
/// and a gloss that several synsets share lies in one split.
int wordNetSplit(const std::string& gloss);

/// Reads data.noun, data.verb, data.adj and data.adv from @p dir, in that order. Throws
/// DataError naming the file and line of anything that is not a synset line.
std::vector<WordNetSynset> readWordNet(const std::string& dir = kWordNetDir);
/// Parses one data file's content; @p name names it in errors.
std::vector<WordNetSynset> parseWordNetData(std::istream& in, const std::string& name);

}  // namespace retort

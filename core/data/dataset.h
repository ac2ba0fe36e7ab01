#pragma once

#include "data/dataerror.h"
#include "spec/experimentspec.h"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace retort {

/// The content of one IDX file: its dimensions and its raw elements widened to float.
struct IdxArray {
    std::vector<int64_t> dims;  ///< e.g. {60000, 28, 28}
    int type =
        0;  ///< IDX type code (0x08 ubyte, 0x09 sbyte, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64)
    torch::Tensor values;  ///< row-major elements as a 1-D float32 tensor
};

/// Reads an IDX file, plain or gzip-compressed. Never allocates more than the file holds.
IdxArray readIdx(const std::string& path);
/// Parses IDX content already in memory (decompressed); @p name names it in errors.
IdxArray parseIdx(const std::string& bytes, const std::string& name);

/// A CSV table: one label and a fixed number of features per row.
struct CsvTable {
    std::vector<int64_t> labels;  ///< one per row, >= 0
    std::vector<float> features;  ///< rows x columns, row-major
    int64_t columns = 0;          ///< feature count per row
};

/// Reads a CSV file of numbers (comma separated, optional header line).
/// @param labelColumn index of the label column; @param header whether a first line is one.
CsvTable readCsv(const std::string& path, int64_t labelColumn, CsvHeader header);
/// Parses CSV text already in memory; @p name names it in errors.
CsvTable parseCsv(std::istream& in, const std::string& name, int64_t labelColumn, CsvHeader header);

/// The files a data spec reads (e.g. the four IDX files); throws DataError if one is missing.
std::vector<std::string> dataFiles(const DataOptions& data);

/// What a cache of data read from files is keyed by besides the spec: each file's path, size and
/// modification time (nanoseconds), so data that changed on disk is read again. A file that
/// cannot be found is part of the stamp too (a cached error then stays only until it appears).
std::string fileStamp(const std::vector<std::string>& paths);
/// fileStamp of the data's files (or of its folder's candidates when they cannot be listed).
std::string dataStamp(const DataOptions& data);

/// Whether data read for @p task has labels: a classifier's does; a language model's text file
/// is texts alone (its label column is never looked for: a .txt corpus, or a TSV without one),
/// while WordNet's labels, which cost nothing, stay (its data keeps its fingerprint).
bool readsLabels(const DataOptions& data, Task task);

/// Sample shape and class count of a data spec, read cheaply (headers and labels only). @p task
/// as for loadDataset.
DataShape probeData(const DataOptions& data, Task task = Task::Classification);

/// A loaded, split and normalized dataset. Tensors are float32 features and int64 labels.
struct Dataset {
    torch::Tensor train_x, train_y;  ///< training samples (after limit_train, without validation)
    torch::Tensor val_x, val_y;      ///< validation samples (may be empty)
    torch::Tensor test_x, test_y;    ///< test samples: only used for final results
    DataShape shape;                 ///< sample shape and classes
    std::string fingerprint;         ///< hash of the source bytes and preparation: cache key part
    /// The version of the rule that split the data (results' `data_split_version`): WordNet's
    /// is kWordNetSplitVersion, everything else's 1. Runs of two versions never pool.
    int split_version = 1;
    /// How raw features become model inputs: {"mode": "global"|"per_feature"|"none", "mean",
    /// "std"} (numbers for global, one per feature for per_feature): x' = (x - mean) / std.
    /// Text: {"mode": "tokens"}.
    Json normalization;

    // Text data only (format text or wordnet): x are int64 token ids [samples, longest sample of
    // the split], [CLS] first, padded with 0 on the right; shape.vocab > 0.
    std::string tokenizer_model;           ///< the SentencePiece model the ids come from
    std::string tokenizer_key;             ///< its key in the project (Tokenizer::key)
    std::vector<std::string> label_names;  ///< class id -> the label as written
    std::vector<std::string> test_texts;   ///< the test samples' texts, in test_x's order
    /// What the run should say about its data (a tokenizer smaller than asked for): each
    /// names its key; runs show them and keep them in results' `warnings`.
    std::vector<std::string> warnings;

    /// Moves every tensor to @p device (no-op where they already are).
    Dataset to(const torch::Device& device) const;
};

/// Where text data finds and keeps its tokenizers between loads (the project, in a run):
/// `find` returns a stored model for a key or ""; `save` stores one. Either may be empty.
struct TokenizerCache {
    std::function<std::string(const std::string& key)> find;
    std::function<void(const std::string& key, const std::string& model, const Json& info)> save;
};

/// Loads, splits (validation from the training set, seeded by data.seed) and normalizes (training
/// statistics). Text data is tokenized: with a tokenizer from @p tokenizers when it has one for
/// the key, else one trained on the training texts (and saved there). For @p task
/// language_model a text file is read without labels (textdata::readsLabels): a .txt corpus, or
/// a TSV or JSON Lines file of texts alone; classes are then 0 until languageModelData.
Dataset loadDataset(const DataOptions& data, const TokenizerCache* tokenizers = nullptr,
                    Task task = Task::Classification);

/// Text data made next-token data (task language_model): each sample's ids get [CLS] again at
/// their end, the end-of-text mark a model learns to predict (unless the sample fills max_length,
/// and was cut), and y becomes the ids shifted one to the left: y[i][t] = x[i][t + 1], 0 (no
/// target) past the end. Classes become the vocabulary; the fingerprint says the task. Throws
/// std::invalid_argument for data that is not text.
Dataset languageModelData(const Dataset& text);

/// Token ids [n, tokens] cut to the longest real sample among them (padding is 0 on the right);
/// anything else (features) is returned as it is.
torch::Tensor trimPadding(const torch::Tensor& x);

}  // namespace retort

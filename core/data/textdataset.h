#pragma once

// Text data as a Dataset (inside core/data; dataset.h dispatches here): the samples of a text
// file or WordNet, split, tokenized and padded. Splits never depend on the run's seed: WordNet's
// is fixed by a hash of the normalized gloss (split version 2), a text file's by a hash of each
// text, so every run of every project sees the same test set and duplicate texts never straddle
// train and test. A stream (data.stream, a language model's) keeps the file's order instead:
// its last tenth of lines are test, and each split's lines are one run of tokens cut into
// max_length windows.

#include "data/dataset.h"

#include <string>
#include <vector>

namespace retort::textdata {

/// The files text data reads (text: path and test_path; wordnet: its four data files).
std::vector<std::string> files(const DataOptions& data);
/// Classes, vocabulary (the tokenizer's nominal size) and sample shape {max_length}; the mean
/// tokens per sample are known only once tokenized (0 here). @p task as for loadDataset.
DataShape probe(const DataOptions& data, Task task = Task::Classification);
/// The whole dataset; @p tokenizers and @p task as for loadDataset.
Dataset load(const DataOptions& data, int64_t seed, const TokenizerCache* tokenizers,
             Task task = Task::Classification);

/// Where a text falls in a text file's fixed split: 2 test (10 %, only without a test file),
/// 1 validation (validation_fraction of the rest), 0 train; by FNV-1a hashes of the text.
int splitOf(const std::string& text, double validationFraction, bool heldOutTest);

}  // namespace retort::textdata

#include "data/textdataset.h"

#include "data/textdata.h"
#include "data/tokenizer.h"
#include "store/fnv1a.h"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <random>

namespace fs = std::filesystem;

namespace retort::textdata {

namespace {

const char* const kWordNetFiles[] = {"data.noun", "data.verb", "data.adj", "data.adv"};

/// Whether the data is read as one stream (a text file's; the validator refuses WordNet's).
bool streamed(const DataOptions& d) {
    return d.stream && d.format == DataFormat::Text;
}

double unitHash(const std::string& salt, const std::string& text) {
    Fnv1a h;
    h.update(salt);
    h.update(text);
    return double(h.value() >> 11) * 0x1.0p-53;
}

TextFileOptions fileOptions(const DataOptions& d, Task task) {
    TextFileOptions o;
    o.labels = readsLabels(d, task);
    o.text_column = d.text_column;
    o.label_column = d.label;
    o.header = d.header != CsvHeader::No;
    return o;
}

/// Samples as read, in three splits, before tokenizing.
struct Split {
    TextSamples train, val, test;
    LabelMap labels;
    std::string source;  // names the data in errors
};

void add(TextSamples& to, const TextSamples& from, size_t i) {
    to.texts.push_back(from.texts[i]);
    to.labels.push_back(from.labels[i]);
    to.lines.push_back(from.lines[i]);
}

Split readSplit(const DataOptions& d, Task task) {
    Split s;
    if (d.format == DataFormat::Wordnet) {
        s.source = d.path;
        for (const WordNetSynset& syn : readWordNet(d.path)) {
            TextSamples& to = syn.split == 0 ? s.train : syn.split == 1 ? s.val : s.test;
            to.texts.push_back(syn.gloss);
            to.labels.push_back(wordNetLexFiles()[size_t(syn.lex_file)]);
            to.lines.push_back(syn.offset);
        }
        // Class ids are the lexicographer file numbers; names are theirs.
        for (const char* n : wordNetLexFiles()) s.labels.names.push_back(n);
        return s;
    }
    s.source = d.path;
    const TextSamples all = readTextFile(d.path, fileOptions(d, task));
    const bool heldOut = d.test_path.empty();
    if (streamed(d)) {
        // A stream keeps its order: the last tenth of the lines test (without a test file), the
        // validation_fraction of the rest before them validation, the lines before that train.
        const size_t n = all.texts.size(), test = heldOut ? n / 10 : 0,
                     val = size_t(double(n - test) * d.validation_fraction);
        for (size_t i = 0; i < n; ++i)
            add(i >= n - test ? s.test : i >= n - test - val ? s.val : s.train, all, i);
    } else {
        for (size_t i = 0; i < all.texts.size(); ++i) {
            const int where = splitOf(all.texts[i], d.validation_fraction, heldOut);
            add(where == 0 ? s.train : where == 1 ? s.val : s.test, all, i);
        }
    }
    if (!heldOut) s.test = readTextFile(d.test_path, fileOptions(d, task));
    if (s.train.texts.empty())
        throw DataError(d.path, "no training samples left after the validation and test splits");
    // About one text in ten is held out for test, by a hash of its text: a small file can get
    // none, and a run would train and then fail to score.
    if (s.test.texts.empty())
        throw DataError(d.path, "the test split is empty (" + std::to_string(all.texts.size()) +
                                    (streamed(d) ? " lines; the last tenth of the lines go to test"
                                                 : " samples; about 10 % go to test, chosen by a "
                                                   "hash of each text") +
                                    "): add samples, or give data.test_path");
    if (readsLabels(d, task)) s.labels = makeLabelMap(s.train, d.path);
    return s;
}

/// Token ids of @p texts padded to their longest: [n, longest] int64.
torch::Tensor padded(const std::vector<std::vector<int64_t>>& enc, double* meanTokens) {
    size_t longest = 1, total = 0;
    for (const auto& e : enc) {
        longest = std::max(longest, e.size());
        total += e.size();
    }
    if (meanTokens) *meanTokens = enc.empty() ? 0.0 : double(total) / double(enc.size());
    auto t = torch::zeros({int64_t(enc.size()), int64_t(longest)}, torch::kInt64);
    auto a = t.accessor<int64_t, 2>();
    for (size_t i = 0; i < enc.size(); ++i)
        for (size_t j = 0; j < enc[i].size(); ++j) a[int64_t(i)][int64_t(j)] = enc[i][j];
    return t;
}

/// limit_train: a seeded subset of the training split (the tokenizer learns from it too); a
/// stream's limit counts windows, later.
void limitTrain(TextSamples& train, const DataOptions& d, int64_t seed) {
    if (streamed(d) || d.limit_train <= 0 || size_t(d.limit_train) >= train.texts.size()) return;
    std::vector<size_t> order(train.texts.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(static_cast<uint64_t>(seed) * 1000003ULL + 12345);
    std::shuffle(order.begin(), order.end(), rng);
    order.resize(size_t(d.limit_train));
    std::sort(order.begin(), order.end());
    TextSamples kept;
    for (size_t i : order) add(kept, train, i);
    train = std::move(kept);
}

/// The hash of the texts a tokenizer trains on, as Tokenizer::key reads it.
std::string textsHash(const std::vector<std::string>& train) {
    Fnv1a texts;
    for (const auto& t : train) {
        texts.update(t);
        texts.update("\n", 1);
    }
    return texts.hex();
}

/// limit_test, limit_val: the first N samples of the split in the order of a hash of their
/// text, a fixed subset that does not depend on how the file is sorted (WordNet's starts with
/// every noun).
void limitByHash(TextSamples& split, int64_t n) {
    if (n <= 0 || size_t(n) >= split.texts.size()) return;
    std::vector<std::pair<double, size_t>> byHash;
    for (size_t i = 0; i < split.texts.size(); ++i)
        byHash.emplace_back(unitHash("limit:", split.texts[i]), i);
    std::sort(byHash.begin(), byHash.end());
    byHash.resize(size_t(n));
    std::sort(byHash.begin(), byHash.end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
    TextSamples kept;
    for (const auto& [h, i] : byHash) add(kept, split, i);
    split = std::move(kept);
}

/// A stream's token ids: every document's ids ([CLS] first, so [CLS] also ends the document
/// before it) one after another, cut into rows of @p width; the last row padded with 0.
torch::Tensor windows(const std::vector<std::vector<int64_t>>& docs, int64_t width) {
    int64_t total = 0;
    for (const auto& e : docs) total += int64_t(e.size());
    const int64_t rows = (total + width - 1) / width;
    auto t = torch::zeros({rows, width}, torch::kInt64);
    int64_t* out = t.data_ptr<int64_t>();
    for (const auto& e : docs) out = std::copy(e.begin(), e.end(), out);
    return t;
}

/// The first @p n rows (all when n is 0 or past the end).
torch::Tensor firstRows(const torch::Tensor& x, int64_t n) {
    return n > 0 && n < x.size(0) ? x.slice(0, 0, n).clone() : x;
}

/// The tokenizer for @p train's texts: found in @p tokenizers by its options and the texts, or
/// trained on them once (and saved there). @p key gets the key.
Tokenizer tokenizerFor(const DataOptions& d, const std::vector<std::string>& train,
                       const TokenizerCache* tokenizers, std::string& key) {
    key = Tokenizer::key(d.tokenizer, textsHash(train));
    const std::string model =
        tokenizers && tokenizers->find ? tokenizers->find(key) : std::string();
    if (!model.empty()) {
        try {
            return Tokenizer::fromModel(model, d.tokenizer);
        } catch (const std::exception&) {
            // a stored model that does not load is trained again
        }
    }
    Tokenizer tok = Tokenizer::train(train, d.tokenizer);
    if (tokenizers && tokenizers->save)
        tokenizers->save(key, tok.model(),
                         {{"type", d.tokenizer.type},
                          {"vocab_size", tok.vocabSize()},
                          {"lowercase", d.tokenizer.lowercase},
                          {"training_texts", train.size()}});
    return tok;
}

}  // namespace

int splitOf(const std::string& text, double validationFraction, bool heldOutTest) {
    if (heldOutTest && unitHash("test:", text) < 0.1) return 2;
    return unitHash("validation:", text) < validationFraction ? 1 : 0;
}

std::vector<std::string> files(const DataOptions& d) {
    std::vector<std::string> out;
    auto need = [&](const std::string& p) {
        std::error_code ec;
        if (!fs::is_regular_file(p, ec)) throw DataError(p, "no such file");
        out.push_back(p);
    };
    if (d.format == DataFormat::Wordnet) {
        for (const char* n : kWordNetFiles) {
            const std::string p = (fs::path(d.path) / n).string();
            std::error_code ec;
            if (!fs::is_regular_file(p, ec))
                throw DataError(p, std::string("no such file (WordNet 3.0 is in ") + kWordNetDir +
                                       " with Debian's wordnet-base)");
            out.push_back(p);
        }
        return out;
    }
    need(d.path);
    if (!d.test_path.empty()) need(d.test_path);
    return out;
}

/// Pieces per whitespace word, for the probe's estimate of tokens per sample.
constexpr double kPiecesPerWord = 1.4;

DataShape probe(const DataOptions& d, Task task) {
    Split s = readSplit(d, task);
    if (!d.test_path.empty() && readsLabels(d, task))
        labelIds(s.test, s.labels, d.test_path);  // a label never seen in training
    DataShape shape;
    shape.sample_shape = {d.tokenizer.max_length};
    shape.classes = int64_t(s.labels.names.size());
    shape.vocab = d.tokenizer.vocab_size;
    // FLOPs depend on the tokens per sample, which only the tokenizer knows: estimate them from
    // the words, at the 1.4 pieces per whitespace word a unigram model of 8,000 pieces gives
    // WordNet's glosses (17.8 pieces for 12.4 words), plus [CLS], cut at max_length.
    double words = 0;
    for (const auto& t : s.train.texts) {
        bool inWord = false;
        for (char c : t) {
            const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
            words += !space && !inWord;
            inWord = !space;
        }
    }
    if (!s.train.texts.empty()) {
        shape.mean_tokens = std::min(double(d.tokenizer.max_length),
                                     1.0 + kPiecesPerWord * words / double(s.train.texts.size()));
        shape.mean_tokens_estimated = true;
    }
    if (streamed(d)) shape.mean_tokens = double(d.tokenizer.max_length);  // full windows
    limitTrain(s.train, d, d.seed);  // as loadDataset does: its texts are the tokenizer's
    shape.tokenizer_key = Tokenizer::key(d.tokenizer, textsHash(s.train.texts));
    return shape;
}

Dataset load(const DataOptions& d, int64_t seed, const TokenizerCache* tokenizers, Task task) {
    const bool labeled = readsLabels(d, task);
    Split s = readSplit(d, task);
    limitTrain(s.train, d, seed);
    // A stream's limits count windows (below); a line's sample is its own.
    if (!streamed(d)) {
        limitByHash(s.test, d.limit_test);
        limitByHash(s.val, d.limit_val);
    }

    std::string key;
    const Tokenizer tok = tokenizerFor(d, s.train.texts, tokenizers, key);

    Dataset ds;
    double meanTokens = 0;
    if (streamed(d)) {
        const int64_t width = d.tokenizer.max_length;
        ds.train_x = firstRows(windows(tok.encode(s.train.texts, false), width), d.limit_train);
        ds.val_x = firstRows(windows(tok.encode(s.val.texts, false), width), d.limit_val);
        ds.test_x = firstRows(windows(tok.encode(s.test.texts, false), width), d.limit_test);
        meanTokens = ds.train_x.ne(0).sum().item<double>() / double(ds.train_x.size(0));
    } else {
        ds.train_x = padded(tok.encode(s.train.texts), &meanTokens);
        ds.val_x = padded(tok.encode(s.val.texts), nullptr);
        ds.test_x = padded(tok.encode(s.test.texts), nullptr);
    }
    // Texts without labels (a language model's) get class 0 each, which nothing reads:
    // next-token data replaces them with the shifted ids.
    std::vector<int64_t> trainY, valY, testY;
    if (labeled) {
        trainY = labelIds(s.train, s.labels, s.source);
        valY = labelIds(s.val, s.labels, s.source);
        testY = labelIds(s.test, s.labels, d.test_path.empty() ? s.source : d.test_path);
    } else {
        trainY.assign(size_t(ds.train_x.size(0)), 0);
        valY.assign(size_t(ds.val_x.size(0)), 0);
        testY.assign(size_t(ds.test_x.size(0)), 0);
    }
    auto labels = [](const std::vector<int64_t>& y) {
        return torch::tensor(y, torch::kInt64).reshape({int64_t(y.size())});
    };
    ds.train_y = labels(trainY);
    ds.val_y = labels(valY);
    ds.test_y = labels(testY);
    ds.shape.sample_shape = {d.tokenizer.max_length};
    ds.shape.classes = int64_t(s.labels.names.size());
    ds.shape.vocab = tok.vocabSize();
    ds.shape.mean_tokens = meanTokens;
    ds.normalization = {{"mode", "tokens"}};
    ds.tokenizer_model = tok.model();
    ds.tokenizer_key = key;
    ds.label_names = s.labels.names;
    ds.split_version = d.format == DataFormat::Wordnet ? kWordNetSplitVersion : 1;
    // SentencePiece stops where the training texts run out of pieces: say so, with the size the
    // model has (results' vocab_size), instead of letting the spec's number stand.
    if (tok.vocabSize() < d.tokenizer.vocab_size)
        ds.warnings.push_back("data.tokenizer.vocab_size: " +
                              std::to_string(d.tokenizer.vocab_size) + " pieces asked for, the " +
                              std::to_string(s.train.texts.size()) + " training texts gave " +
                              std::to_string(tok.vocabSize()) + ": the model's token table has " +
                              std::to_string(tok.vocabSize()) + " rows (results' vocab_size)");
    // Every text of every split is hashed (the training texts through the tokenizer's key), each
    // ended by a newline so that "ab"+"c" and "a"+"bc" differ: an edited test text is new data.
    Fnv1a fp;
    fp.update(key);
    for (const TextSamples* t : {&s.val, &s.test})
        for (const auto& x : t->texts) {
            fp.update(x);
            fp.update("\n", 1);
        }
    if (labeled)
        for (const auto* y : {&trainY, &valY, &testY})
            fp.update(reinterpret_cast<const char*>(y->data()), y->size() * sizeof(int64_t));
    // The seed changes the data only through limit_train's subset: without it, every seed of a
    // sweep shares the fingerprint, hence the teacher and its stored outputs.
    Json prepared = {{"seed", d.limit_train > 0 && !streamed(d) ? seed : 0},
                     {"max_length", d.tokenizer.max_length},
                     {"limit_train", d.limit_train},
                     {"limit_test", d.limit_test},
                     {"validation_fraction", d.validation_fraction},
                     {"split_version", ds.split_version}};
    if (d.limit_val > 0) prepared["limit_val"] = d.limit_val;  // keys stored before stay
    if (!labeled) prepared["labels"] = false;
    if (streamed(d)) {
        // The splits' sizes too: val and test lines are hashed back to back, and a stream's
        // line moved from one to the other would leave the same bytes.
        prepared["stream"] = true;
        prepared["lines"] = {s.train.texts.size(), s.val.texts.size(), s.test.texts.size()};
    }
    fp.update(prepared.dump());
    ds.fingerprint = fp.hex();
    ds.test_texts = std::move(s.test.texts);
    return ds;
}

}  // namespace retort::textdata

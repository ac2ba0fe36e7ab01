#pragma once

// Subword tokenization of text samples with SentencePiece (Debian's libsentencepiece-dev): a
// unigram or BPE model trained on the training split only, kept as its serialized model (what a
// project stores) and reused by every run with the same settings and data. Deterministic: the
// same texts and options give the same model, byte for byte. SentencePiece runs in the helper
// process retort-tokenize (why: data/tokenizerprotocol.h); a call sends a whole batch of texts.

#include "spec/experimentspec.h"  // TokenizerOptions

#include <cstdint>
#include <string>
#include <vector>

namespace retort {

/// A trained SentencePiece model. Ids: 0 padding, 1 unknown, 2 [CLS] (first of every sample).
class Tokenizer {
public:
    static constexpr int64_t kPad = 0;
    static constexpr int64_t kUnknown = 1;
    static constexpr int64_t kCls = 2;

    /// Trains on @p texts (the training split only). Throws std::invalid_argument for options
    /// out of range and std::runtime_error when SentencePiece refuses the texts or the helper
    /// cannot run.
    static Tokenizer train(const std::vector<std::string>& texts, const TokenizerOptions& options);
    /// The tokenizer of a stored model(). Throws std::runtime_error if it is not one.
    static Tokenizer fromModel(const std::string& model, const TokenizerOptions& options);

    /// The serialized SentencePiece model (what a project stores).
    const std::string& model() const { return m_model; }
    const TokenizerOptions& options() const { return m_options; }
    /// Pieces in the vocabulary, the special ones included.
    int64_t vocabSize() const { return m_vocab; }
    /// For each text: [CLS] then its piece ids, cut to options().max_length (@p cut false: every
    /// piece, for a stream that windows them itself).
    std::vector<std::vector<int64_t>> encode(const std::vector<std::string>& texts,
                                             bool cut = true) const;
    /// For each text: its pieces as strings ("▁the", "▁quick"), without [CLS] and not cut.
    std::vector<std::vector<std::string>> pieces(const std::vector<std::string>& texts) const;

    /// Every piece by id ("<pad>", "<unk>", "<s>", "▁the", …).
    std::vector<std::string> vocabulary() const;
    /// The text of @p ids: their pieces joined, "▁" read as a space; padding, [UNK] and [CLS]
    /// are left out. @p vocabulary: vocabulary() (asked once by a caller that decodes often).
    static std::string decode(const std::vector<int64_t>& ids,
                              const std::vector<std::string>& vocabulary);

    /// What a stored tokenizer is found by: its options and the training texts' fingerprint.
    static std::string key(const TokenizerOptions& options, const std::string& dataFingerprint);

    /// The helper program's path: $RETORT_TOKENIZE, else retort-tokenize beside the running
    /// program, in ../app (the build tree) or in ../lib/retort (installed). Throws
    /// std::runtime_error naming the places looked in.
    static std::string helperPath();

private:
    Tokenizer() = default;
    std::string m_model;
    TokenizerOptions m_options;
    int64_t m_vocab = 0;
};

}  // namespace retort

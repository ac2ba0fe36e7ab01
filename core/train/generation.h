#pragma once

// Text from a language model (task language_model): greedy decoding or top-k sampling, one token
// at a time, for the run's samples and `retort-cli generate`.

#include "data/tokenizer.h"
#include "models/modelzoo.h"
#include "store/projectstore.h"

#include <cstdint>
#include <string>
#include <vector>

namespace retort {

/// How generate() picks each next token.
struct GenerationOptions {
    int64_t max_new_tokens = 24;  ///< most tokens added after the prompt
    int64_t top_k = 0;            ///< 0: greedy (the most likely token); k: sample among the k best
    double temperature = 1.0;     ///< sampling: softmax temperature of the k logits
    uint64_t seed = 1;            ///< sampling: the sampler's seed (same seed, same text)
};

/// Why generate() stopped, and whether it had to slide its window.
struct GenerationStop {
    bool end_mark = false;    ///< the model predicted the end mark ([CLS])
    int64_t tokens = 0;       ///< tokens added
    int64_t context = 0;      ///< the model's context (max_length)
    int64_t slid_after = -1;  ///< tokens added when the context was full (-1: it never was)
    /// In words: "the end mark after 12 tokens", "24 tokens, the most asked for; the 32-token
    /// context was full after 20 and slid on ([CLS] and the last 31 tokens)".
    std::string text() const;
};

/// Continues @p prompt (ids, [CLS] first) with the language model @p net until it predicts the
/// end mark ([CLS]) or max_new_tokens were added. Once prompt and text fill the context
/// (max_length), the model reads a sliding window: [CLS] (where every training text began) and
/// the last max_length − 1 tokens. Returns the new ids, without the end mark; @p stop says why it
/// stopped. Throws std::invalid_argument when @p net is not a language model or the prompt is
/// empty.
std::vector<int64_t> generate(ZooNet& net, const std::vector<int64_t>& prompt,
                              const GenerationOptions& options, GenerationStop* stop = nullptr);

/// The first @p words words of @p text (a prompt cut from a test sample).
std::string firstWords(const std::string& text, size_t words);

/// One prompt continued by a model greedily and by top-k sampling, as text.
struct GeneratedText {
    std::string greedy, sampled;
    GenerationStop greedyStop, sampledStop;  ///< why each stopped
};
/// generate() twice from @p prompt (greedy, then top-k with @p topK and @p seed), decoded with
/// @p vocabulary (Tokenizer::vocabulary()).
GeneratedText continueText(ZooNet& net, const std::vector<int64_t>& prompt,
                           const std::vector<std::string>& vocabulary, int64_t maxNewTokens,
                           int64_t topK, uint64_t seed);

/// A completed language-model run's model, rebuilt from its project, with its tokenizer.
struct RunLanguageModel {
    ZooNet net{nullptr};
    std::string tokenizerModel;  ///< the SentencePiece model its ids come from
    TokenizerOptions tokenizer;  ///< the run's data.tokenizer
};
/// Loads run @p runId's student (its stored compressed model, as evaluated) or, with
/// @p teacher, its zoo teacher. Throws std::invalid_argument saying why when the run is not a
/// completed language-model run or has no such model.
RunLanguageModel loadRunLanguageModel(const ProjectStore& store, int64_t runId, bool teacher);

/// @p prompt continued by @p model (see continueText): the prompt is tokenized with the run's
/// tokenizer (which runs in its helper process), whole (a prompt longer than the context is
/// read through the window); an empty prompt generates from the start mark.
GeneratedText continuePrompt(RunLanguageModel& model, const std::string& prompt,
                             const GenerationOptions& options);

}  // namespace retort

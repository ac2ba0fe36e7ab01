// retort-tokenize: runs SentencePiece for the engine's Tokenizer, in a process without LibTorch
// (why: core/data/tokenizerprotocol.h). Reads one request from stdin, writes one reply to stdout.
// Not meant to be run by hand.

#include "data/tokenizerprotocol.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <unordered_map>

namespace proto = retort::tokenizerprotocol;

namespace {

class Sentences : public sentencepiece::SentenceIterator {
public:
    explicit Sentences(const std::vector<std::string>& texts) : m_texts(texts) {}
    bool done() const override { return m_i >= m_texts.size(); }
    void Next() override { ++m_i; }
    const std::string& value() const override { return m_texts[m_i]; }
    sentencepiece::util::Status status() const override { return {}; }

private:
    const std::vector<std::string>& m_texts;
    size_t m_i = 0;
};

void ok(const sentencepiece::util::Status& s, const char* what) {
    if (!s.ok()) throw std::runtime_error(std::string(what) + ": " + s.ToString());
}

std::string train(const proto::Request& r) {
    // Special ids fixed by Tokenizer: 0 padding, 1 unknown, 2 [CLS] (SentencePiece's bos).
    const std::unordered_map<std::string, std::string> args = {
        {"model_type", r.settings.bpe ? "bpe" : "unigram"},
        {"vocab_size", std::to_string(r.settings.vocab_size)},
        {"pad_id", "0"},
        {"unk_id", "1"},
        {"bos_id", "2"},
        {"eos_id", "-1"},
        {"normalization_rule_name", r.settings.lowercase ? "nmt_nfkc_cf" : "nmt_nfkc"},
        {"character_coverage", "1.0"},
        {"hard_vocab_limit", "false"},  // a small training set may not have vocab_size pieces
        {"num_threads", "1"},           // the same model on every run and machine
        // A language model's corpus is one document per line: SentencePiece's default (4,192
        // bytes) skipped longer lines from training, silently.
        {"max_sentence_length", "1048576"},
        {"minloglevel", "2"},
    };
    Sentences sentences(r.texts);
    std::string model;
    ok(sentencepiece::SentencePieceTrainer::Train(args, &sentences, &model), "training failed");
    return model;
}

std::string reply(const proto::Request& r) {
    std::string out(1, '\1');
    std::string model = r.command == proto::kTrain ? train(r) : r.model;
    sentencepiece::SentencePieceProcessor sp;
    ok(sp.LoadFromSerializedProto(model), "not a SentencePiece model");
    if (sp.pad_id() != 0 || sp.unk_id() != 1 || sp.bos_id() != 2)
        throw std::runtime_error("a SentencePiece model with other special ids than Retort's");
    switch (r.command) {
        case proto::kTrain:
            proto::putString(out, model);
            proto::putU64(out, uint64_t(sp.GetPieceSize()));
            break;
        case proto::kLoad:
            proto::putU64(out, uint64_t(sp.GetPieceSize()));
            break;
        case proto::kEncode:
            proto::putU64(out, r.texts.size());
            for (const auto& t : r.texts) {
                std::vector<int> ids;
                ok(sp.Encode(t, &ids), "encoding failed");
                proto::putU32(out, uint32_t(ids.size()));
                for (int id : ids) proto::putU32(out, uint32_t(id));
            }
            break;
        case proto::kPieces:
            proto::putU64(out, r.texts.size());
            for (const auto& t : r.texts) {
                std::vector<std::string> pieces;
                ok(sp.Encode(t, &pieces), "encoding failed");
                proto::putU32(out, uint32_t(pieces.size()));
                for (const auto& p : pieces) proto::putString(out, p);
            }
            break;
        case proto::kVocab:
            proto::putU64(out, uint64_t(sp.GetPieceSize()));
            for (int i = 0; i < sp.GetPieceSize(); ++i) proto::putString(out, sp.IdToPiece(i));
            break;
        default:
            throw std::runtime_error("unknown command");
    }
    return out;
}

}  // namespace

int main() {
    std::ios::sync_with_stdio(false);
    const std::string request((std::istreambuf_iterator<char>(std::cin)),
                              std::istreambuf_iterator<char>());
    std::string out;
    try {
        out = reply(proto::decodeRequest(request));
    } catch (const std::exception& e) {
        out = std::string(1, '\0');
        proto::putString(out, e.what());
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
}

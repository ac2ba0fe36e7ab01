#include "testutil.h"

#include "data/textdata.h"
#include "data/textdataset.h"
#include "data/tokenizer.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

using namespace retort;

namespace {

TextSamples parse(const std::string& text, TextFileFormat f, TextFileOptions o = {}) {
    std::istringstream in(text);
    return parseTextFile(in, "t", f, o);
}

/// The message of the DataError @p f throws ("" when it throws none).
template <class F>
std::string errorOf(F&& f) {
    try {
        f();
    } catch (const DataError& e) {
        return e.what();
    }
    return "";
}

/// The message of any exception @p f throws ("" when it throws none).
template <class F>
std::string errorText(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

}  // namespace

class TestTextData : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void tsvByColumnName() {
        const TextSamples s =
            parse("label\ttext\npos\tgood film\nneg\tdull\r\n\nneg\tslow\n", TextFileFormat::Tsv);
        QCOMPARE(s.texts, (std::vector<std::string>{"good film", "dull", "slow"}));
        QCOMPARE(s.labels, (std::vector<std::string>{"pos", "neg", "neg"}));
        QCOMPARE(s.lines, (std::vector<int64_t>{2, 3, 5}));  // the blank line 4 is skipped
    }

    void csvQuotingAndIndexColumns() {
        TextFileOptions o;
        o.header = false;
        o.text_column = "1";
        o.label_column = "0";
        const TextSamples s =
            parse("a,\"one, two\"\nb,\"say \"\"hi\"\"\"\nc,\"two\nlines\"\nd,plain\n",
                  TextFileFormat::Csv, o);
        QCOMPARE(s.texts,
                 (std::vector<std::string>{"one, two", "say \"hi\"", "two\nlines", "plain"}));
        QCOMPARE(s.labels, (std::vector<std::string>{"a", "b", "c", "d"}));
        QCOMPARE(s.lines, (std::vector<int64_t>{1, 2, 3, 5}));  // a record spans lines 3-4
    }

    void jsonLinesWithIntegerLabels() {
        const TextSamples s = parse(
            "{\"text\": \"caf\xc3\xa9 au lait\", \"label\": 2}\n\n{\"label\": 0, \"text\": "
            "\"tea\"}\n",
            TextFileFormat::Jsonl);
        QCOMPARE(s.texts, (std::vector<std::string>{"caf\xc3\xa9 au lait", "tea"}));
        QCOMPARE(s.labels, (std::vector<std::string>{"2", "0"}));
        QCOMPARE(s.lines, (std::vector<int64_t>{1, 3}));
    }

    void textsWithoutLabels() {
        // Texts alone (a language model's): the label column is never looked for, every label
        // reads "", and the lines still count from the file's first.
        TextFileOptions o;
        o.labels = false;
        const TextSamples tsv =
            parse("id\ttext\n1\tgood film\n\n2\tdull\n", TextFileFormat::Tsv, o);
        QCOMPARE(tsv.texts, (std::vector<std::string>{"good film", "dull"}));
        QCOMPARE(tsv.labels, (std::vector<std::string>{"", ""}));
        QCOMPARE(tsv.lines, (std::vector<int64_t>{2, 4}));
        const TextSamples jsonl =
            parse("{\"text\": \"tea\"}\n{\"text\": \"milk\", \"label\": [1]}\n",
                  TextFileFormat::Jsonl, o);
        QCOMPARE(jsonl.texts, (std::vector<std::string>{"tea", "milk"}));
        const TextSamples lines = parse(
            "\xEF\xBB\xBF"
            "first doc\r\n\n  \r\r\nsecond\tdoc\n",
            TextFileFormat::Lines, o);
        QCOMPARE(lines.texts, (std::vector<std::string>{"first doc", "second\tdoc"}));
        QCOMPARE(lines.lines, (std::vector<int64_t>{1, 4}));
        QCOMPARE(errorOf([&] { parse("ok\nbad \xff\n", TextFileFormat::Lines, o); }),
                 std::string("t: line 2: invalid UTF-8 in the text at byte 5"));
        QCOMPARE(errorOf([&] { parse("\n \n", TextFileFormat::Lines, o); }),
                 std::string("t: has no text"));
        // A classifier's options ask labels of a plain text file: refused, saying who reads it.
        QVERIFY(contains(errorOf([] { parse("a\nb\n", TextFileFormat::Lines); }),
                         "without labels: a language model (task language_model) reads it"));
    }

    void errorsNameFileLineAndProblem() {
        auto tsv = [](const std::string& t) {
            return errorOf([&] { parse(t, TextFileFormat::Tsv); });
        };
        QCOMPARE(tsv("text\tlabel\nok\ta\nbad \xff byte\tb\n"),
                 std::string("t: line 3: invalid UTF-8 in the text at byte 5"));
        QCOMPARE(tsv("text\tlabel\nok\ta\n \tb\n"), std::string("t: line 3: empty text"));
        QCOMPARE(tsv("text\tlabel\nok\ta\nthree\tfields\there\n"),
                 std::string("t: line 3: has 3 fields, the header 2 (a ragged row)"));
        QCOMPARE(tsv("sentence\tlabel\nok\ta\n"),
                 std::string("t: has no text column 'text' (columns: 'sentence', 'label')"));
        QCOMPARE(tsv("text\tlabel\n"), std::string("t: has a header but no samples"));
        // Both columns wrong: one message names both (it took two validate runs).
        QCOMPARE(tsv("sentence\tcat\nok\ta\n"),
                 std::string("t: has no text column 'text' and no label column 'label' (columns: "
                             "'sentence', 'cat')"));
        QCOMPARE(tsv("text\tcat\nok\ta\n"),
                 std::string("t: has no label column 'label' (columns: 'text', 'cat')"));
        QCOMPARE(errorOf([] { parse("{\"t\": \"a\"}\n", TextFileFormat::Jsonl); }),
                 std::string("t: line 1: has no text key 'text' and no label key 'label'"));
        QCOMPARE(tsv("text\tlabel\nok\t\n"), std::string("t: line 2: empty label"));
        QCOMPARE(errorOf([] { parse("x,\"open\n", TextFileFormat::Csv); }),
                 std::string("t: line 1: a quoted field is not closed"));
        QCOMPARE(
            errorOf([] { parse("{\"text\": \"a\", \"label\": 1}\n[1]\n", TextFileFormat::Jsonl); }),
            std::string("t: line 2: is not a JSON object"));
        QCOMPARE(errorOf([] { parse("{\"text\": \"a\"}\n", TextFileFormat::Jsonl); }),
                 std::string("t: line 1: has no label key 'label'"));
        QCOMPARE(errorOf([] { parse("{\"text\": 5, \"label\": 1}\n", TextFileFormat::Jsonl); }),
                 std::string("t: line 1: 'text' must be a string, not number"));
        QVERIFY(contains(errorOf([] { parse("{\"text\": \"a\",\n", TextFileFormat::Jsonl); }),
                         "t: line 1: not JSON"));
        QVERIFY(contains(errorOf([] { readTextFile("/nonexistent/x.parquet", {}); }),
                         "cannot tell the layout from the extension '.parquet'"));
        QCOMPARE(errorOf([] { readTextFile("/nonexistent/x.tsv", {}); }),
                 std::string("/nonexistent/x.tsv: cannot be opened"));
    }

    void awkwardButValidInput() {
        // A UTF-8 byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name.
        const TextSamples bom = parse("\xEF\xBB\xBFtext,label\nfine,a\n", TextFileFormat::Csv);
        QCOMPARE(bom.texts, std::vector<std::string>{"fine"});
        const TextSamples bomJson =
            parse("\xEF\xBB\xBF{\"text\": \"x\", \"label\": 1}\n", TextFileFormat::Jsonl);
        QCOMPARE(bomJson.labels, std::vector<std::string>{"1"});
        // An unsigned 64-bit label keeps its value (it wrapped to -1).
        const TextSamples big =
            parse("{\"text\": \"x\", \"label\": 18446744073709551615}\n", TextFileFormat::Jsonl);
        QCOMPARE(big.labels, std::vector<std::string>{"18446744073709551615"});
        // A number past a double is a bad line of that file, not another exception.
        QVERIFY(contains(errorOf([] {
                             parse("{\"text\": \"a\", \"label\": 1, \"x\": 1e400}\n",
                                   TextFileFormat::Jsonl);
                         }),
                         "t: line 1: not JSON"));
        // Far-apart integer labels are names, not a billion classes; "01" is a name, not 1.
        const TextSamples far = parse("text\tlabel\na\t0\nb\t999999999\n", TextFileFormat::Tsv);
        const LabelMap mf = makeLabelMap(far, "far");
        QVERIFY(!mf.integers);
        QCOMPARE(mf.names, (std::vector<std::string>{"0", "999999999"}));
        const TextSamples zeros = parse("text\tlabel\na\t0\nb\t01\nc\t1\n", TextFileFormat::Tsv);
        const LabelMap mz = makeLabelMap(zeros, "zeros");
        QVERIFY(!mz.integers);
        QCOMPARE(labelIds(zeros, mz, "zeros"), (std::vector<int64_t>{0, 1, 2}));
    }

    void invalidUtf8Sequences() {
        QCOMPARE(invalidUtf8("plain ascii"), std::string_view::npos);
        QCOMPARE(invalidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), std::string_view::npos);
        QCOMPARE(invalidUtf8("ab\x80"), size_t(2));            // a lone continuation byte
        QCOMPARE(invalidUtf8("a\xc0\xaf"), size_t(1));         // overlong '/'
        QCOMPARE(invalidUtf8("\xe0\x80\xaf"), size_t(0));      // overlong, three bytes
        QCOMPARE(invalidUtf8("x\xed\xa0\x80"), size_t(1));     // a UTF-16 surrogate
        QCOMPARE(invalidUtf8("\xf4\x90\x80\x80"), size_t(0));  // past U+10FFFF
        QCOMPARE(invalidUtf8("ok\xe2\x82"), size_t(2));        // cut short
    }

    void labelMaps() {
        TextSamples train =
            parse("text\tlabel\na\tverb\nb\tnoun\nc\tadj\nd\tnoun\n", TextFileFormat::Tsv);
        const LabelMap m = makeLabelMap(train, "train.tsv");
        QVERIFY(!m.integers);
        QCOMPARE(m.names, (std::vector<std::string>{"adj", "noun", "verb"}));
        QCOMPARE(labelIds(train, m, "train.tsv"), (std::vector<int64_t>{2, 1, 0, 1}));
        const TextSamples test = parse("text\tlabel\nx\tnoun\ny\tadverb\n", TextFileFormat::Tsv);
        QCOMPARE(errorOf([&] { labelIds(test, m, "test.tsv"); }),
                 std::string("test.tsv: line 3: label 'adverb' never occurs in the training data"));

        // Integers are their own ids, gaps included ("10" is not sorted before "2").
        const TextSamples ints = parse("text\tlabel\na\t2\nb\t10\nc\t0\n", TextFileFormat::Tsv);
        const LabelMap mi = makeLabelMap(ints, "i");
        QVERIFY(mi.integers);
        QCOMPARE(mi.names.size(), size_t(11));
        QCOMPARE(labelIds(ints, mi, "i"), (std::vector<int64_t>{2, 10, 0}));

        const TextSamples one = parse("text\tlabel\na\tx\nb\tx\n", TextFileFormat::Tsv);
        QCOMPARE(errorOf([&] { makeLabelMap(one, "one.tsv"); }),
                 std::string("one.tsv: has one class only ('x'): nothing to classify"));
    }

    void wordNetLines() {
        const std::string data =
            "  1 This software and database is being provided to you, the LICENSEE, by  \n"
            "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 ~ 00002137 n 0000 ~ 04424418 n "
            "0000 | that which is perceived or known or inferred to have its own distinct "
            "existence (living or nonliving)  \n"
            "01839606 38 v 01 go 0 000 | move; \"go home\"  \n";
        std::istringstream in(data);
        const auto s = parseWordNetData(in, "data.x");
        QCOMPARE(s.size(), size_t(2));
        QCOMPARE(s[0].offset, int64_t(1740));
        QCOMPARE(std::string(wordNetLexFiles()[size_t(s[0].lex_file)]), std::string("noun.Tops"));
        QCOMPARE(s[0].gloss, std::string("that which is perceived or known or inferred to have "
                                         "its own distinct existence (living or nonliving)"));
        QCOMPARE(std::string(wordNetLexFiles()[size_t(s[1].lex_file)]), std::string("verb.motion"));
        QCOMPARE(s[1].gloss, std::string("move; \"go home\""));
        std::istringstream bad("00001740 03 q 01 entity 0 000 | x\n");
        QCOMPARE(errorOf([&] { parseWordNetData(bad, "data.x"); }),
                 std::string("data.x: line 1: not a WordNet synset line"));
        std::istringstream lex("00001740 45 n 01 entity 0 000 | x\n");
        QCOMPARE(errorOf([&] { parseWordNetData(lex, "data.x"); }),
                 std::string("data.x: line 1: lexicographer file 45 does not exist"));
    }

    void wordNetSplitIsFixed() {
        // The split (version 2) is a pure function of the normalized gloss, part of the data's
        // definition: it must never change. FNV-1a 64 of "wordnet:a genus of bacteria" is
        // 0xb6433ca546ab4b81 (≡ 9 mod 10: test), of entity's gloss 0x753993708c8829e1 (≡ 5:
        // train), computed by a separate Python script.
        std::map<int, int> counts;
        for (int i = 0; i < 100000; ++i) ++counts[wordNetSplit("gloss " + std::to_string(i))];
        QVERIFY(counts[0] > 79000 && counts[0] < 81000);
        QVERIFY(counts[1] > 9500 && counts[1] < 10500);
        QVERIFY(counts[2] > 9500 && counts[2] < 10500);
        QCOMPARE(wordNetSplit("a genus of bacteria"), kSplitOfGenus);
        QCOMPARE(wordNetSplit("that which is perceived or known or inferred to have its own "
                              "distinct existence (living or nonliving)"),
                 kSplitOfEntity);
        // Case and white space do not move a gloss.
        QCOMPARE(wordNetSplit("  A  Genus of\tBacteria "), kSplitOfGenus);
        QCOMPARE(normalizedText("  A  Genus of\tBacteria "), std::string("a genus of bacteria"));
    }

    void wordNetTestGlossesAreUnseen() {
        // Version 1 hashed the synset: 110 of the 11,675 test glosses occurred verbatim in
        // training ("a genus of bacteria", 11 copies). No test gloss may occur, normalized, in
        // training or validation.
        const auto all = readWordNet(kWordNetDir);
        std::set<std::string> seen;
        for (const auto& s : all)
            if (s.split != 2) seen.insert(normalizedText(s.gloss));
        int leaked = 0, test = 0;
        std::string example;
        for (const auto& s : all) {
            if (s.split != 2) continue;
            ++test;
            if (seen.count(normalizedText(s.gloss))) {
                if (example.empty()) example = s.gloss;
                ++leaked;
            }
        }
        QVERIFY2(leaked == 0, (std::to_string(leaked) +
                               " test glosses also in train or "
                               "validation, e.g. '" +
                               example + "'")
                                  .c_str());
        QCOMPARE(test, 11743);  // counted by the same separate Python script
    }

    void wordNetFromDebian() {
        // Debian's wordnet-base (scripts/install-deps.sh installs it): 117,659 synsets in the
        // four data files; 45 classes; the split close to 80/10/10 (80.1/9.9/9.9 %); the
        // largest class, adj.all with 14,435 synsets (12.3 %), is the chance level. (Counted
        // by a separate Python script.)
        const std::string dir = kWordNetDir;
        QVERIFY2(std::ifstream(dir + "/data.noun").good(),
                 "WordNet is missing: install Debian's wordnet-base");
        const auto all = readWordNet(dir);
        QCOMPARE(all.size(), size_t(117659));
        std::map<int, size_t> perClass, perSplit;
        for (const auto& s : all) {
            ++perClass[s.lex_file];
            ++perSplit[s.split];
        }
        QCOMPARE(perClass.size(), size_t(45));
        const auto largest =
            std::max_element(perClass.begin(), perClass.end(),
                             [](const auto& a, const auto& b) { return a.second < b.second; });
        QCOMPARE(std::string(wordNetLexFiles()[size_t(largest->first)]), std::string("adj.all"));
        QCOMPARE(largest->second, size_t(14435));
        QVERIFY(std::abs(double(perSplit[0]) / double(all.size()) - 0.8) < 0.01);
        QVERIFY(std::abs(double(perSplit[2]) / double(all.size()) - 0.1) < 0.01);
    }

    void fingerprintHashesEveryText() {
        // Two test files that differ in one text (labels unchanged) are two data sets: the
        // fingerprint (the teacher's key) must tell them apart, or a later run reuses the
        // teacher's stored outputs and reports the old teacher test accuracy.
        QTemporaryDir dir;
        const std::string train = test::writeSeparableTexts(dir, 12);
        const std::string a = dir.filePath("a.tsv").toStdString(),
                          b = dir.filePath("b.tsv").toStdString();
        test::writeFile(a, "text\tlabel\nriver lake\twater\nstone rock\trock\n");
        test::writeFile(b, "text\tlabel\nriver stream\twater\nstone rock\trock\n");
        DataOptions d;
        d.format = DataFormat::Text;
        d.path = train;
        d.tokenizer.vocab_size = 40;
        // limit_val on text: a fixed subset of the validation split, a data set of its own.
        d.validation_fraction = 0.5;
        const Dataset wide = textdata::load(d, 1, nullptr);
        d.limit_val = 2;
        const Dataset narrow = textdata::load(d, 1, nullptr);
        QVERIFY(wide.val_x.size(0) > 2);
        QCOMPARE(narrow.val_x.size(0), int64_t(2));
        QVERIFY(torch::equal(narrow.train_x, wide.train_x));
        QVERIFY(narrow.fingerprint != wide.fingerprint);
        d.limit_val = 0;
        d.validation_fraction = 0.1;
        d.tokenizer.max_length = 12;
        d.test_path = a;
        const Dataset first = textdata::load(d, 1, nullptr);
        d.test_path = b;
        const Dataset second = textdata::load(d, 1, nullptr);
        QVERIFY(torch::equal(first.test_y, second.test_y));
        QVERIFY(first.fingerprint != second.fingerprint);
        QCOMPARE(first.test_texts.size(), size_t(2));
        QCOMPARE(first.split_version, 1);
        QVERIFY(first.warnings.empty() == (first.shape.vocab == 40));
        // More pieces asked for than the texts have: the run says so, with the size it got
        // (it was cut silently, the spec's number standing).
        d.tokenizer.vocab_size = 200000;
        const Dataset big = textdata::load(d, 1, nullptr);
        QVERIFY(big.shape.vocab < 200000);
        QCOMPARE(big.warnings.size(), size_t(1));
        QVERIFY2(big.warnings[0].find("data.tokenizer.vocab_size: 200000 pieces asked for") == 0 &&
                     big.warnings[0].find("has " + std::to_string(big.shape.vocab) + " rows") !=
                         std::string::npos,
                 big.warnings[0].c_str());
        d.tokenizer.vocab_size = 40;
        // A file too small to hold out a test text is refused at load, naming it and the split.
        const std::string tiny = dir.filePath("tiny.tsv").toStdString();
        test::writeFile(tiny, "text\tlabel\nriver\twater\nrock\trock\n");
        d.test_path.clear();
        d.path = tiny;
        const std::string error = errorOf([&] { textdata::load(d, 1, nullptr); });
        QVERIFY2(error.find(tiny) != std::string::npos &&
                     error.find("test split is empty") != std::string::npos,
                 error.c_str());
    }

    void tokenizerIsTrainedOnceAndReused() {
        // 4,000 training glosses, a 1,000-piece unigram model, through the helper process.
        std::vector<std::string> texts;
        for (const auto& s : readWordNet())
            if (s.split == 0 && texts.size() < 4000) texts.push_back(s.gloss);
        TokenizerOptions o;
        o.vocab_size = 1000;
        o.max_length = 6;
        const Tokenizer a = Tokenizer::train(texts, o);
        QCOMPARE(a.vocabSize(), int64_t(1000));
        // Deterministic: a second training gives the same model, byte for byte.
        QVERIFY(Tokenizer::train(texts, o).model() == a.model());
        const auto ids = a.encode({"The quick brown fox jumps over the lazy dog", "dog", ""});
        QCOMPARE(ids.size(), size_t(3));
        QCOMPARE(ids[0].size(), size_t(6));  // cut to max_length, [CLS] included
        for (const auto& one : ids) {
            QCOMPARE(one.front(), Tokenizer::kCls);
            for (int64_t id : one) QVERIFY(id >= 0 && id < a.vocabSize());
        }
        QCOMPARE(ids[2], std::vector<int64_t>{Tokenizer::kCls});  // nothing but [CLS]
        QCOMPARE(a.encode({"THE DOG"}), a.encode({"the dog"}));   // lower-cased
        QCOMPARE(a.pieces({"the dog"})[0].front(), std::string("\xe2\x96\x81the"));
        // The stored model gives the same ids.
        const Tokenizer b = Tokenizer::fromModel(a.model(), o);
        QCOMPARE(b.vocabSize(), a.vocabSize());
        QCOMPARE(b.encode({"a dog that barks"}), a.encode({"a dog that barks"}));
        // Case kept: a different model, and upper case encodes differently.
        TokenizerOptions cased = o;
        cased.lowercase = false;
        const Tokenizer c = Tokenizer::train(texts, cased);
        QVERIFY(c.model() != a.model());
        QVERIFY(c.encode({"THE DOG"}) != c.encode({"the dog"}));
        TokenizerOptions bpe = o;
        bpe.type = TokenizerType::Bpe;
        QVERIFY(Tokenizer::train(texts, bpe).model() != a.model());
        // Stored under its options and data; max_length does not change the model.
        TokenizerOptions longer = o;
        longer.max_length = 64;
        QCOMPARE(Tokenizer::key(longer, "d1"), Tokenizer::key(o, "d1"));
        QVERIFY(Tokenizer::key(o, "d2") != Tokenizer::key(o, "d1"));
        QVERIFY(Tokenizer::key(cased, "d1") != Tokenizer::key(o, "d1"));
        QVERIFY(Tokenizer::key(bpe, "d1") != Tokenizer::key(o, "d1"));
    }

    void tokenizerErrors() {
        TokenizerOptions o;
        QVERIFY(contains(errorText([&] { Tokenizer::fromModel("not a model", o); }),
                         "tokenizer: not a SentencePiece model"));
        o.vocab_size = 2;
        QCOMPARE(errorText([&] { Tokenizer::train({"a b c"}, o); }),
                 std::string("tokenizer vocab_size must be in [8, 1000000], not 2"));
        o.vocab_size = 100;
        QCOMPARE(errorText([&] { Tokenizer::train({}, o); }),
                 std::string("tokenizer: no training texts"));
        // Fewer pieces than the texts' characters: said in the spec's words (SentencePiece's
        // named its own --character_coverage flag).
        o.vocab_size = 8;
        const std::string small = errorText(
            [&] { Tokenizer::train({"the quick brown fox jumps over the lazy dog"}, o); });
        QVERIFY2(contains(small, "data.tokenizer.vocab_size: 8 is too small") &&
                     !contains(small, "character_coverage"),
                 small.c_str());
        o.vocab_size = 100;
        qputenv("RETORT_TOKENIZE", "/nonexistent/retort-tokenize");
        const std::string missing = errorText([&] { Tokenizer::train({"a b c"}, o); });
        qunsetenv("RETORT_TOKENIZE");
        QVERIFY2(contains(missing, "cannot run /nonexistent/retort-tokenize"), missing.c_str());
    }

private:
    static constexpr int kSplitOfGenus = 2;
    static constexpr int kSplitOfEntity = 0;
};

QTEST_APPLESS_MAIN(TestTextData)
#include "tst_textdata.moc"

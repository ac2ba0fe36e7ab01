#include "testutil.h"

#include "data/dataset.h"

#include <zlib.h>

#include <filesystem>

using namespace retort;

namespace {
/// @p o with data.seed set.
DataOptions withSeed(DataOptions o, int64_t seed) {
    o.seed = seed;
    return o;
}

std::string be32(uint32_t v) {
    return {char(v >> 24), char((v >> 16) & 0xFF), char((v >> 8) & 0xFF), char(v & 0xFF)};
}

std::string idx(uint8_t type, const std::vector<uint32_t>& dims, const std::string& data) {
    std::string s = {0, 0, char(type), char(dims.size())};
    for (uint32_t d : dims) s += be32(d);
    return s + data;
}

void writeGz(const std::string& path, const std::string& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
}

/// A tiny IDX dataset: n 4x4 images whose pixels encode the label, in @p dir.
void writeIdxSet(const std::string& dir, int nTrain, int nTest, bool gz) {
    auto make = [&](int n, const std::string& images, const std::string& labels) {
        std::string px, lb;
        for (int i = 0; i < n; ++i) {
            lb += char(i % 3);
            for (int k = 0; k < 16; ++k) px += char((i % 3) * 80 + k);
        }
        const std::string a = idx(0x08, {uint32_t(n), 4, 4}, px), b = idx(0x08, {uint32_t(n)}, lb);
        if (gz) {
            writeGz(dir + "/" + images + ".gz", a);
            writeGz(dir + "/" + labels + ".gz", b);
        } else {
            test::writeFile(dir + "/" + images, a);
            test::writeFile(dir + "/" + labels, b);
        }
    };
    make(nTrain, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
    make(nTest, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
}

template <typename F>
QString errorOf(F f) {
    try {
        f();
    } catch (const DataError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace

class TestData : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string path(const char* name) { return m_dir.filePath(name).toStdString(); }

private Q_SLOTS:
    void idxPlainAndGzip() {
        for (bool gz : {false, true}) {
            QTemporaryDir dir;
            writeIdxSet(dir.path().toStdString(), 30, 9, gz);
            DataOptions o;
            o.path = dir.path().toStdString();
            o.validation_fraction = 0.2;
            o.normalize = Normalization::None;
            DataShape shape = probeData(o);
            QCOMPARE(shape.sample_shape, (std::vector<int64_t>{1, 4, 4}));
            QCOMPARE(shape.classes, int64_t(3));
            Dataset d = loadDataset(withSeed(o, 1));
            QCOMPARE(d.train_x.sizes().vec(), (std::vector<int64_t>{24, 1, 4, 4}));
            QCOMPARE(d.val_x.size(0), int64_t(6));
            QCOMPARE(d.test_x.size(0), int64_t(9));
            // Pixels still encode their label: the split kept samples and labels together.
            auto first = d.train_x.flatten(1).select(1, 0);
            QVERIFY(torch::equal(first, (d.train_y * 80).to(torch::kFloat32)));
        }
    }

    void idxCorrupt() {
        const std::string good = idx(0x08, {2, 2, 2}, std::string(8, '\1'));
        test::writeFile(path("short"), good.substr(0, 3));
        QVERIFY(errorOf([&] { readIdx(path("short")); }).contains("too short"));
        test::writeFile(path("magic"), "\1\2" + good.substr(2));
        QVERIFY(errorOf([&] { readIdx(path("magic")); }).contains("wrong magic number"));
        test::writeFile(path("type"), idx(0x42, {2}, "ab"));
        QVERIFY(errorOf([&] { readIdx(path("type")); }).contains("unknown IDX element type 0x42"));
        test::writeFile(path("trunc"), good.substr(0, good.size() - 3));
        QVERIFY(errorOf([&] { readIdx(path("trunc")); }).contains("truncated"));
        test::writeFile(path("extra"), good + "xyz");
        QVERIFY(errorOf([&] { readIdx(path("extra")); }).contains("3 bytes past"));
        // Absurd dimensions are refused before any allocation.
        test::writeFile(path("absurd"), idx(0x08, {0xFFFFFFF0u, 0xFFFFFFF0u, 0xFFFFFFF0u}, "abcd"));
        QVERIFY(errorOf([&] {
                    readIdx(path("absurd"));
                }).contains("more elements than the file holds"));
        test::writeFile(path("badgz.gz"),
                        std::string("\x1f\x8b\x08\x00", 4) + std::string(40, 'x'));
        QVERIFY(!errorOf([&] { readIdx(path("badgz.gz")); }).isEmpty());
        QVERIFY(errorOf([&] { readIdx(path("missing")); }).contains("no such file"));
        // Errors name the file.
        QVERIFY(errorOf([&] {
                    readIdx(path("magic"));
                }).startsWith(QString::fromStdString(path("magic"))));
    }

    void idxCountMismatch() {
        QTemporaryDir dir;
        writeIdxSet(dir.path().toStdString(), 10, 5, false);
        test::writeFile(dir.filePath("train-labels-idx1-ubyte").toStdString(),
                        idx(0x08, {9}, std::string(9, '\0')));
        DataOptions o;
        o.path = dir.path().toStdString();
        QVERIFY(errorOf([&] { loadDataset(withSeed(o, 1)); }).contains("has 10 images but"));
    }

    void csvParsing() {
        test::writeFile(path("a.csv"), "label,f1,f2\n0,1.5,2\n1, 3 ,-4e1\r\n\n2,0,0\n");
        CsvTable t = readCsv(path("a.csv"), 0, CsvHeader::Auto);
        QCOMPARE(t.columns, int64_t(2));
        QCOMPARE(t.labels, (std::vector<int64_t>{0, 1, 2}));
        QCOMPARE(t.features[3], -40.0f);
        test::writeFile(path("b.csv"), "1,2,7\n3,4,1\n");
        CsvTable u = readCsv(path("b.csv"), 2, CsvHeader::No);
        QCOMPARE(u.labels, (std::vector<int64_t>{7, 1}));
        QCOMPARE(u.features, (std::vector<float>{1, 2, 3, 4}));
    }

    void csvErrors() {
        test::writeFile(path("ragged.csv"), "0,1,2\n1,2\n");
        QVERIFY(errorOf([&] {
                    readCsv(path("ragged.csv"), 0, CsvHeader::Auto);
                }).contains("line 2: 2 fields, expected 3"));
        test::writeFile(path("nan.csv"), "0,1,2\n1,nan,2\n");
        QVERIFY(errorOf([&] {
                    readCsv(path("nan.csv"), 0, CsvHeader::Auto);
                }).contains("line 2, column 2: 'nan' is not a finite number"));
        test::writeFile(path("text.csv"), "0,1,2\n1,abc,2\n");
        QVERIFY(errorOf([&] {
                    readCsv(path("text.csv"), 0, CsvHeader::Auto);
                }).contains("line 2, column 2: 'abc' is not a number"));
        test::writeFile(path("label.csv"), "0.5,1,2\n");
        QVERIFY(errorOf([&] {
                    readCsv(path("label.csv"), 0, CsvHeader::Auto);
                }).contains("not a class index"));
        // The label as written, not as the float it was read into (1000000000.000000).
        test::writeFile(path("big.csv"), "0,1,2\n999999999,1,2\n");
        const QString big = errorOf([&] { readCsv(path("big.csv"), 0, CsvHeader::Auto); });
        QVERIFY2(big.contains("line 2, column 1: label '999999999' is not a class index"),
                 qPrintable(big));
        test::writeFile(path("empty.csv"), "a,b,c\n");
        QVERIFY(errorOf([&] {
                    readCsv(path("empty.csv"), 0, CsvHeader::Auto);
                }).contains("no data rows"));
        QVERIFY(errorOf([&] {
                    readCsv(path("ragged.csv"), 5, CsvHeader::Auto);
                }).contains("label column 5"));
    }

    void csvDataset() {
        QTemporaryDir dir;
        std::string tr = "y,a,b,c,d\n", te = tr;
        for (int i = 0; i < 40; ++i)
            tr += std::to_string(i % 2) + "," + std::to_string(i) + ",1,2,3\n";
        for (int i = 0; i < 10; ++i) te += std::to_string(i % 2) + ",5,1,2,3\n";
        test::writeFile(dir.filePath("train.csv").toStdString(), tr);
        test::writeFile(dir.filePath("test.csv").toStdString(), te);
        DataOptions o;
        o.format = DataFormat::Csv;
        o.path = dir.path().toStdString();
        o.shape = {1, 2, 2};
        o.validation_fraction = 0.25;
        Dataset d = loadDataset(withSeed(o, 3));
        QCOMPARE(d.shape.classes, int64_t(2));
        QCOMPARE(d.train_x.sizes().vec(), (std::vector<int64_t>{30, 1, 2, 2}));
        // Per-feature normalization from the training samples: mean 0 on the training set.
        QVERIFY(d.train_x.flatten(1).mean(0).abs().max().item<double>() < 1e-5);
        o.shape = {3};
        QVERIFY(
            errorOf([&] { loadDataset(withSeed(o, 3)); }).contains("data.shape has 3 elements"));
    }

    void splitAndLimit() {
        DataOptions o;
        o.format = DataFormat::Synthetic;
        o.train_samples = 1000;
        o.test_samples = 100;
        o.validation_fraction = 0.1;
        o.limit_train = 500;
        Dataset a = loadDataset(withSeed(o, 9)), b = loadDataset(withSeed(o, 9)),
                c = loadDataset(withSeed(o, 10));
        QCOMPARE(a.train_x.size(0), int64_t(450));
        QCOMPARE(a.val_x.size(0), int64_t(50));
        QVERIFY(torch::equal(a.train_x, b.train_x));  // seeded: same data, same split
        QVERIFY(!torch::equal(a.train_x, c.train_x));
        QCOMPARE(a.fingerprint, b.fingerprint);
        QVERIFY(a.fingerprint != c.fingerprint);
        // Global normalization uses training statistics only.
        QVERIFY(std::abs(a.train_x.mean().item<double>()) < 1e-4);
        QVERIFY(std::abs(a.train_x.std().item<double>() - 1.0) < 1e-3);
        QVERIFY(std::abs(a.test_x.mean().item<double>()) > 1e-6);
        // limit_val: the first 20 of the same validation split; training untouched; another
        // data set (fingerprint), while limit_val 0 keeps the fingerprint it always had.
        o.limit_val = 20;
        const Dataset v = loadDataset(withSeed(o, 9));
        QCOMPARE(v.val_x.size(0), int64_t(20));
        QVERIFY(torch::equal(v.val_x, a.val_x.slice(0, 0, 20)));
        QVERIFY(torch::equal(v.train_x, a.train_x));
        QVERIFY(v.fingerprint != a.fingerprint);
        o.limit_val = 0;
        QCOMPARE(loadDataset(withSeed(o, 9)).fingerprint, a.fingerprint);
    }

    void fashionMnistProbe() {
        DataOptions o;
        if (!std::filesystem::exists(o.path))
            QFAIL(RETORT_MISSING("dataset-fashion-mnist", o.path.c_str()));
        DataShape s = probeData(o);
        QCOMPARE(s.sample_shape, (std::vector<int64_t>{1, 28, 28}));
        QCOMPARE(s.classes, int64_t(10));
        QCOMPARE(dataFiles(o).size(), size_t(4));
    }
};

QTEST_APPLESS_MAIN(TestData)
#include "tst_data.moc"

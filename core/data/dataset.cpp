#include "data/dataset.h"

#include "data/textdataset.h"
#include "data/tokenizer.h"
#include "store/fnv1a.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

namespace retort {

namespace {

constexpr size_t kMaxDecompressed = size_t(4) << 30;  // 4 GiB: refuse gzip bombs

/// Reads a whole file through zlib (which passes plain files through unchanged).
std::string readMaybeGzip(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw DataError(path, "no such file");
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) throw DataError(path, std::string("cannot open: ") + std::strerror(errno));
    std::string out;
    char buf[1 << 16];
    while (true) {
        int n = gzread(f, buf, sizeof buf);
        if (n < 0) {
            int err = 0;
            std::string msg = gzerror(f, &err);
            gzclose(f);
            throw DataError(path, "corrupt gzip data (" + msg + ")");
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > kMaxDecompressed) {
            gzclose(f);
            throw DataError(path, "more than 4 GiB of data after decompression");
        }
    }
    // A truncated .gz stream ends without error from gzread but is flagged at close.
    int rc = gzclose(f);
    if (rc == Z_BUF_ERROR) throw DataError(path, "truncated gzip file");
    if (rc != Z_OK) throw DataError(path, "corrupt gzip file");
    return out;
}

uint32_t be32(const unsigned char* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::string firstExisting(const std::string& dir, const std::string& name) {
    for (const std::string& candidate : {name, name + ".gz"}) {
        fs::path p = fs::path(dir) / candidate;
        std::error_code ec;
        if (fs::is_regular_file(p, ec)) return p.string();
    }
    throw DataError((fs::path(dir) / name).string(), "no such file (nor " + name + ".gz)");
}

}  // namespace

IdxArray readIdx(const std::string& path) {
    return parseIdx(readMaybeGzip(path), path);
}

IdxArray parseIdx(const std::string& bytes, const std::string& path) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    if (bytes.size() < 4) throw DataError(path, "too short for an IDX header");
    if (p[0] != 0 || p[1] != 0)
        throw DataError(path, "wrong magic number (not an IDX file: first two bytes must be 0)");
    IdxArray a;
    a.type = p[2];
    size_t elem = 0;
    switch (a.type) {
        case 0x08:
        case 0x09:
            elem = 1;
            break;
        case 0x0B:
            elem = 2;
            break;
        case 0x0C:
        case 0x0D:
            elem = 4;
            break;
        case 0x0E:
            elem = 8;
            break;
        default:
            throw DataError(
                path, "unknown IDX element type 0x" + [&] {
                    char b[3];
                    std::snprintf(b, 3, "%02x", a.type);
                    return std::string(b);
                }());
    }
    const int ndim = p[3];
    if (ndim < 1 || ndim > 4)
        throw DataError(
            path, "IDX header has " + std::to_string(ndim) + " dimensions (1 to 4 supported)");
    const size_t header = 4 + 4 * static_cast<size_t>(ndim);
    if (bytes.size() < header) throw DataError(path, "truncated IDX header");
    unsigned long long count = 1;
    for (int i = 0; i < ndim; ++i) {
        uint32_t d = be32(p + 4 + 4 * i);
        if (d == 0) throw DataError(path, "dimension " + std::to_string(i) + " is 0");
        a.dims.push_back(d);
        count *= d;
        // Compare with what the file holds before any allocation: absurd sizes stop here.
        if (count > (bytes.size() - header) / elem + 1)
            throw DataError(
                path, "header declares more elements than the file holds (truncated or corrupt)");
    }
    const size_t need = static_cast<size_t>(count) * elem;
    if (bytes.size() - header < need)
        throw DataError(path, "truncated: header declares " + std::to_string(need) +
                                  " data bytes, file has " + std::to_string(bytes.size() - header));
    if (bytes.size() - header > need)
        throw DataError(path, "has " + std::to_string(bytes.size() - header - need) +
                                  " bytes past the declared data");
    const unsigned char* d = p + header;
    const int64_t n = static_cast<int64_t>(count);
    if (a.type == 0x08) {
        // The common case (MNIST family): one widening copy from the decompressed bytes.
        a.values =
            torch::from_blob(const_cast<unsigned char*>(d), {n}, torch::kUInt8).to(torch::kFloat32);
        return a;
    }
    a.values = torch::empty({n}, torch::kFloat32);
    float* out = a.values.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
        float v = 0;
        switch (a.type) {
            case 0x09:
                v = static_cast<int8_t>(d[i]);
                break;
            case 0x0B:
                v = static_cast<int16_t>((d[2 * i] << 8) | d[2 * i + 1]);
                break;
            case 0x0C:
                v = static_cast<float>(static_cast<int32_t>(be32(d + 4 * i)));
                break;
            case 0x0D: {
                uint32_t u = be32(d + 4 * i);
                std::memcpy(&v, &u, 4);
                break;
            }
            case 0x0E: {
                uint64_t u = (uint64_t(be32(d + 8 * i)) << 32) | be32(d + 8 * i + 4);
                double dv;
                std::memcpy(&dv, &u, 8);
                v = static_cast<float>(dv);
                break;
            }
        }
        if (!std::isfinite(v))
            throw DataError(path, "element " + std::to_string(i) + " is not a finite number");
        out[i] = v;
    }
    return a;
}

CsvTable readCsv(const std::string& path, int64_t labelColumn, CsvHeader header) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw DataError(path, "no such file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw DataError(path, std::string("cannot open: ") + std::strerror(errno));
    return parseCsv(in, path, labelColumn, header);
}

CsvTable parseCsv(std::istream& in, const std::string& path, int64_t labelColumn,
                  CsvHeader header) {
    CsvTable t;
    std::string line;
    int64_t lineNo = 0;
    int64_t fields = -1;
    std::vector<float> row;
    while (std::getline(in, line)) {
        ++lineNo;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        row.clear();
        bool numeric = true;
        size_t bad = 0;  // the first field that is not a number
        std::string cell;
        std::stringstream ss(line);
        std::vector<std::string> cells;
        while (std::getline(ss, cell, ',')) cells.push_back(cell);
        if (!line.empty() && line.back() == ',') cells.push_back("");
        for (const auto& c : cells) {
            const char* b = c.c_str();
            while (*b == ' ' || *b == '\t') ++b;
            char* end = nullptr;
            errno = 0;
            float v = std::strtof(b, &end);
            while (end && (*end == ' ' || *end == '\t')) ++end;
            if (end == b || (end && *end != '\0')) {
                numeric = false;
                bad = row.size();
                break;
            }
            row.push_back(v);
        }
        const bool firstRow = fields < 0;
        if (firstRow && !numeric && header != CsvHeader::No) {
            fields = static_cast<int64_t>(cells.size());
            continue;  // a header line
        }
        if (firstRow && header == CsvHeader::Yes) {
            fields = static_cast<int64_t>(cells.size());
            continue;
        }
        const std::string where = "line " + std::to_string(lineNo);
        // The field as written (a float would print label 999999999 as 1000000000.000000).
        const auto quoted = [&](size_t c) {
            std::string text = c < cells.size() ? cells[c] : std::string();
            if (text.size() > 40) text = text.substr(0, 40) + "…";
            return "'" + text + "'";
        };
        if (!numeric)
            throw DataError(path, where + ", column " + std::to_string(bad + 1) + ": " +
                                      quoted(bad) + " is not a number");
        if (fields < 0) fields = static_cast<int64_t>(row.size());
        if (static_cast<int64_t>(row.size()) != fields)
            throw DataError(path, where + ": " + std::to_string(row.size()) + " fields, expected " +
                                      std::to_string(fields));
        if (labelColumn >= fields)
            throw DataError(path, "label column " + std::to_string(labelColumn) +
                                      " does not exist (" + std::to_string(fields) + " columns)");
        if (fields < 2)
            throw DataError(path, "needs a label column and at least one feature column");
        for (size_t c = 0; c < row.size(); ++c) {
            if (!std::isfinite(row[c]))
                throw DataError(path, where + ", column " + std::to_string(c + 1) + ": " +
                                          quoted(c) + " is not a finite number");
            if (static_cast<int64_t>(c) == labelColumn) {
                if (row[c] < 0 || row[c] != std::floor(row[c]) || row[c] > 1e6)
                    throw DataError(path, where + ", column " + std::to_string(c + 1) + ": label " +
                                              quoted(c) +
                                              " is not a class index (an integer from 0 to "
                                              "1000000)");
                t.labels.push_back(static_cast<int64_t>(row[c]));
            } else {
                t.features.push_back(row[c]);
            }
        }
    }
    if (t.labels.empty()) throw DataError(path, "has no data rows");
    t.columns = fields - 1;
    return t;
}

std::vector<std::string> dataFiles(const DataOptions& data) {
    if (isTextData(data.format)) return textdata::files(data);
    if (data.format == DataFormat::Idx) {
        std::vector<std::string> files;
        for (const char* n : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
            files.push_back(firstExisting(data.path, n));
        return files;
    }
    if (data.format == DataFormat::Csv) {
        std::vector<std::string> files;
        for (const char* n : {"train.csv", "test.csv"}) {
            fs::path p = fs::path(data.path) / n;
            std::error_code ec;
            if (!fs::is_regular_file(p, ec)) throw DataError(p.string(), "no such file");
            files.push_back(p.string());
        }
        return files;
    }
    return {};
}

std::string fileStamp(const std::vector<std::string>& paths) {
    std::string out;
    for (const auto& p : paths) {
        std::error_code ec;
        const auto size = fs::file_size(p, ec);
        std::string one = p + "|";
        if (ec) {
            one += "missing";
        } else {
            const auto t = fs::last_write_time(p, ec).time_since_epoch().count();
            one += std::to_string(size) + "|" + std::to_string(ec ? 0 : t);
        }
        out += one + ";";
    }
    return out;
}

std::string dataStamp(const DataOptions& data) {
    if (data.format == DataFormat::Synthetic) return {};
    try {
        return fileStamp(dataFiles(data));
    } catch (const std::exception&) {
        // A file is missing: stamp the folder's candidates, so the stamp changes when it appears.
        std::vector<std::string> candidates;
        if (data.format == DataFormat::Text) return fileStamp({data.path, data.test_path});
        if (data.format == DataFormat::Wordnet)
            for (const char* n : {"data.noun", "data.verb", "data.adj", "data.adv"})
                candidates.push_back((fs::path(data.path) / n).string());
        for (const char* n :
             {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
              "t10k-labels-idx1-ubyte", "train.csv", "test.csv"})
            for (const char* ext : {"", ".gz"})
                candidates.push_back((fs::path(data.path) / (std::string(n) + ext)).string());
        return fileStamp(candidates);
    }
}

namespace {

int64_t maxLabel(const std::vector<int64_t>& labels) {
    return labels.empty() ? -1 : *std::max_element(labels.begin(), labels.end());
}

struct Raw {
    torch::Tensor trainX, testX;  // float32, [n, features]
    std::vector<int64_t> trainY, testY;
    std::vector<int64_t> shape;
    int64_t classes = 0;
    std::string fingerprint;
};

std::vector<int64_t> labelsOf(const IdxArray& a, const std::string& file) {
    if (a.dims.size() != 1)
        throw DataError(file, "a label file must have 1 dimension, this one has " +
                                  std::to_string(a.dims.size()));
    const int64_t n = a.values.numel();
    std::vector<int64_t> y(static_cast<size_t>(n));
    const float* v = a.values.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
        if (v[i] < 0 || v[i] != std::floor(v[i]))
            throw DataError(file, "label " + std::to_string(i) + " is not a class index");
        y[static_cast<size_t>(i)] = static_cast<int64_t>(v[i]);
    }
    return y;
}

/// FNV-1a over each file's bytes, read in chunks (never the whole file in memory).
std::string fileBytesHash(const std::vector<std::string>& files) {
    std::string all;
    std::vector<char> buf(1 << 20);
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        Fnv1a h;
        while (in) {
            in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
            h.update(buf.data(), static_cast<size_t>(in.gcount()));
        }
        all += std::to_string(h.value()) + ";";
    }
    return fnv1aHex(all);
}

std::vector<int64_t> reshaped(const DataOptions& d, int64_t features, const std::string& file) {
    if (d.shape.empty()) return {features};
    int64_t n = 1;
    for (int64_t e : d.shape) n *= e;
    if (n != features)
        throw DataError(file, "data.shape has " + std::to_string(n) + " elements but rows have " +
                                  std::to_string(features) + " features");
    return d.shape;
}

Raw readRaw(const DataOptions& d, int64_t seed, bool labelsOnly) {
    Raw r;
    if (d.format == DataFormat::Idx) {
        auto files = dataFiles(d);
        IdxArray ytr = readIdx(files[1]);
        r.trainY = labelsOf(ytr, files[1]);
        IdxArray yte = readIdx(files[3]);
        r.testY = labelsOf(yte, files[3]);
        r.classes = std::max(maxLabel(r.trainY), maxLabel(r.testY)) + 1;
        if (labelsOnly) {
            // Shape from the image header alone: 16 bytes, no full read.
            gzFile f = gzopen(files[0].c_str(), "rb");
            unsigned char h[20] = {};
            int n = f ? gzread(f, h, sizeof h) : -1;
            if (f) gzclose(f);
            if (n < 4 || h[0] != 0 || h[1] != 0)
                throw DataError(files[0], "wrong magic number (not an IDX file)");
            const int ndim = h[3];
            if (ndim < 2 || ndim > 4)
                throw DataError(files[0], "an image file needs 2 to 4 dimensions");
            if (n < 4 + 4 * ndim) throw DataError(files[0], "truncated IDX header");
            if (be32(h + 4) != r.trainY.size())
                throw DataError(files[0], "has " + std::to_string(be32(h + 4)) + " images but " +
                                              files[1] + " has " + std::to_string(r.trainY.size()) +
                                              " labels");
            for (int i = 1; i < ndim; ++i) r.shape.push_back(be32(h + 4 + 4 * i));
            if (r.shape.size() == 2) r.shape.insert(r.shape.begin(), 1);  // HxW -> 1xHxW
            return r;
        }
        IdxArray xtr = readIdx(files[0]);
        IdxArray xte = readIdx(files[2]);
        for (auto* pr : {&xtr, &xte}) {
            if (pr->dims.size() < 2)
                throw DataError(pr == &xtr ? files[0] : files[2],
                                "an image file needs 2 to 4 dimensions");
        }
        if (static_cast<size_t>(xtr.dims[0]) != r.trainY.size())
            throw DataError(files[0], "has " + std::to_string(xtr.dims[0]) + " images but " +
                                          files[1] + " has " + std::to_string(r.trainY.size()) +
                                          " labels");
        if (static_cast<size_t>(xte.dims[0]) != r.testY.size())
            throw DataError(files[2], "has " + std::to_string(xte.dims[0]) + " images but " +
                                          files[3] + " has " + std::to_string(r.testY.size()) +
                                          " labels");
        std::vector<int64_t> s(xtr.dims.begin() + 1, xtr.dims.end());
        const int64_t features = xtr.values.numel() / xtr.dims[0];
        std::vector<int64_t> st(xte.dims.begin() + 1, xte.dims.end());
        if (s != st)
            throw DataError(files[2],
                            "test images have a different shape from the training images");
        if (s.size() == 2) s.insert(s.begin(), 1);  // HxW -> 1xHxW
        r.shape = s;
        r.trainX = xtr.values.view({xtr.dims[0], features});
        r.testX = xte.values.view({xte.dims[0], features});
        r.fingerprint = fileBytesHash(files);
    } else if (d.format == DataFormat::Csv) {
        auto files = dataFiles(d);
        CsvTable tr = readCsv(files[0], d.label_column, d.header);
        CsvTable te = readCsv(files[1], d.label_column, d.header);
        if (tr.columns != te.columns)
            throw DataError(files[1], "has " + std::to_string(te.columns) + " feature columns, " +
                                          files[0] + " has " + std::to_string(tr.columns));
        r.shape = reshaped(d, tr.columns, files[0]);
        r.classes =
            d.classes > 0 ? d.classes : std::max(maxLabel(tr.labels), maxLabel(te.labels)) + 1;
        for (const auto* y : {&tr.labels, &te.labels})
            if (maxLabel(*y) >= r.classes)
                throw DataError(y == &tr.labels ? files[0] : files[1],
                                "label " + std::to_string(maxLabel(*y)) +
                                    " is not below data.classes = " + std::to_string(r.classes));
        if (r.classes < 2) throw DataError(files[0], "needs at least 2 classes");
        auto toTensor = [](std::vector<float>& v, int64_t cols) {
            return torch::from_blob(v.data(), {static_cast<int64_t>(v.size()) / cols, cols},
                                    torch::kFloat32)
                .clone();
        };
        r.trainX = toTensor(tr.features, tr.columns);
        r.trainY = std::move(tr.labels);
        r.testX = toTensor(te.features, te.columns);
        r.testY = std::move(te.labels);
        r.fingerprint = fileBytesHash(files);
    } else {  // synthetic: class prototypes plus Gaussian noise, all from the seed
        r.classes = d.classes > 0 ? d.classes : 10;
        r.shape = d.shape.empty() ? std::vector<int64_t>{1, 8, 8} : d.shape;
        if (labelsOnly) return r;
        int64_t f = 1;
        for (int64_t e : r.shape) f *= e;
        std::mt19937_64 rng(static_cast<uint64_t>(seed) * 7919 + 17);
        std::normal_distribution<float> n01(0.f, 1.f);
        std::uniform_int_distribution<int64_t> cls(0, r.classes - 1);
        std::vector<float> proto(static_cast<size_t>(r.classes * f));
        for (auto& v : proto) v = n01(rng);
        auto gen = [&](int64_t count, torch::Tensor& xt, std::vector<int64_t>& y) {
            xt = torch::empty({count, f}, torch::kFloat32);
            float* x = xt.data_ptr<float>();
            y.resize(static_cast<size_t>(count));
            for (int64_t i = 0; i < count; ++i) {
                y[i] = cls(rng);
                for (int64_t k = 0; k < f; ++k)
                    x[i * f + k] = proto[y[i] * f + k] + static_cast<float>(d.noise) * n01(rng);
            }
        };
        gen(d.train_samples, r.trainX, r.trainY);
        gen(d.test_samples, r.testX, r.testY);
        r.fingerprint = fnv1aHex(Json({{"synthetic", seed},
                                       {"classes", r.classes},
                                       {"shape", r.shape},
                                       {"n", {d.train_samples, d.test_samples}},
                                       {"noise", d.noise}})
                                     .dump());
    }
    if (labelsOnly) return r;
    if (r.trainY.empty()) throw DataError(d.path, "the training set is empty");
    if (r.testY.empty()) throw DataError(d.path, "the test set is empty");
    return r;
}

/// Mean and (unbiased) standard deviation of the training features, overall or per feature.
/// A plain sequential loop accumulating in double: the same float32 result whatever the thread
/// count (parallel float reductions round differently per thread count), at memory speed, and
/// without a full-size temporary.
std::pair<torch::Tensor, torch::Tensor> trainingStats(const torch::Tensor& xIn, bool perFeature) {
    const torch::Tensor x = xIn.contiguous();
    const int64_t rows = x.size(0), cols = x.numel() / std::max<int64_t>(1, rows);
    const float* p = x.data_ptr<float>();
    const int64_t groups = perFeature ? cols : 1;
    std::vector<double> sum(static_cast<size_t>(groups), 0.0), sq(static_cast<size_t>(groups), 0.0);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) sum[perFeature ? size_t(c) : 0] += p[r * cols + c];
    const double count = perFeature ? double(rows) : double(rows * cols);
    for (auto& v : sum) v /= count;  // now the means
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
            const double d = p[r * cols + c] - sum[perFeature ? size_t(c) : 0];
            sq[perFeature ? size_t(c) : 0] += d * d;
        }
    auto mean = torch::empty({groups}, torch::kFloat32),
         std = torch::empty({groups}, torch::kFloat32);
    for (int64_t g = 0; g < groups; ++g) {
        mean[g] = static_cast<float>(sum[size_t(g)]);
        std[g] = static_cast<float>(
            count > 1 ? std::max(1e-8, std::sqrt(sq[size_t(g)] / (count - 1))) : 1.0);
    }
    if (!perFeature) return {mean.reshape({}), std.reshape({})};
    return {mean.reshape({1, -1}), std.reshape({1, -1})};
}

}  // namespace

bool readsLabels(const DataOptions& data, Task task) {
    return task != Task::LanguageModel || data.format != DataFormat::Text;
}

DataShape probeData(const DataOptions& data, Task task) {
    if (isTextData(data.format)) return textdata::probe(data, task);
    if (data.format == DataFormat::Csv) {
        Raw r = readRaw(data, 0, false);
        return {r.shape, r.classes};
    }
    Raw r = readRaw(data, 0, true);
    return {r.shape, r.classes};
}

Dataset Dataset::to(const torch::Device& device) const {
    Dataset d = *this;
    for (torch::Tensor* t : {&d.train_x, &d.train_y, &d.val_x, &d.val_y, &d.test_x, &d.test_y})
        if (t->defined()) *t = t->to(device);
    return d;
}

Dataset languageModelData(const Dataset& text) {
    if (text.shape.vocab == 0 || text.shape.sample_shape.size() != 1)
        throw std::invalid_argument(
            "task language_model needs text data (data.format text or "
            "wordnet)");
    Dataset d = text;
    const int64_t width = text.shape.sample_shape[0];  // max_length: the position table's rows
    auto shift = [&](const torch::Tensor& x, torch::Tensor& xo, torch::Tensor& yo) {
        if (!x.defined() || x.dim() != 2) return;
        const int64_t n = x.size(0), cols = std::min(width, x.size(1) + 1);
        xo = torch::zeros({n, cols}, x.options());
        xo.slice(1, 0, std::min(cols, x.size(1))).copy_(x.slice(1, 0, std::min(cols, x.size(1))));
        if (n > 0) {
            // The end mark after the last real id, where the sample was not cut.
            const auto lengths = x.ne(0).sum(1);
            const auto pos = lengths.clamp_max(cols - 1).unsqueeze(1);
            const auto put =
                torch::where(lengths.lt(width).unsqueeze(1), torch::full_like(pos, Tokenizer::kCls),
                             xo.gather(1, pos));
            xo.scatter_(1, pos, put);
        }
        yo = torch::zeros_like(xo);
        if (cols > 1) yo.slice(1, 0, cols - 1).copy_(xo.slice(1, 1, cols));
    };
    shift(text.train_x, d.train_x, d.train_y);
    shift(text.val_x, d.val_x, d.val_y);
    shift(text.test_x, d.test_x, d.test_y);
    d.shape = taskShape(text.shape, Task::LanguageModel);
    d.fingerprint = text.fingerprint + "|language_model";
    return d;
}

torch::Tensor trimPadding(const torch::Tensor& x) {
    if (!x.defined() || x.is_floating_point() || x.dim() != 2 || x.size(0) == 0) return x;
    const int64_t longest = x.ne(0).sum(1).max().item<int64_t>();
    return longest < x.size(1) ? x.slice(1, 0, std::max<int64_t>(longest, 1)) : x;
}

Dataset loadDataset(const DataOptions& data, const TokenizerCache* tokenizers, Task task) {
    const int64_t seed = data.seed;
    if (isTextData(data.format)) return textdata::load(data, seed, tokenizers, task);
    Raw r = readRaw(data, seed, false);
    const int64_t nAll = static_cast<int64_t>(r.trainY.size());

    // Seeded shuffle of the training set: limit_train takes a random subset, validation its head.
    std::vector<int64_t> order(static_cast<size_t>(nAll));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(static_cast<uint64_t>(seed) * 1000003ULL + 12345);
    std::shuffle(order.begin(), order.end(), rng);
    int64_t n = data.limit_train > 0 ? std::min(data.limit_train, nAll) : nAll;
    order.resize(static_cast<size_t>(n));
    int64_t nVal =
        static_cast<int64_t>(std::floor(data.validation_fraction * static_cast<double>(n)));
    if (n - nVal < 1)
        throw DataError(data.path, "no training samples left after the validation split");

    auto allY = torch::from_blob(r.trainY.data(), {nAll}, torch::kInt64);
    Dataset ds;
    ds.shape = {r.shape, r.classes};
    if (n == nAll && nVal == 0) {
        // Every sample trains and none validates: the order does not matter (each epoch
        // shuffles), so the tensors are used as read, without a gathering copy.
        ds.train_x = r.trainX;
        ds.train_y = allY.clone();
        ds.val_x = r.trainX.slice(0, 0, 0);
        ds.val_y = ds.train_y.slice(0, 0, 0);
    } else {
        auto idx = torch::from_blob(order.data(), {n}, torch::kInt64);
        auto valIdx = idx.slice(0, 0, nVal);
        auto trIdx = idx.slice(0, nVal, n);
        ds.train_x = r.trainX.index_select(0, trIdx);
        ds.train_y = allY.index_select(0, trIdx);
        ds.val_x = r.trainX.index_select(0, valIdx);
        ds.val_y = allY.index_select(0, valIdx);
    }
    r.trainX = torch::Tensor();  // the gathered copy (if any) is all that stays
    if (data.limit_val > 0 && ds.val_x.size(0) > data.limit_val) {  // the first N of the split
        ds.val_x = ds.val_x.slice(0, 0, data.limit_val).contiguous();
        ds.val_y = ds.val_y.slice(0, 0, data.limit_val).clone();
    }
    int64_t nTest = static_cast<int64_t>(r.testY.size());
    if (data.limit_test > 0) nTest = std::min(nTest, data.limit_test);
    ds.test_x = r.testX.slice(0, 0, nTest).contiguous();
    ds.test_y =
        torch::from_blob(r.testY.data(), {static_cast<int64_t>(r.testY.size())}, torch::kInt64)
            .slice(0, 0, nTest)
            .clone();

    // Normalization from training statistics only.
    Normalization norm = data.normalize;
    if (norm == Normalization::Auto)
        norm = data.format == DataFormat::Csv ? Normalization::PerFeature : Normalization::Global;
    // In place: the tensors are owned here (gathered, sliced-and-copied or freshly read).
    // Statistics in float64, so that they come out the same whatever the thread count.
    auto statsJson = [](const torch::Tensor& t) -> Json {
        auto flat = t.to(torch::kFloat64).contiguous().flatten();
        if (flat.numel() == 1) return flat.item<double>();
        const double* p = flat.data_ptr<double>();
        return std::vector<double>(p, p + flat.numel());
    };
    ds.normalization = {{"mode", norm}};
    if (norm == Normalization::Global || norm == Normalization::PerFeature) {
        auto [mean, std] = trainingStats(ds.train_x, norm == Normalization::PerFeature);
        for (torch::Tensor* t : {&ds.train_x, &ds.val_x, &ds.test_x}) t->sub_(mean).div_(std);
        ds.normalization["mean"] = statsJson(mean);
        ds.normalization["std"] = statsJson(std);
    }
    std::vector<int64_t> full{-1};
    full.insert(full.end(), r.shape.begin(), r.shape.end());
    for (torch::Tensor* t : {&ds.train_x, &ds.val_x, &ds.test_x})
        *t = t->reshape(full).contiguous();
    Json prepared = {{"seed", seed},
                     {"limit_train", data.limit_train},
                     {"limit_test", data.limit_test},
                     {"validation_fraction", data.validation_fraction},
                     {"normalize", norm},
                     {"label_column", data.label_column},
                     {"shape", data.shape}};
    if (data.limit_val > 0) prepared["limit_val"] = data.limit_val;  // keys stored before stay
    ds.fingerprint = fnv1aHex(r.fingerprint + "|" + prepared.dump());
    return ds;
}

}  // namespace retort

#include "models/compressedmodel.h"

#include "compress/quantizer.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace retort {

namespace {

constexpr char kMagic[4] = {'R', 'T', 'C', 'M'};
// 2 adds each tensor's group size (u32 after its scales) and the n:m layout; 1 is still read.
constexpr uint8_t kVersion = 2;
constexpr int64_t kMaxElements = int64_t(1) << 30;  // per file: refuse absurd dimensions

int64_t valueBytes(int64_t count, int bits) {
    return (count * bits + 7) / 8;
}

uint8_t widthFor(uint64_t maxValue) {
    if (maxValue <= 0xFF) return 1;
    if (maxValue <= 0xFFFF) return 2;
    return 4;
}

class Writer {
public:
    void u8(uint8_t v) { m_b.push_back(static_cast<char>(v)); }
    void uint(uint64_t v, int width) {
        for (int i = 0; i < width; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
    }
    void u16(uint16_t v) { uint(v, 2); }
    void u32(uint32_t v) { uint(v, 4); }
    void f32(float f) {
        uint32_t u;
        std::memcpy(&u, &f, 4);
        u32(u);
    }
    void bytes(const std::string& s) { m_b += s; }
    std::string& data() { return m_b; }

private:
    std::string m_b;
};

class Reader {
public:
    explicit Reader(const std::string& b, size_t end) : m_b(b), m_end(end) {}
    void need(size_t n) const {
        if (n > m_end - m_pos)
            throw FormatError("truncated compressed model (needs " + std::to_string(n) +
                              " more bytes at offset " + std::to_string(m_pos) + ")");
    }
    uint64_t uint(int width) {
        need(static_cast<size_t>(width));
        uint64_t v = 0;
        for (int i = 0; i < width; ++i)
            v |= uint64_t(static_cast<uint8_t>(m_b[m_pos + i])) << (8 * i);
        m_pos += static_cast<size_t>(width);
        return v;
    }
    uint8_t u8() { return static_cast<uint8_t>(uint(1)); }
    uint32_t u32() { return static_cast<uint32_t>(uint(4)); }
    float f32() {
        uint32_t u = u32();
        float f;
        std::memcpy(&f, &u, 4);
        return f;
    }
    std::string bytes(size_t n) {
        need(n);
        std::string s = m_b.substr(m_pos, n);
        m_pos += n;
        return s;
    }
    size_t remaining() const { return m_end - m_pos; }
    size_t pos() const { return m_pos; }

private:
    const std::string& m_b;
    size_t m_end;
    size_t m_pos = 0;
};

void writeValues(Writer& w, const torch::Tensor& flatValues, int bits) {
    const int64_t n = flatValues.numel();
    if (bits == 32) {
        auto v = flatValues.to(torch::kFloat32).contiguous();
        const float* p = v.data_ptr<float>();
        for (int64_t i = 0; i < n; ++i) w.f32(p[i]);
        return;
    }
    auto v = flatValues.to(torch::kInt8).contiguous();
    const int8_t* p = v.data_ptr<int8_t>();
    if (bits == 8) {
        for (int64_t i = 0; i < n; ++i) w.u8(static_cast<uint8_t>(p[i]));
        return;
    }
    for (int64_t i = 0; i < n; i += 2) {  // 4 bits: two's-complement nibbles, low nibble first
        uint8_t lo = static_cast<uint8_t>(p[i]) & 0x0F;
        uint8_t hi = i + 1 < n ? (static_cast<uint8_t>(p[i + 1]) & 0x0F) : 0;
        w.u8(static_cast<uint8_t>(lo | (hi << 4)));
    }
}

torch::Tensor readValues(Reader& r, int64_t n, int bits) {
    r.need(static_cast<size_t>(valueBytes(n, bits)));
    if (bits == 32) {
        auto t = torch::empty({n}, torch::kFloat32);
        float* p = t.data_ptr<float>();
        for (int64_t i = 0; i < n; ++i) {
            p[i] = r.f32();
            if (!std::isfinite(p[i])) throw FormatError("a stored value is not finite");
        }
        return t;
    }
    auto t = torch::empty({n}, torch::kInt8);
    int8_t* p = t.data_ptr<int8_t>();
    const int qmax = (1 << (bits - 1)) - 1;
    if (bits == 8) {
        for (int64_t i = 0; i < n; ++i) p[i] = static_cast<int8_t>(r.u8());
    } else {
        for (int64_t i = 0; i < n; i += 2) {
            uint8_t b = r.u8();
            auto nib = [](uint8_t x) {
                return static_cast<int8_t>((x & 0x08) ? int(x) - 16 : int(x));
            };
            p[i] = nib(b & 0x0F);
            if (i + 1 < n) p[i + 1] = nib(static_cast<uint8_t>(b >> 4));
        }
    }
    for (int64_t i = 0; i < n; ++i)
        if (p[i] < -qmax || p[i] > qmax)
            throw FormatError("a stored code is outside its bit width");
    return t;
}

}  // namespace

torch::Tensor CompressedTensor::dequantized() const {
    if (bits == 32) return values.to(torch::kFloat32);
    return dequantizeCodes(values, scales, groupSize);
}

namespace {

int positionBits(int m) {
    int b = 0;
    while ((1 << b) < m) ++b;
    return b;
}

/// Bytes of the n:m layout of a [rows, cols] tensor at @p bits, or -1 when it does not apply.
/// The n:m layout's bytes for a [rows, cols] tensor: n and m, each group's n positions, their
/// values; -1 where the layout does not apply (cols not a multiple of m).
int64_t nmLayoutBytes(int64_t rows, int64_t cols, int n, int m, int bits) {
    if (n <= 0 || m <= n || rows <= 0 || cols % m != 0) return -1;
    const int64_t slots = rows * (cols / m) * n;
    return 2 + (slots * positionBits(m) + 7) / 8 + valueBytes(slots, bits);
}

int64_t nmBytes(const torch::Tensor& flat, int64_t rows, int64_t cols, int n, int m, int bits) {
    const int64_t bytes = nmLayoutBytes(rows, cols, n, m, bits);
    if (bytes < 0) return -1;
    const auto perGroup = (flat.view({rows, cols / m, m}) != 0).sum(2);
    if ((perGroup > n).any().item<bool>()) return -1;
    return bytes;
}

}  // namespace

std::string writeCompressedModel(CompressedModel& model) {
    Writer w;
    for (char c : kMagic) w.u8(static_cast<uint8_t>(c));
    w.u8(kVersion);
    const std::string json = model.model.dump();
    w.u32(static_cast<uint32_t>(json.size()));
    w.bytes(json);
    w.u32(static_cast<uint32_t>(model.tensors.size()));
    for (auto& t : model.tensors) {
        const size_t start = w.data().size();
        auto flat = t.values.detach().to(torch::kCPU).contiguous().flatten();
        const int64_t n = flat.numel();
        auto nzMask = flat != 0;
        const int64_t nnz = nzMask.sum().item<int64_t>();
        const int64_t rows = t.shape.empty() ? 1 : t.shape[0];
        const int64_t cols = rows ? n / rows : 0;
        const uint8_t rw = widthFor(static_cast<uint64_t>(nnz)),
                      cw = widthFor(static_cast<uint64_t>(cols ? cols - 1 : 0));
        const int64_t dense = valueBytes(n, t.bits);
        const int64_t bitmap = (n + 7) / 8 + valueBytes(nnz, t.bits);
        const int64_t csr = 2 + (rows + 1) * rw + nnz * cw + valueBytes(nnz, t.bits);
        const int64_t nm = nmBytes(flat, rows, cols, t.nmN, t.nmM, t.bits);
        t.index = SparseIndex::None;
        if (bitmap < dense && bitmap <= csr)
            t.index = SparseIndex::Bitmap;
        else if (csr < dense && csr < bitmap)
            t.index = SparseIndex::Csr;
        // An n:m tensor is stored in its natural form (values plus positions per group) unless
        // dense is smaller; a bitmap would be as large for 2:4, but is not what runs on n:m
        // kernels.
        if (nm >= 0 && nm <= dense) t.index = SparseIndex::NM;

        w.u16(static_cast<uint16_t>(t.name.size()));
        w.bytes(t.name);
        w.u8(static_cast<uint8_t>(t.shape.size()));
        for (int64_t d : t.shape) w.u32(static_cast<uint32_t>(d));
        w.u8(static_cast<uint8_t>(t.bits));
        w.u8(static_cast<uint8_t>(t.index));
        const int64_t nScales = t.bits == 32 ? 0 : t.scales.numel();
        w.u32(static_cast<uint32_t>(nScales));
        if (nScales) {
            auto s = t.scales.to(torch::kCPU).to(torch::kFloat32).contiguous();
            for (int64_t i = 0; i < nScales; ++i) w.f32(s.data_ptr<float>()[i]);
        }
        w.u32(static_cast<uint32_t>(t.bits == 32 ? 0 : t.groupSize));
        if (t.index == SparseIndex::None) {
            writeValues(w, flat, t.bits);
        } else if (t.index == SparseIndex::NM) {
            // Each group's n slots: its nonzeros' positions, padded with zero-valued positions.
            const int n = t.nmN, m = t.nmM, pb = positionBits(m);
            w.u8(static_cast<uint8_t>(n));
            w.u8(static_cast<uint8_t>(m));
            const auto nzFlat = nzMask.to(torch::kUInt8).contiguous();
            const uint8_t* nzp = nzFlat.data_ptr<uint8_t>();
            const int64_t groups = n ? rows * (cols / m) : 0;
            std::vector<int64_t> slots;
            slots.reserve(size_t(groups * n));
            for (int64_t g = 0; g < groups; ++g) {
                const int64_t base = g * m;
                int64_t taken = 0;
                for (int64_t k = 0; k < m && taken < n; ++k)
                    if (nzp[base + k]) slots.push_back(base + k), ++taken;
                for (int64_t k = 0; k < m && taken < n; ++k)
                    if (!nzp[base + k]) slots.push_back(base + k), ++taken;
            }
            // Positions in slot order, packed low bits first; sorted within a group.
            uint32_t acc = 0;
            int filled = 0;
            for (size_t i = 0; i < slots.size(); i += size_t(n)) {
                std::sort(slots.begin() + long(i), slots.begin() + long(i) + n);
                for (int k = 0; k < n; ++k) {
                    acc |= uint32_t(slots[i + size_t(k)] % m) << filled;
                    filled += pb;
                    while (filled >= 8) {
                        w.u8(static_cast<uint8_t>(acc & 0xFF));
                        acc >>= 8;
                        filled -= 8;
                    }
                }
            }
            if (filled > 0) w.u8(static_cast<uint8_t>(acc & 0xFF));
            writeValues(w, flat.index_select(0, torch::tensor(slots, torch::kLong)), t.bits);
        } else {
            auto m = nzMask.to(torch::kUInt8).contiguous();
            const uint8_t* mp = m.data_ptr<uint8_t>();
            if (t.index == SparseIndex::Bitmap) {
                for (int64_t i = 0; i < n; i += 8) {
                    uint8_t b = 0;
                    for (int64_t k = 0; k < 8 && i + k < n; ++k)
                        b |= static_cast<uint8_t>(mp[i + k] << k);
                    w.u8(b);
                }
            } else {
                w.u8(rw);
                w.u8(cw);
                int64_t count = 0;
                w.uint(0, rw);
                for (int64_t r = 0; r < rows; ++r) {
                    for (int64_t c = 0; c < cols; ++c) count += mp[r * cols + c];
                    w.uint(static_cast<uint64_t>(count), rw);
                }
                for (int64_t i = 0; i < n; ++i)
                    if (mp[i]) w.uint(static_cast<uint64_t>(i % cols), cw);
            }
            writeValues(w, flat.masked_select(nzMask), t.bits);
        }
        t.bytes = static_cast<int64_t>(w.data().size() - start);
    }
    const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(w.data().data()),
                            static_cast<uInt>(w.data().size()));
    w.u32(static_cast<uint32_t>(crc));
    return w.data();
}

int64_t estimateCompressedSize(size_t descriptionBytes, const std::vector<TensorLayout>& tensors,
                               double sparsity, int bits, bool perChannel) {
    // magic, version, description length and text, tensor count, CRC
    int64_t total = 4 + 1 + 4 + int64_t(descriptionBytes) + 4 + 4;
    for (const auto& t : tensors) {
        int64_t n = 1;
        for (int64_t d : t.shape) n *= d;
        const int b = !t.compressible ? 32 : t.bits > 0 ? t.bits : bits;
        const double sp = t.sparsity >= 0 ? t.sparsity : t.nmN > 0 ? 0.0 : sparsity;
        const int64_t nnz =
            t.compressible ? n - static_cast<int64_t>(std::llround(sp * double(n))) : n;
        const int64_t rows = t.shape.empty() ? 1 : t.shape[0];
        const int64_t cols = rows ? n / rows : 0;
        const int64_t dense = valueBytes(n, b);
        const int64_t bitmap = (n + 7) / 8 + valueBytes(nnz, b);
        const int64_t csr = 2 + (rows + 1) * widthFor(uint64_t(nnz)) +
                            nnz * widthFor(uint64_t(cols ? cols - 1 : 0)) + valueBytes(nnz, b);
        const int64_t scales = b == 32 ? 0
                               : t.groupSize > 0
                                   ? rows * ((cols + t.groupSize - 1) / t.groupSize) * 4
                                   : (perChannel ? rows : 1) * 4;
        int64_t body = std::min({dense, bitmap, csr});
        if (t.compressible && t.nmN > 0) {
            // The writer keeps an n:m tensor in its own layout unless dense is smaller; a layer
            // whose inputs are not a multiple of m stays dense.
            const int64_t nm = nmLayoutBytes(rows, cols, t.nmN, t.nmM, b);
            body = nm >= 0 ? std::min(dense, nm) : dense;
        }
        // name length and name, rank and dims, bits, index kind, scale count and scales, group
        total += 2 + int64_t(t.name.size()) + 1 + 4 * int64_t(t.shape.size()) + 1 + 1 + 4 + scales +
                 4 + body;
    }
    return total;
}

CompressedModel readCompressedModel(const std::string& bytes) {
    if (bytes.size() < 4 + 1 + 4 + 4 + 4 || std::memcmp(bytes.data(), kMagic, 4) != 0)
        throw FormatError("not a Retort compressed model (wrong magic number)");
    const size_t body = bytes.size() - 4;
    Reader tail(bytes, bytes.size());
    const uLong crc =
        crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(body));
    uint32_t stored = 0;
    for (int i = 0; i < 4; ++i)
        stored |= uint32_t(static_cast<uint8_t>(bytes[body + i])) << (8 * i);
    if (stored != static_cast<uint32_t>(crc))
        throw FormatError("checksum mismatch (the file is corrupt)");

    Reader r(bytes, body);
    r.bytes(4);
    const uint8_t version = r.u8();
    if (version != kVersion && version != 1)
        throw FormatError("compressed model version " + std::to_string(version) +
                          " is not supported");
    CompressedModel m;
    const uint32_t jsonLen = r.u32();
    try {
        m.model = Json::parse(r.bytes(jsonLen));
    } catch (const Json::exception& e) {
        throw FormatError(std::string("model description is not valid JSON: ") + e.what());
    }
    const uint32_t count = r.u32();
    if (count > r.remaining() / 8) throw FormatError("tensor count exceeds what the file holds");
    // Sparse layouts let a small file describe many elements; allow up to 1,024 per stored byte
    // (a 99.9 %-sparse model) and no more, so a crafted file cannot make us allocate gigabytes.
    const int64_t maxElements =
        std::min<int64_t>(kMaxElements, int64_t(1) << 20 | int64_t(bytes.size()) * 1024);
    int64_t total = 0;
    for (uint32_t ti = 0; ti < count; ++ti) {
        const size_t start = r.pos();
        CompressedTensor t;
        const uint32_t nameLen = static_cast<uint32_t>(r.uint(2));
        t.name = r.bytes(nameLen);
        const uint8_t ndim = r.u8();
        if (ndim > 6)
            throw FormatError("tensor '" + t.name + "' has " + std::to_string(ndim) +
                              " dimensions");
        int64_t n = 1;
        for (uint8_t d = 0; d < ndim; ++d) {
            const int64_t e = r.u32();
            t.shape.push_back(e);
            if (e > maxElements)
                throw FormatError("tensor '" + t.name +
                                  "' has a dimension larger than the file can describe");
            n *= e;
            if (n > maxElements)
                throw FormatError("tensor '" + t.name + "' is larger than the file can describe");
        }
        total += n;
        if (total > maxElements)
            throw FormatError("the model is larger than the file can describe");
        t.bits = r.u8();
        if (t.bits != 32 && t.bits != 8 && t.bits != 4)
            throw FormatError("tensor '" + t.name + "' has unsupported bit width " +
                              std::to_string(t.bits));
        const uint8_t idx = r.u8();
        if (idx > (version >= 2 ? 3 : 2))
            throw FormatError("tensor '" + t.name + "' has an unknown index kind");
        t.index = static_cast<SparseIndex>(idx);
        const uint32_t nScales = r.u32();
        r.need(size_t(nScales) * 4);
        t.scales = torch::empty({int64_t(nScales)}, torch::kFloat32);
        for (uint32_t i = 0; i < nScales; ++i) {
            float s = r.f32();
            if (!std::isfinite(s) || s <= 0)
                throw FormatError("tensor '" + t.name + "' has an invalid scale");
            t.scales.data_ptr<float>()[i] = s;
        }
        const int64_t rows0 = t.shape.empty() ? 1 : t.shape[0];
        const int64_t cols0 = rows0 ? n / rows0 : 0;
        if (version >= 2) t.groupSize = r.u32();
        if (t.groupSize > 0 && (t.bits == 32 || t.groupSize > std::max<int64_t>(1, cols0)))
            throw FormatError("tensor '" + t.name + "' has an invalid group size");
        const bool okScales =
            t.bits == 32 ? nScales == 0
            : t.groupSize > 0
                ? int64_t(nScales) == rows0 * ((cols0 + t.groupSize - 1) / t.groupSize)
                : (nScales == 1 || (!t.shape.empty() && nScales == t.shape[0]));
        if (!okScales)
            throw FormatError("tensor '" + t.name + "' has " + std::to_string(nScales) + " scales");
        if (t.groupSize > 0) t.scales = t.scales.view({rows0, -1});
        const auto valueType = t.bits == 32 ? torch::kFloat32 : torch::kInt8;
        if (t.index == SparseIndex::None) {
            t.values = readValues(r, n, t.bits);
        } else if (t.index == SparseIndex::NM) {
            t.nmN = r.u8();
            t.nmM = r.u8();
            if (t.nmN <= 0 || t.nmM <= t.nmN || t.nmM > 64 || cols0 % t.nmM != 0)
                throw FormatError("tensor '" + t.name + "' has an invalid n:m layout");
            const int pb = positionBits(t.nmM);
            const int64_t groups = rows0 * (cols0 / t.nmM), slots = groups * t.nmN;
            r.need(static_cast<size_t>((slots * pb + 7) / 8));
            std::vector<int64_t> positions(static_cast<size_t>(slots));
            uint32_t acc = 0;
            int filled = 0;
            for (int64_t i = 0; i < slots; ++i) {
                while (filled < pb) {
                    acc |= uint32_t(r.u8()) << filled;
                    filled += 8;
                }
                const int64_t pos = acc & ((1u << pb) - 1);
                acc >>= pb;
                filled -= pb;
                const int64_t g = i / t.nmN;
                if (pos >= t.nmM || (i % t.nmN && g * t.nmM + pos <= positions[size_t(i - 1)]))
                    throw FormatError("tensor '" + t.name + "' has an invalid n:m position");
                positions[size_t(i)] = g * t.nmM + pos;
            }
            auto nz = readValues(r, slots, t.bits);
            t.values = torch::zeros({n}, valueType);
            if (slots) t.values.index_put_({torch::tensor(positions, torch::kInt64)}, nz);
        } else {
            std::vector<int64_t> positions;
            if (t.index == SparseIndex::Bitmap) {
                r.need(static_cast<size_t>((n + 7) / 8));
                for (int64_t i = 0; i < n; i += 8) {
                    const uint8_t b = r.u8();
                    for (int64_t k = 0; k < 8 && i + k < n; ++k)
                        if (b & (1u << k)) positions.push_back(i + k);
                    if (i + 8 >= n && (b >> (n - i)) != 0 && n - i < 8)
                        throw FormatError("tensor '" + t.name + "' has bitmap bits past its end");
                }
            } else {
                const int64_t rows = t.shape.empty() ? 1 : t.shape[0];
                const int64_t cols = rows ? n / rows : 0;
                const int rw = r.u8(), cw = r.u8();
                if ((rw != 1 && rw != 2 && rw != 4) || (cw != 1 && cw != 2 && cw != 4))
                    throw FormatError("tensor '" + t.name + "' has invalid index widths");
                r.need(static_cast<size_t>((rows + 1) * rw));
                std::vector<int64_t> ptr(static_cast<size_t>(rows + 1));
                for (auto& p : ptr) p = static_cast<int64_t>(r.uint(rw));
                if (ptr[0] != 0)
                    throw FormatError("tensor '" + t.name +
                                      "' has a CSR row pointer not starting at 0");
                for (int64_t i = 0; i < rows; ++i)
                    if (ptr[i + 1] < ptr[i] || ptr[i + 1] - ptr[i] > cols)
                        throw FormatError("tensor '" + t.name +
                                          "' has inconsistent CSR row pointers");
                const int64_t nnz = ptr.back();
                r.need(static_cast<size_t>(nnz * cw));
                for (int64_t row = 0; row < rows; ++row) {
                    int64_t prev = -1;
                    for (int64_t k = ptr[row]; k < ptr[row + 1]; ++k) {
                        const int64_t c = static_cast<int64_t>(r.uint(cw));
                        if (c >= cols || c <= prev)
                            throw FormatError("tensor '" + t.name +
                                              "' has an invalid CSR column index");
                        prev = c;
                        positions.push_back(row * cols + c);
                    }
                }
            }
            const int64_t nnz = static_cast<int64_t>(positions.size());
            auto nz = readValues(r, nnz, t.bits);
            t.values = torch::zeros({n}, valueType);
            if (nnz) t.values.index_put_({torch::tensor(positions, torch::kInt64)}, nz);
        }
        t.values = t.values.view(t.shape);
        t.bytes = static_cast<int64_t>(r.pos() - start);
        m.tensors.push_back(std::move(t));
    }
    if (r.remaining() != 0) throw FormatError("unexpected bytes after the last tensor");
    return m;
}

}  // namespace retort

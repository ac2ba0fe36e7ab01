#include "store/resultcolumns.h"

#include <cstdio>
#include <iomanip>
#include <set>
#include <sstream>

namespace retort {

const std::vector<ResultColumn>& resultColumns() {
    static const std::vector<ResultColumn> columns = {
        {"test_accuracy", "test_acc", "Test acc.", ResultKind::Fraction, 4},
        {"test_macro_f1", "test_f1", "Test macro-F1", ResultKind::Fraction, 4},
        // Language models (task language_model): exp of the mean next-token cross-entropy.
        {"test_perplexity", "test_ppl", "Test perplexity", ResultKind::Number, 2},
        {"teacher_test_accuracy", "teacher_acc", "Teacher acc.", ResultKind::Fraction, 4},
        {"param_count", "params", "Params", ResultKind::Count, 0},
        // What the student's training updated (train.finetune), and its share of the model.
        {"trainable_params", "trainable", "Trainable", ResultKind::Count, 0, false},
        {"trainable_share", "trainable_share", "Trainable share", ResultKind::Fraction, 3, false,
         true, false},
        {"nonzero_params", "nonzero", "Nonzero", ResultKind::Count, 0},
        {"size_bytes", "size_B", "Dense size", ResultKind::Bytes, 0},
        {"compressed_size_bytes", "compr_B", "Compressed", ResultKind::Bytes, 0},
        {"compression_ratio", "ratio", "Ratio", ResultKind::Ratio, 2},
        {"sparsity", "sparsity", "Sparsity", ResultKind::Fraction, 3, false, false, true},
        {"latency_ms", "latency_ms", "Latency", ResultKind::Milliseconds, 3},
        // The form a user would run (the rebuilt smaller model after structured pruning).
        {"latency_ms_deployed", "deployed_ms", "Deployed lat.", ResultKind::Milliseconds, 3},
    };
    return columns;
}

const Json* resultValue(const RunRecord& run, const ResultColumn& column) {
    if (!run.results.is_object()) return nullptr;
    const auto it = run.results.find(column.key);
    return it == run.results.end() || it->is_null() ? nullptr : &*it;
}

std::string rawResultText(const Json* v, int precision) {
    if (!v || v->is_null()) return "-";
    if (v->is_number_integer() || v->is_number_unsigned()) return std::to_string(v->get<int64_t>());
    if (v->is_number()) {
        std::ostringstream os;
        os << std::fixed << std::setprecision(precision) << v->get<double>();
        return os.str();
    }
    return v->is_string() ? v->get<std::string>() : v->dump();
}

namespace {

std::string fixed(double d, int precision) {
    std::ostringstream os;
    os << std::fixed << std::setprecision(precision) << d;
    return os.str();
}

/// 1234567 as "1,234,567".
std::string grouped(long long n) {
    std::string digits = std::to_string(n < 0 ? -n : n), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

}  // namespace

std::string humanResultText(const Json* v, ResultKind kind) {
    if (!v || !v->is_number()) return "–";
    const double d = v->get<double>();
    switch (kind) {
        case ResultKind::Fraction:
            return fixed(d * 100, 2) + " %";
        case ResultKind::Count:
            return grouped(static_cast<long long>(d));
        case ResultKind::Bytes:
            return formatBytes(d);
        case ResultKind::Ratio:
            return fixed(d, 1) + "×";
        case ResultKind::Milliseconds:
            return fixed(d, 3) + " ms";
        case ResultKind::Number:
            return fixed(d, 2);
    }
    return "–";
}

EpochTable epochTable(const std::vector<MetricPoint>& metrics) {
    EpochTable t;
    std::set<std::string> names;
    for (const auto& m : metrics) {
        t.rows[m.epoch][m.name] = m.value;
        names.insert(m.name);
    }
    t.names.assign(names.begin(), names.end());
    return t;
}

std::string formatBytes(double b) {
    if (b < 1024) return fixed(b, 0) + " B";
    if (b < 1024 * 1024) return fixed(b / 1024, 1) + " KiB";
    return fixed(b / (1024 * 1024), 2) + " MiB";
}

std::string sweptText(const RunRecord& run) {
    std::string out;
    for (auto it = run.params.begin(); it != run.params.end(); ++it) {
        const std::string leaf = it.key().substr(it.key().rfind('.') + 1);
        out += (out.empty() ? "" : ", ") + leaf + "=" + formatValue(it.value());
    }
    return out;
}

}  // namespace retort

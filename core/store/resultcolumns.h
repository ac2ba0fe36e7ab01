#pragma once

#include "store/projectstore.h"

#include <map>
#include <string>
#include <vector>

namespace retort {

/// What a result value is, for formatting.
enum class ResultKind {
    Fraction,      ///< 0..1 shown as a percentage in tables for people (accuracies)
    Count,         ///< an integer count (parameters)
    Bytes,         ///< a size in bytes
    Ratio,         ///< a dimensionless ratio (compression ratio, sparsity)
    Milliseconds,  ///< a duration in milliseconds
    Number,        ///< a plain number (perplexity: lower is better)
};

/// One column of the results tables. The CLI's `list`, the workbench's runs table and the report
/// show these, each where its flag says: the one list all three derive their columns from.
struct ResultColumn {
    const char* key;        ///< key in a run's results ("test_accuracy")
    const char* cli;        ///< `retort-cli list` header ("test_acc")
    const char* title;      ///< header in the workbench and the report ("Test acc.")
    ResultKind kind;        ///< how its values are formatted
    int precision;          ///< decimals of the raw value (CLI, report)
    bool in_cli = true;     ///< shown by `retort-cli list`
    bool in_table = true;   ///< shown in the workbench's runs table
    bool in_report = true;  ///< shown in the report's results table
};

/// The result columns, in the order every table shows them.
const std::vector<ResultColumn>& resultColumns();

/// The value of @p column in @p run's results; nullptr when the run has none.
const Json* resultValue(const RunRecord& run, const ResultColumn& column);

/// A value as raw text with @p precision decimals (integers as integers), "-" for none.
std::string rawResultText(const Json* value, int precision);

/// A value for people: "88.35 %", "12.3 KiB", "1,234", "8.1×", "0.123 ms"; "–" for none.
std::string humanResultText(const Json* value, ResultKind kind);

/// A run's per-epoch metrics as a table: one row an epoch, one column a metric name.
struct EpochTable {
    std::vector<std::string> names;                         ///< metric names, sorted
    std::map<int64_t, std::map<std::string, double>> rows;  ///< epoch -> name -> value
};

/// Pivots @p metrics (long form) into an EpochTable.
EpochTable epochTable(const std::vector<MetricPoint>& metrics);

/// "12.3 KiB"-style size text (B, KiB, MiB).
std::string formatBytes(double bytes);

/// The swept values of a run as "temperature=4, lambda=0.9" (leaf keys).
std::string sweptText(const RunRecord& run);

}  // namespace retort

#pragma once

// What retort-cli prints: result tables on stdout, progress and warnings on stderr.

#include "spec/experimentspec.h"
#include "store/projectstore.h"
#include "train/progress.h"

#include <ostream>
#include <string>
#include <vector>

namespace retort::cli {

/// A JSON value as a table cell: numbers with @p precision decimals, "-" for null.
std::string num(const Json& v, int precision = 4);

/// The runs as an aligned table: id, status, name and the CLI's result columns.
void printTable(const std::vector<RunRecord>& runs, std::ostream& out);

/// Prints each distinct warning of the points once, to stderr.
void printWarnings(const std::vector<RunPoint>& points);

/// Progress on stderr: a bar on a terminal, a line per epoch and stage.
class ProgressPrinter {
public:
    explicit ProgressPrinter(size_t runs);
    void setRun(size_t index) { m_index = index; }
    void operator()(const Progress& p);
    void clear();

private:
    size_t m_runs, m_index = 0;
    bool m_tty, m_dirty = false;
};

}  // namespace retort::cli

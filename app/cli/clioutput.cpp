#include "clioutput.h"

#include "store/resultcolumns.h"

#include <unistd.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

namespace retort::cli {

std::string num(const Json& v, int precision) {
    if (v.is_null()) return "-";
    if (v.is_number_integer() || v.is_number_unsigned()) return std::to_string(v.get<int64_t>());
    if (v.is_number()) {
        std::ostringstream os;
        os << std::fixed << std::setprecision(precision) << v.get<double>();
        return os.str();
    }
    return v.is_string() ? v.get<std::string>() : v.dump();
}

void printTable(const std::vector<RunRecord>& runs, std::ostream& out) {
    std::vector<const ResultColumn*> columns;
    for (const auto& c : resultColumns())
        if (c.in_cli) columns.push_back(&c);
    std::vector<std::string> head = {"id", "status", "name"};
    for (const ResultColumn* c : columns) head.push_back(c->cli);
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : runs) {
        std::vector<std::string> row = {std::to_string(r.id), statusName(r.status), r.name};
        for (const ResultColumn* c : columns)
            row.push_back(rawResultText(resultValue(r, *c), c->precision));
        rows.push_back(std::move(row));
    }
    std::vector<size_t> w(head.size());
    for (size_t c = 0; c < head.size(); ++c) {
        w[c] = head[c].size();
        for (const auto& row : rows) w[c] = std::max(w[c], row[c].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
        for (size_t c = 0; c < cells.size(); ++c) {
            const bool left = c == 1 || c == 2;
            out << (c ? "  " : "") << (left ? std::left : std::right)
                << std::setw(static_cast<int>(w[c])) << cells[c];
        }
        out << "\n";
    };
    line(head);
    for (const auto& row : rows) line(row);
}

/// Prints each distinct warning of the points once, to stderr.
void printWarnings(const std::vector<RunPoint>& points) {
    std::set<std::string> seen;
    for (const auto& p : points)
        for (const auto& w : p.spec.warnings())
            if (seen.insert(w.key + w.message).second)
                std::cerr << "warning: " << w.key << ": " << w.message << "\n";
}

ProgressPrinter::ProgressPrinter(size_t runs) : m_runs(runs), m_tty(isatty(STDERR_FILENO)) {}

void ProgressPrinter::operator()(const Progress& p) {
    const std::string prefix =
        "[run " + std::to_string(m_index + 1) + "/" + std::to_string(m_runs) + "] ";
    if (p.kind == Progress::Kind::Message) {
        clear();
        std::cerr << prefix << p.message << "\n";
    } else if (p.kind == Progress::Kind::Batch && m_tty) {
        const int width = 24;
        const double frac = double(p.batch) / double(std::max<int64_t>(1, p.batches));
        const int fill = static_cast<int>(frac * width);
        std::ostringstream os;
        os << "\r" << prefix << p.stage << " epoch " << p.epoch << "/" << p.epochs << " ["
           << std::string(static_cast<size_t>(fill), '#')
           << std::string(static_cast<size_t>(width - fill), '.') << "] " << std::setw(3)
           << static_cast<int>(frac * 100) << "% loss " << std::fixed << std::setprecision(4)
           << p.loss << " eta " << static_cast<int>(p.eta_s) << "s\033[K";
        std::cerr << os.str() << std::flush;
        m_dirty = true;
    } else if (p.kind == Progress::Kind::Epoch) {
        clear();
        std::ostringstream os;
        os << prefix << p.stage << " epoch " << p.epoch << "/" << p.epochs << std::fixed
           << std::setprecision(4);
        for (const char* k : {"train_loss", "val_accuracy", "val_perplexity", "sparsity"})
            if (p.metrics.count(k)) os << " " << k << " " << p.metrics.at(k);
        if (p.metrics.count("epoch_seconds"))
            os << std::setprecision(1) << " (" << p.metrics.at("epoch_seconds") << " s)";
        std::cerr << os.str() << "\n";
    }
}

void ProgressPrinter::clear() {
    if (m_dirty) std::cerr << "\r\033[K";
    m_dirty = false;
}

}  // namespace retort::cli

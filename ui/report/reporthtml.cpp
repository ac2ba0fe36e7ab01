#include "report/reporthtml.h"

#include "compress/sensitivity.h"
#include "spec/speckeys.h"
#include "stats/pareto.h"
#include "store/resultcolumns.h"

#include <QColor>
#include <QFont>
#include <QFontMetricsF>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace retort::ui::report {

namespace {

const QChar kNbsp(0x00a0);
const QChar kBreak(0x200b);  // zero-width space: a line may break here

/// A key=value label that may break after its dots and equals signs ("distill.temperature=4"
/// is one word otherwise, and the widest a table must hold).
QString breakable(const QString& s) {
    QString t;
    for (const QChar ch : s) {
        t += ch;
        if (ch == QLatin1Char('.') || ch == QLatin1Char('=')) t += kBreak;
    }
    return t;
}

/// Text whose spaces may not break a line.
QString together(const QString& s) {
    QString t = s;
    t.replace(QLatin1Char(' '), kNbsp);
    return t;
}

QString percentText(double fraction) {
    if (!std::isfinite(fraction)) return QStringLiteral("–");
    return QString::number(fraction * 100, 'f', 2) + kNbsp + QLatin1Char('%');
}

/// A fraction in per cent; with @p perplexity, a perplexity as a plain number.
QString qualityText(double v, bool perplexity) {
    if (!perplexity) return percentText(v);
    return std::isfinite(v) ? QString::number(v, 'f', 2) : QStringLiteral("–");
}

QString meanText(const MeanInterval& m, bool perplexity = false) {
    if (m.n == 0) return QStringLiteral("–");
    if (!m.hasInterval()) return qualityText(m.mean, perplexity);
    // "89.02 %" and "± 0.11" may go on two lines: the columns stay narrow enough for A4.
    return qualityText(m.mean, perplexity) + QStringLiteral(" ±") + kNbsp +
           QString::number(perplexity ? m.half : m.half * 100, 'f', 2);
}

QString points(double fraction) {
    return QString::fromStdString(signedPoints(fraction));
}

/// "+0.31 pt [−0.20, +0.82]" (a perplexity's: "−5.04 [−7.48, −2.60]"), wrapping only before
/// the interval.
QString differenceText(const Difference& d, bool perplexity = false) {
    if (!std::isfinite(d.mean)) return QStringLiteral("–");
    auto sign = [&](double v) {
        return perplexity ? QString::fromStdString(signedNumber(v)) : points(v);
    };
    const QString mean = sign(d.mean) + (perplexity ? QString() : kNbsp + QStringLiteral("pt"));
    if (d.kind == DifferenceKind::None) return mean + QStringLiteral(" (one") + kNbsp + "seed)";
    return mean + QStringLiteral(" [") + sign(d.low()) + QStringLiteral(", ") + sign(d.high()) +
           QLatin1Char(']');
}

QString bytesText(double b) {
    return std::isfinite(b) ? together(QString::fromStdString(formatBytes(b)))
                            : QStringLiteral("–");
}

double resultNumber(const RunRecord& r, const std::string& key) {
    auto it = r.results.find(key);
    return it != r.results.end() && it->is_number() ? it->get<double>() : NAN;
}

/// A spec as dotted leaf keys (objects recurse; lists and scalars are leaves).
void flatten(const Json& j, const std::string& prefix, std::map<std::string, Json>& out) {
    if (j.is_object() && !j.empty()) {
        for (auto it = j.begin(); it != j.end(); ++it)
            flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    } else {
        out[prefix] = j;
    }
}

}  // namespace

QString esc(const std::string& s) {
    return QString::fromStdString(s).toHtmlEscaped();
}

QString esc(const QString& s) {
    return s.toHtmlEscaped();
}

namespace {

// Column widths come from the text itself, measured in the PDF's table font (7 pt DejaVu Sans,
// bold in headers and group rows) on the A4 text width (180 mm = 510 pt): each column at least
// as wide as its longest unbreakable word (a word broken mid-way, or a header one letter a
// line, is what this prevents), the rest shared by how much more its text wants. kCell:
// padding and borders; kSlack: what QTextDocument's layout takes beyond the font's advances
// (measured on the rendered PDF: one letter too few fitted without it).
constexpr double kWidth = 510, kPoint = 7, kCell = 12, kSlack = 1.3;  // pt

/// Per column: the least width (its longest unbreakable word) and the width its text wants.
struct ColumnWidths {
    std::vector<double> least, wants;
};

ColumnWidths measureColumns(const Table& t) {
    const int n = int(t.headers.size());
    const size_t columns = t.headers.size();
    QFont regular(QStringLiteral("DejaVu Sans"));
    regular.setPixelSize(100);
    QFont bold = regular;
    bold.setBold(true);
    const QFontMetricsF fr(regular), fb(bold);
    auto width = [&](const QString& text, bool strong) {
        return (strong ? fb : fr).horizontalAdvance(text) * kPoint * kSlack / 100;
    };
    std::vector<double> least(columns, 0), wants(columns, 0);
    auto measure = [&](int c, const QString& text, bool strong) {
        static const QRegularExpression breaks(QStringLiteral("[ \u200b]"));
        for (const QString& word : text.split(breaks, Qt::SkipEmptyParts))
            least[size_t(c)] = std::max(least[size_t(c)], width(word, strong) + kCell);
        wants[size_t(c)] = std::max(wants[size_t(c)], std::min(width(text, strong), 170.0) + kCell);
    };
    for (int c = 0; c < n; ++c) measure(c, t.headers[c], true);
    for (const auto& row : t.rows)
        for (int c = 0; c < n && c < row.cells.size(); ++c) measure(c, row.cells[c], row.group);
    return {least, wants};
}

/// The table with only @p columns (in that order).
Table columnsOf(const Table& t, const std::vector<int>& columns) {
    Table out;
    out.keep = 0;
    for (int c : columns) {
        out.headers << t.headers[c];
        out.numeric.push_back(t.numeric.size() > size_t(c) && t.numeric[size_t(c)]);
    }
    for (const auto& row : t.rows) {
        Table::Row r;
        r.group = row.group;
        for (size_t i = 0; i < columns.size(); ++i) {
            const int c = columns[i];
            r.cells << (c < row.cells.size() ? row.cells[c] : QString());
            if (row.fadedColumn == c) r.fadedColumn = int(i);
        }
        out.rows.push_back(r);
    }
    return out;
}

/// One table that fits the width (its words whole).
QString fittingTableHtml(const Table& t, ColumnWidths widths) {
    const int n = int(t.headers.size());
    const size_t columns = t.headers.size();
    std::vector<double>&least = widths.least, &wants = widths.wants;
    double sumLeast = 0, sumMore = 0;
    for (int c = 0; c < n; ++c) {
        wants[size_t(c)] = std::max(wants[size_t(c)], least[size_t(c)]);
        sumLeast += least[size_t(c)];
        sumMore += wants[size_t(c)] - least[size_t(c)];
    }
    // Short of room: every column its least and the spare by how much more it wants; room to
    // spare: every column what it wants and the rest in proportion.
    std::vector<double> share(columns);
    const double spare = std::max(0.0, kWidth - sumLeast);
    for (int c = 0; c < n; ++c) {
        const double more = wants[size_t(c)] - least[size_t(c)];
        if (sumMore >= spare)
            share[size_t(c)] = least[size_t(c)] + (sumMore > 0 ? spare * more / sumMore : 0);
        else
            share[size_t(c)] =
                wants[size_t(c)] + (spare - sumMore) * wants[size_t(c)] / (sumLeast + sumMore);
    }
    double total = 0;
    for (double v : share) total += v;
    // Percentages to a tenth (QTextDocument reads them as reals): rounding to whole ones took
    // up to a point from every column, which the widest then lost all at once.
    std::vector<double> percent(columns);
    for (size_t c = 0; c < columns; ++c) percent[c] = std::floor(1000 * share[c] / total) / 10;
    QString h = QStringLiteral(
        "<table width=\"100%\" cellspacing=\"0\" cellpadding=\"2\" border=\"1\">\n<thead><tr>");
    for (int c = 0; c < n; ++c)
        h += QStringLiteral("<th width=\"%1%\"%2>%3</th>")
                 .arg(percent[size_t(c)], 0, 'f', 1)
                 .arg(t.numeric.size() > size_t(c) && t.numeric[size_t(c)]
                          ? QStringLiteral(" class=\"num\"")
                          : QString(),
                      esc(t.headers[c]));
    // A header row (repeated on each page a long table spans in the PDF).
    h += QStringLiteral("</tr></thead>\n");
    for (const auto& row : t.rows) {
        h += QStringLiteral("<tr>");
        for (int c = 0; c < n; ++c) {
            QStringList classes;
            if (t.numeric.size() > size_t(c) && t.numeric[size_t(c)]) classes << "num";
            if (row.group) classes << "group";
            if (row.fadedColumn == c) classes << "muted";
            const QString text = c < row.cells.size() ? esc(row.cells[c]) : QString();
            h += classes.isEmpty()
                     ? QStringLiteral("<td>%1</td>").arg(text)
                     : QStringLiteral("<td class=\"%1\">%2</td>").arg(classes.join(' '), text);
        }
        h += QStringLiteral("</tr>\n");
    }
    return h + QStringLiteral("</table>\n");
}

}  // namespace

QString tableHtml(const Table& t) {
    const ColumnWidths widths = measureColumns(t);
    const int n = int(t.headers.size()), keep = std::clamp(t.keep, 0, n);
    double sum = 0, kept = 0;
    for (int c = 0; c < n; ++c) {
        sum += widths.least[size_t(c)];
        if (c < keep) kept += widths.least[size_t(c)];
    }
    if (sum <= kWidth || n <= keep + 1) return fittingTableHtml(t, widths);
    // Too wide for A4 even with every word on a line of its own: as many tables as it takes,
    // each the leading `keep` columns (which say what a row is) and the next columns that fit.
    std::vector<std::vector<int>> parts;
    std::vector<int> part;
    double used = 0;
    for (int c = keep; c < n; ++c) {
        if (!part.empty() && kept + used + widths.least[size_t(c)] > kWidth) {
            parts.push_back(part);
            part.clear();
            used = 0;
        }
        part.push_back(c);
        used += widths.least[size_t(c)];
    }
    parts.push_back(part);
    QString h;
    for (size_t i = 0; i < parts.size(); ++i) {
        std::vector<int> columns(static_cast<size_t>(keep));
        std::iota(columns.begin(), columns.end(), 0);
        columns.insert(columns.end(), parts[i].begin(), parts[i].end());
        if (i > 0)
            h += QStringLiteral("<p class=\"muted\">The same rows, continued: %1.</p>\n")
                     .arg(esc(t.headers.mid(parts[i].front(), int(parts[i].size()))
                                  .join(QStringLiteral(", "))));
        const Table sub = columnsOf(t, columns);
        h += fittingTableHtml(sub, measureColumns(sub));
    }
    return h;
}

QString findingsHtml(const Findings& f) {
    QString h = QStringLiteral("<h2>Findings</h2>\n<p>%1</p>\n").arg(esc(f.baseline));
    if (!f.configurations.empty()) {
        h += QStringLiteral("<ul>\n");
        for (const auto& c : f.configurations)
            h += QStringLiteral("<li>%1</li>\n").arg(esc(c.sentence));
        h += QStringLiteral("</ul>\n");
    }
    h += QStringLiteral("<p><b>%1</b></p>\n").arg(esc(f.summary));
    if (!f.front.empty()) h += QStringLiteral("<p>%1</p>\n").arg(esc(f.front));
    for (const auto& t : f.teachers) h += QStringLiteral("<p>%1</p>\n").arg(esc(t));
    for (const auto& n : f.notes) h += QStringLiteral("<p><i>%1</i></p>\n").arg(esc(n));
    const bool ppl = !f.comparison.metrics.empty() && f.comparison.metrics[0] == "test_perplexity";
    h += QStringLiteral(
             "<p class=\"muted\">How to read these: a difference is in %1, this configuration's "
             "mean over its seeds minus the baseline's, with the raw 95 % confidence interval of "
             "that difference (Student's t; paired on the seeds both sides have, else Welch's "
             "unpaired interval) and its t-test's p. Each configuration is one comparison with "
             "the baseline, and a verdict is beyond noise only where its p, Holm-adjusted over "
             "all the comparisons made, is below 0.05: an interval that excludes 0 can still be "
             "within noise after the correction (the Results table fades every difference that is "
             "within noise, after the correction too). The same difference on every seed has no "
             "interval and is no finding. The "
             "intervals cover the seeds that varied among the runs, nothing else. Configurations "
             "are placed on the front by validation %2, never by test, each pair judged by its "
             "difference as above (paired where they share seeds, not corrected for the number "
             "of pairs); a configuration is undecided when one as small or smaller could be as "
             "good within noise, dominated when one at most as large is better beyond noise. C1, "
             "C2, … name the configurations in the plots and tables below.</p>\n")
             .arg(ppl ? QStringLiteral("units of test perplexity (lower is better: a negative "
                                       "difference is a gain)")
                      : QStringLiteral("percentage points (pt) of test accuracy"),
                  ppl ? QStringLiteral("perplexity") : QStringLiteral("accuracy"));
    return h;
}

QString groupedResultsHtml(const Findings& f, const std::vector<RunRecord>& runs) {
    const Comparison& c = f.comparison;
    std::map<int64_t, const RunRecord*> byId;
    for (const auto& r : runs) byId[r.id] = &r;
    auto metricIndex = [&](const char* name) -> int {
        auto it = std::find(c.metrics.begin(), c.metrics.end(), name);
        return it == c.metrics.end() ? -1 : int(it - c.metrics.begin());
    };
    // Language models: perplexity (lower is better) where classifiers have accuracy.
    const bool ppl = languageModelRuns(runs);
    const char* valKey = ppl ? "val_perplexity" : "val_accuracy";
    const char* testKey = ppl ? "test_perplexity" : "test_accuracy";
    const int val = metricIndex(valKey), test = metricIndex(testKey),
              f1 = metricIndex("test_macro_f1"), size = metricIndex("compressed_size_bytes");
    std::map<size_t, FrontStatus> front;
    for (const auto& p : configurationFront(c.configurations, runs))
        front[p.configuration] = p.status;

    Table t;
    t.headers = {QStringLiteral("Configuration / run"), QStringLiteral("n / status"),
                 ppl ? QStringLiteral("Val. ppl.") : QStringLiteral("Val. acc."),
                 ppl ? QStringLiteral("Test ppl.") : QStringLiteral("Test acc."),
                 QStringLiteral("Δ test vs baseline")};
    if (f1 >= 0) t.headers << QStringLiteral("Test macro-F1");
    t.headers << QStringLiteral("Compressed") << QStringLiteral("Front");
    t.numeric = {false, false, true, true, true};
    if (f1 >= 0) t.numeric.push_back(true);
    t.numeric.insert(t.numeric.end(), {true, false});
    const int diffColumn = 4;
    for (size_t i = 0; i < c.configurations.size(); ++i) {
        const auto& conf = c.configurations[i];
        const auto& v = c.values[i];
        const bool base = i == c.baseline;
        Table::Row row;
        row.group = true;
        row.cells << QStringLiteral("C%1 %2%3")
                         .arg(i + 1)
                         .arg(breakable(QString::fromStdString(conf.label)),
                              base ? QStringLiteral(" (baseline)") : QString())
                  << QString::number(conf.runs.size()) << meanText(v[size_t(val)].value, ppl)
                  << meanText(v[size_t(test)].value, ppl)
                  << (base ? QStringLiteral("baseline")
                           : differenceText(v[size_t(test)].difference, ppl));
        if (f1 >= 0) row.cells << meanText(v[size_t(f1)].value);
        row.cells << bytesText(v[size_t(size)].value.mean);
        auto st = front.find(i);
        row.cells << (st == front.end() ? QStringLiteral("–")
                                        : QString::fromLatin1(frontStatusName(st->second)));
        if (!base && !v[size_t(test)].difference.beyondNoise()) row.fadedColumn = diffColumn;
        t.rows.push_back(row);
        // Its runs, with each one's difference to the baseline's run of the same seeds.
        const auto& b = c.configurations[c.baseline];
        for (size_t k = 0; k < conf.runs.size(); ++k) {
            const RunRecord& r = *byId.at(conf.runs[k]);
            Table::Row rr;
            rr.cells << QStringLiteral("run %1 · %2")
                            .arg(r.id)
                            .arg(QString::fromStdString(conf.shownSeeds[k]))
                     << QString::fromUtf8(statusName(r.status))
                     << qualityText(resultNumber(r, valKey), ppl)
                     << qualityText(resultNumber(r, testKey), ppl);
            QString diff;
            if (!base)
                for (size_t j = 0; j < b.runs.size(); ++j)
                    if (b.seeds[j] == conf.seeds[k]) {
                        const double d =
                            resultNumber(r, testKey) - resultNumber(*byId.at(b.runs[j]), testKey);
                        if (std::isfinite(d))
                            diff = ppl ? QString::fromStdString(signedNumber(d))
                                       : points(d) + kNbsp + QStringLiteral("pt");
                    }
            rr.cells << diff;
            if (f1 >= 0) rr.cells << percentText(resultNumber(r, "test_macro_f1"));
            rr.cells << bytesText(resultNumber(r, "compressed_size_bytes")) << QString();
            t.rows.push_back(rr);
        }
    }
    QString h =
        QStringLiteral(
            "<h2>Results</h2>\n<p>By configuration: mean ± half-width of the 95 % interval over "
            "its seeds, the difference in test %1 to the baseline (faded when within "
            "noise) and its place against the front of means; beneath, each run with its seeds "
            "and its difference to the baseline's run of the same seeds.</p>\n")
            .arg(ppl ? QStringLiteral("perplexity (lower is better)") : QStringLiteral("accuracy"));
    h += c.configurations.empty() ? QStringLiteral("<p class=\"muted\">No completed runs.</p>\n")
                                  : tableHtml(t);

    // Runs that are not completed: their status and why.
    Table other;
    other.headers = {QStringLiteral("Run"), QStringLiteral("Name"), QStringLiteral("Status"),
                     QStringLiteral("Message")};
    other.numeric = {true, false, false, false};
    for (const auto& r : runs)
        if (r.status != RunStatus::Completed)
            other.rows.push_back(
                {{QString::number(r.id),
                  QString::fromStdString(r.params.empty() ? r.name : sweptText(r)),
                  QString::fromUtf8(statusName(r.status)), QString::fromStdString(r.error)}});
    if (!other.rows.empty())
        h += QStringLiteral("<h3>Runs not completed</h3>\n") + tableHtml(other);

    // Every completed run's size and speed.
    std::map<int64_t, std::pair<size_t, std::string>> where;  // run -> (configuration, seeds)
    for (size_t i = 0; i < c.configurations.size(); ++i)
        for (size_t k = 0; k < c.configurations[i].runs.size(); ++k)
            where[c.configurations[i].runs[k]] = {i, c.configurations[i].shownSeeds[k]};
    Table d;
    d.keep = 2;  // a part of the table on its own still says the run and its configuration
    d.headers = {QStringLiteral("Run"), QStringLiteral("Config."), QStringLiteral("Seeds")};
    d.numeric = {true, false, false};
    std::vector<const ResultColumn*> cols;
    for (const auto& col : resultColumns())
        // Accuracies are in the table above, the teacher's in the Findings.
        if (col.in_report &&
            (col.kind != ResultKind::Fraction || std::string(col.key) == "sparsity")) {
            cols.push_back(&col);
            QString title = QString::fromUtf8(col.title);
            if (col.kind == ResultKind::Milliseconds) title += QStringLiteral(" (ms)");
            d.headers << title;
            d.numeric.push_back(true);
        }
    for (const auto& r : runs) {
        auto w = where.find(r.id);
        if (w == where.end()) continue;
        Table::Row row;
        row.cells << QString::number(r.id) << QStringLiteral("C%1").arg(w->second.first + 1)
                  << QString::fromStdString(w->second.second);
        for (const ResultColumn* col : cols) {
            const Json* value = resultValue(r, *col);
            row.cells << together(QString::fromStdString(col->kind == ResultKind::Milliseconds
                                                             ? rawResultText(value, col->precision)
                                                             : humanResultText(value, col->kind)));
        }
        d.rows.push_back(row);
    }
    if (!d.rows.empty())
        h += QStringLiteral(
                 "<h3>Size and speed of each run</h3>\n<p class=\"muted\">Compressed: the run's "
                 "compressed model file (values at their bit width, sparse indices, scales and "
                 "header included); Dense size: the same weights as fp32.</p>\n") +
             tableHtml(d);
    return h;
}

QColor sensitivityShade(double points) {
    // Square root: drops of a fraction of a point still read apart from none.
    const double t = std::sqrt(std::clamp(points / 10.0, 0.0, 1.0));
    return QColor::fromRgbF(1.0, 1.0 - 0.75 * t, 1.0 - 0.75 * t);
}

QString sensitivityHtml(const ProjectStore& store, const std::vector<RunRecord>& runs) {
    QString body;
    for (const auto& r : runs) {
        for (const char* model : {"teacher", "student"}) {
            const auto bytes = store.artifact(r.id, std::string("sensitivity_") + model);
            if (!bytes) continue;
            Sensitivity s;
            try {
                s = Sensitivity::fromJson(Json::parse(*bytes));
            } catch (const std::exception& e) {
                body +=
                    QStringLiteral("<p class=\"muted\">Run %1's %2 table cannot be read: %3</p>\n")
                        .arg(r.id)
                        .arg(QString::fromUtf8(model), esc(std::string(e.what())));
                continue;
            }
            body += QStringLiteral(
                        "<h3>Run %1 (%2), the %3: baseline %4 %, %5 validation "
                        "samples</h3>\n")
                        .arg(r.id)
                        .arg(esc(r.name), QString::fromUtf8(model))
                        .arg(100.0 * s.baseline, 0, 'f', 2)
                        .arg(s.samples);
            const double first = 16,
                         rest = (100.0 - first) / double(std::max<size_t>(1, s.levels.size()));
            body += QStringLiteral(
                        "<table width=\"100%\" cellspacing=\"0\" cellpadding=\"2\" "
                        "border=\"1\">\n<tr><th width=\"%1%\">Layer</th>")
                        .arg(first, 0, 'f', 1);
            for (const auto& l : s.levels)
                body += QStringLiteral("<th width=\"%1%\" class=\"num\">%2</th>")
                            .arg(rest, 0, 'f', 1)
                            .arg(esc(l));
            body += QStringLiteral("</tr>\n");
            for (const auto& layer : s.layers) {
                body += QStringLiteral("<tr><td><code>%1</code></td>").arg(esc(layerName(layer)));
                for (const auto& level : s.levels)
                    for (const auto& c : s.cells)
                        if (c.layer == layer && c.level == level)
                            body += QStringLiteral("<td class=\"num\" bgcolor=\"%1\">%2</td>")
                                        .arg(sensitivityShade(100.0 * c.drop).name(),
                                             QString::asprintf("%+.2f", 100.0 * c.drop));
                body += QStringLiteral("</tr>\n");
            }
            body += QStringLiteral("</table>\n");
        }
    }
    if (body.isEmpty()) return {};
    return QStringLiteral(
               "<h2>Per-layer sensitivity</h2>\n<p>Validation accuracy drop in points with one "
               "layer alone pruned by magnitude (sparsity columns) or quantized per channel "
               "(int columns), the others unchanged; darker is worse. Layers that lose little "
               "take more compression (prune.per_layer, quantize.per_layer).</p>\n") +
           body;
}

QString specsHtml(const Findings& f) {
    const Comparison& c = f.comparison;
    if (c.configurations.empty()) return {};
    // Keys that mean nothing for a spec (a decoder's masked share, a pooling it does not do)
    // are left out: the spec stores them, the reader would take them for settings.
    auto meaningful = [](const Json& spec) {
        std::map<std::string, Json> keys;
        flatten(spec, "", keys);
        for (auto it = keys.begin(); it != keys.end();) {
            const SpecKey* key = findSpecKey(it->first);
            it = key && !keyApplies(*key, spec, true) ? keys.erase(it) : std::next(it);
        }
        return keys;
    };
    const std::map<std::string, Json> baseKeys = meaningful(c.configurations[c.baseline].spec);
    QStringList items;
    for (const auto& [k, v] : baseKeys) items << esc(k + " = " + v.dump());
    QString h = QStringLiteral(
                    "<h2>Specs</h2>\n<p>The baseline C%1's spec (seeds and name left out: the "
                    "runs' seeds are in Results):</p>\n<p class=\"spec\">%2</p>\n")
                    .arg(c.baseline + 1)
                    .arg(items.join(QStringLiteral(" · ")));
    Table t;
    t.headers = {QStringLiteral("Configuration"), QStringLiteral("Key"), QStringLiteral("Baseline"),
                 QStringLiteral("This configuration")};
    t.numeric = {false, false, false, false};
    for (size_t i = 0; i < c.configurations.size(); ++i) {
        if (i == c.baseline) continue;
        const std::map<std::string, Json> keys = meaningful(c.configurations[i].spec);
        std::set<std::string> all;
        for (const auto& [k, v] : keys) all.insert(k);
        for (const auto& [k, v] : baseKeys) all.insert(k);
        bool first = true;
        for (const auto& k : all) {
            const auto a = baseKeys.find(k), b = keys.find(k);
            if (a != baseKeys.end() && b != keys.end() && a->second == b->second) continue;
            t.rows.push_back(
                {{first ? QStringLiteral("C%1").arg(i + 1) : QString(), QString::fromStdString(k),
                  a == baseKeys.end() ? QStringLiteral("absent")
                                      : QString::fromStdString(a->second.dump()),
                  b == keys.end() ? QStringLiteral("absent")
                                  : QString::fromStdString(b->second.dump())}});
            first = false;
        }
    }
    if (!t.rows.empty())
        h += QStringLiteral("<p>Every other configuration by the keys where it differs:</p>\n") +
             tableHtml(t);
    return h;
}

}  // namespace retort::ui::report

#include "report/reportwriter.h"

#include "report/reporthtml.h"

#include "export/dataexport.h"
#include "plots/losscurvesplot.h"
#include "plots/paretoplot.h"
#include "stats/pareto.h"
#include "store/pretrainresults.h"
#include "store/resultcolumns.h"
#include "train/environment.h"

#include "plots/qcustomplotinclude.h"

#include <QAbstractTextDocumentLayout>
#include <QApplication>
#include <QBuffer>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QGuiApplication>
#include <QPageLayout>
#include <QPdfWriter>
#include <QScreen>
#include <QTextBlock>
#include <QTextCursor>
#include <QTextDocument>
#include <QTextFrame>

#include <unistd.h>

#include <iostream>
#include <set>

namespace retort::ui {

namespace {

/// Moves every heading that would end a page (its section starting on the next) to the next
/// page. Lays out a copy as QTextDocument::print lays out an unpaginated document (the
/// printer's page in device pixels; 2 cm margins given at the screen's resolution, which the
/// layout scales to the device's), so the breaks it finds are print's: a heading whose page
/// has less than an inch left below it gets a page break before it.
void keepHeadingsWithTheirText(QTextDocument& doc, QPagedPaintDevice& printer) {
    const QScreen* screen = QGuiApplication::primaryScreen();
    const qreal source = screen ? qRound(screen->logicalDotsPerInchY()) : 100,
                sourceX = screen ? qRound(screen->logicalDotsPerInchX()) : 100,
                dpi = printer.logicalDpiY();
    const int margin = int((2 / 2.54) * source), sideMargin = int((2 / 2.54) * sourceX);
    const qreal deviceMargin = margin * dpi / source, inch = dpi;
    for (int pass = 0; pass < 50; ++pass) {  // one heading moved per pass
        // Its images come from @p doc's resources through the parent, as print's copy's do.
        std::unique_ptr<QTextDocument> copy(doc.clone(&doc));
        copy->documentLayout()->setPaintDevice(&printer);
        QTextFrameFormat frame = copy->rootFrame()->frameFormat();
        frame.setTopMargin(margin);  // as print sets them
        frame.setBottomMargin(margin);
        frame.setLeftMargin(sideMargin);
        frame.setRightMargin(sideMargin);
        copy->rootFrame()->setFrameFormat(frame);
        const qreal page = printer.height();
        copy->setPageSize(QSizeF(printer.width(), page));
        int orphan = -1;
        for (QTextBlock b = copy->begin(); b.isValid() && orphan < 0; b = b.next()) {
            if (b.blockFormat().headingLevel() == 0 ||
                b.blockFormat().pageBreakPolicy() & QTextFormat::PageBreak_AlwaysBefore)
                continue;
            // Where a block's first and last lines lie (a line that does not fit moves to the
            // next page: the block's rectangle alone does not say so).
            auto lineSpan = [&](const QTextBlock& x, bool last) {
                const QRectF r = copy->documentLayout()->blockBoundingRect(x);
                const QTextLayout* l = x.layout();
                if (!l || l->lineCount() == 0) return last ? r.bottom() : r.top();
                const QRectF line = l->lineAt(last ? l->lineCount() - 1 : 0).rect();
                return r.top() + (last ? line.bottom() : line.top());
            };
            const qreal top = lineSpan(b, false), bottom = lineSpan(b, true);
            const qreal onPage = std::floor(top / page);
            bool alone = std::floor((bottom - 1) / page) != onPage ||  // split over two pages
                         (onPage + 1) * page - deviceMargin - bottom < inch / 4;
            // What follows (a plot's image, a table's first row) must start on its page.
            if (const QTextBlock next = b.next(); next.isValid()) {
                const QRectF r = copy->documentLayout()->blockBoundingRect(next);
                const QTextLayout* l = next.layout();
                const qreal firstBottom =
                    l && l->lineCount() ? r.top() + l->lineAt(0).rect().bottom() : r.bottom();
                alone = alone || std::floor((firstBottom - 1) / page) != onPage;
            }
            if (alone) orphan = b.blockNumber();
        }
        if (orphan < 0) return;
        QTextCursor at(doc.findBlockByNumber(orphan));
        QTextBlockFormat f = at.blockFormat();
        f.setPageBreakPolicy(QTextFormat::PageBreak_AlwaysBefore);
        at.setBlockFormat(f);
    }
}

}  // namespace

using report::esc;

namespace {

/// A value as the tables show it: numbers with @p precision decimals, text as is.
/// A run name that may wrap after its separators (",", "=", "_") instead of inside a word: the
/// PDF's narrow columns otherwise break "forward_kl" as "for ward_kl".
QString breakAfterSeparators(QString s) {
    const QString zw(QChar(0x200b));
    for (const QString sep : {QStringLiteral(","), QStringLiteral("="), QStringLiteral("_")})
        s.replace(sep, sep + zw);
    return s;
}

QString cell(const Json& v, int precision = 4) {
    if (v.is_null()) return QStringLiteral("–");
    if (v.is_number_integer() || v.is_number_unsigned()) return QString::number(v.get<int64_t>());
    if (v.is_number()) return QString::number(v.get<double>(), 'f', precision);
    if (v.is_string()) return esc(v.get<std::string>());
    return esc(v.dump());
}

QString bytesText(double bytes) {
    return QString::fromStdString(formatBytes(bytes));
}

QString result(const RunRecord& r, const char* key, int precision = 4) {
    return r.results.contains(key) ? cell(r.results[key], precision) : QStringLiteral("–");
}

QString percent(const RunRecord& r, const char* key) {
    if (!r.results.contains(key) || !r.results[key].is_number()) return QStringLiteral("–");
    return QString::number(r.results[key].get<double>() * 100, 'f', 2) + QStringLiteral(" %");
}

QImage renderPlot(QCustomPlot* plot, int width, int height) {
    // The picture's size first: the legend fits its columns (and shortens names) to the
    // widget's size at each replot, and an unshown widget has none to speak of.
    plot->resize(width, height);
    plot->replot(QCustomPlot::rpImmediateRefresh);
    return plot->toPixmap(width, height, 2.0).toImage();  // 2x: sharp in print and on HiDPI
}

const char* kCss = R"(
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 10pt; color: #222;
       max-width: 1100px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 18pt; margin-bottom: 0.2em; }
h2 { font-size: 13pt; border-bottom: 1px solid #ccc; padding-bottom: 2px; margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.4em 0; }
th, td { border: 1px solid #ccc; padding: 2px 6px; font-size: 8.5pt; }
th { background: #eee; text-align: left; }
td.num { text-align: right; }
td.group { background: #f2f2f2; font-weight: bold; }
.muted { color: #777; }
code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: 4px; }
img { max-width: 100%; }
)";

// QTextDocument's subset for the PDF: no auto margins, tables as wide as the text.
const char* kPrintCss = R"(
body { font-family: "DejaVu Sans", sans-serif; font-size: 9pt; color: #222; }
h1 { font-size: 16pt; }
h2 { font-size: 12pt; margin-top: 12px; }
th { background: #eee; font-size: 7pt; }
td { font-size: 7pt; }
td.num { text-align: right; }
td.group { background: #f2f2f2; font-weight: bold; }
.muted { color: #777; }
code, pre, .spec { font-family: "DejaVu Sans Mono", monospace; font-size: 6.5pt; }
)";

}  // namespace

ReportWriter::ReportWriter(const ProjectStore& store, const std::string& baseline)
    : m_store(store), m_runs(store.runs()) {
    try {
        m_findings = findings(m_runs, baseline);
    } catch (const std::invalid_argument&) {
        // No completed run, or a baseline that names none of them: the default baseline.
        try {
            m_findings = findings(m_runs);
            m_findings->notes.push_back("The baseline asked for, " + baseline +
                                        ", names no completed run or configuration here: the "
                                        "default baseline is used.");
        } catch (const std::invalid_argument&) {
        }
    }
}

bool ReportWriter::hasSeeds() const {
    if (m_findings)
        for (const auto& c : m_findings->comparison.configurations)
            if (c.runs.size() > 1) return true;
    return false;
}

std::map<QString, QImage> ReportWriter::plots() const {
    std::map<QString, QImage> images;
    ParetoPlot pareto;
    pareto.setPointLabels(true);
    pareto.setRuns(m_runs);
    images[QStringLiteral("accuracy-vs-size")] = renderPlot(pareto.plot(), 900, 520);
    const bool seeds = hasSeeds();
    if (seeds) {
        pareto.setGrouped(true);
        images[QStringLiteral("accuracy-vs-size-means")] = renderPlot(pareto.plot(), 900, 520);
    }

    LossCurvesPlot curves;
    curves.setRuns(m_runs, m_store);
    curves.setSmoothing(0);
    curves.setGrouped(seeds);  // configuration means with bands: one curve per configuration
    if (m_runs.size() > 12 && !seeds) {
        // Many runs: the curves of the Pareto-front runs stand out and the legend names them.
        std::vector<ParetoPoint> points;
        std::vector<int64_t> ids;
        for (const auto& r : m_runs) {
            const auto chosenBy = selectionScore(r.results, languageModelRuns(m_runs));
            if (r.status == RunStatus::Completed && chosenBy &&
                r.results.contains("compressed_size_bytes")) {
                points.push_back({r.results["compressed_size_bytes"].get<double>(), *chosenBy});
                ids.push_back(r.id);
            }
        }
        const auto front = paretoFront(points);
        QList<qint64> focus;
        for (size_t i = 0; i < ids.size(); ++i)
            if (front[i]) focus << ids[i];
        curves.setFocusRuns(focus);
    }
    for (const char* metric :
         {"train_loss", "val_accuracy", "val_perplexity", "teacher_pretrain_val_perplexity",
          "student_pretrain_val_perplexity"}) {
        bool any = false;
        for (const auto& r : m_runs)
            any |= curves.pointCount(r.id, QString::fromLatin1(metric)) > 0;
        if (!any) continue;
        curves.setMetric(QString::fromLatin1(metric));
        curves.redrawNow();
        images[QString::fromLatin1(metric)] = renderPlot(curves.plot(), 900, 480);
    }
    return images;
}

QString ReportWriter::html(const std::function<QString(const QString&, const QImage&)>& image,
                           bool print) const {
    const int imageWidth = print ? 600 : 900;
    const auto images = plots();
    const QString project = QFileInfo(QString::fromStdString(m_store.path())).fileName();
    QString h;
    h += QStringLiteral(
             "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<title>Retort report: %1</title><style>%2</style></head><body>\n")
             .arg(esc(project), QString::fromLatin1(print ? kPrintCss : kCss));
    h += QStringLiteral("<h1>Retort report: %1</h1>\n").arg(esc(project));
    h += QStringLiteral("<p class=\"muted\">%1 · written %2 by %3</p>\n")
             .arg(esc(m_store.path()), QDateTime::currentDateTimeUtc().toString(Qt::ISODate),
                  esc(versionString()));

    // ---------------------------------------------------------------- findings
    if (m_findings)
        h += report::findingsHtml(*m_findings);
    else
        h += QStringLiteral("<h2>Findings</h2>\n<p class=\"muted\">No completed runs yet.</p>\n");

    // ---------------------------------------------------------------- summary
    std::map<std::string, int> byStatus;
    std::vector<ParetoPoint> points;
    std::vector<const RunRecord*> completed;
    size_t chosenOnTest = 0;  // runs without a validation split: chosen by test accuracy
    // Language models are chosen by perplexity (lower is better), classifiers by accuracy.
    const bool lm = languageModelRuns(m_runs);
    const QString quality = lm ? QStringLiteral("perplexity") : QStringLiteral("accuracy");
    for (const auto& r : m_runs) {
        ++byStatus[statusName(r.status)];
        bool onTest = false;
        const auto chosenBy = selectionScore(r.results, lm, &onTest);
        if (r.status == RunStatus::Completed && chosenBy &&
            r.results.contains("compressed_size_bytes")) {
            completed.push_back(&r);
            points.push_back({r.results["compressed_size_bytes"].get<double>(), *chosenBy});
            if (onTest) ++chosenOnTest;
        }
    }
    const auto front = paretoFront(points);
    std::set<int64_t> onFront;
    for (size_t i = 0; i < completed.size(); ++i)
        if (front[i]) onFront.insert(completed[i]->id);
    h += QStringLiteral("<h2>Summary</h2>\n<p>%1 run(s)").arg(m_runs.size());

    QStringList counts;
    for (const auto& [status, n] : byStatus)
        counts << QStringLiteral("%1 %2").arg(n).arg(esc(status));
    if (!counts.isEmpty()) h += QStringLiteral(": ") + counts.join(QStringLiteral(", "));
    h += QStringLiteral(".</p>\n");
    if (hasSeeds())  // single runs below: a seed's luck is in each of them
        h += QStringLiteral(
            "<p class=\"muted\">The runs below are single runs, each one seed; the Findings "
            "above compare configurations over their seeds.</p>\n");
    if (!completed.empty()) {
        const RunRecord* best = completed.front();
        const RunRecord* smallest = completed.front();
        for (const RunRecord* r : completed) {
            if (*selectionScore(r->results, lm) > *selectionScore(best->results, lm)) best = r;
            if (r->results["compressed_size_bytes"].get<double>() <
                smallest->results["compressed_size_bytes"].get<double>())
                smallest = r;
        }
        bool bestOnTest = false;
        selectionScore(best->results, lm, &bestOnTest);
        h +=
            lm ? (bestOnTest
                      ? QStringLiteral(
                            "<ul><li>Lowest perplexity: run %1 <i>%2</i>, test perplexity %3 "
                            "at %4 (chosen on test: the run has no validation split).</li>")
                            .arg(best->id)
                            .arg(esc(best->name), result(*best, "test_perplexity", 2),
                                 esc(bytesText(
                                     best->results["compressed_size_bytes"].get<double>())))
                      : QStringLiteral("<ul><li>Lowest validation perplexity: run %1 <i>%2</i>, %3 "
                                       "validation, %4 test perplexity at %5.</li>")
                            .arg(best->id)
                            .arg(esc(best->name), result(*best, "val_perplexity", 2),
                                 result(*best, "test_perplexity", 2),
                                 esc(bytesText(
                                     best->results["compressed_size_bytes"].get<double>()))))
            : bestOnTest
                ? QStringLiteral(
                      "<ul><li>Most accurate: run %1 <i>%2</i>, %3 test accuracy at "
                      "%4 (chosen on test: the run has no validation split).</li>")
                      .arg(best->id)
                      .arg(esc(best->name), percent(*best, "test_accuracy"),
                           esc(bytesText(best->results["compressed_size_bytes"].get<double>())))
                : QStringLiteral(
                      "<ul><li>Most accurate on validation: run %1 <i>%2</i>, %3 "
                      "validation, %4 test accuracy at %5.</li>")
                      .arg(best->id)
                      .arg(esc(best->name), percent(*best, "val_accuracy"),
                           percent(*best, "test_accuracy"),
                           esc(bytesText(best->results["compressed_size_bytes"].get<double>())));
        // "n× smaller" only when it is: a dense model's file (header, indices) can be larger.
        const double ratio = smallest->results.value("compression_ratio", 1.0);
        const QString versusDense =
            ratio >= 1.0 ? QStringLiteral("%1× smaller than dense fp32").arg(ratio, 0, 'f', 1)
                         : QStringLiteral("%1 % larger than dense fp32")
                               .arg((1.0 / ratio - 1.0) * 100, 0, 'f', 1);
        h += QStringLiteral("<li>Smallest: run %1 <i>%2</i>, %3 (%4), %5.</li>")
                 .arg(smallest->id)
                 .arg(esc(smallest->name),
                      esc(bytesText(smallest->results["compressed_size_bytes"].get<double>())),
                      versusDense,
                      lm ? QStringLiteral("test perplexity ") +
                               result(*smallest, "test_perplexity", 2)
                         : percent(*smallest, "test_accuracy") + QStringLiteral(" test accuracy"));
        std::set<std::string> teachers;
        for (const RunRecord* r : completed)
            if (r->results.contains("teacher_key") &&
                r->results.value(lm ? "teacher_test_perplexity" : "teacher_test_accuracy", Json())
                    .is_number()) {
                QString t = QStringLiteral("%1 (%2 parameters")
                                .arg(lm ? QStringLiteral("test perplexity ") +
                                              result(*r, "teacher_test_perplexity", 2)
                                        : percent(*r, "teacher_test_accuracy") +
                                              QStringLiteral(" test accuracy"),
                                     result(*r, "teacher_param_count"));
                if (r->results.contains("teacher_pretrain"))
                    t += QStringLiteral("; %1 pretrained model %2")
                             .arg(r->results["teacher_pretrain"].value("objective", "mlm") ==
                                          "next_token"
                                      ? QStringLiteral("next-token")
                                      : QStringLiteral("masked-LM"))
                             .arg(r->results["teacher_pretrain"].value("id", int64_t(0)));
                if (r->results.contains("teacher_trainable_share"))
                    t += QStringLiteral("; %1 trainable (%2 %), %3")
                             .arg(result(*r, "teacher_trainable_params"))
                             .arg(100 * r->results["teacher_trainable_share"].get<double>(), 0, 'f',
                                  2)
                             .arg(esc(QString::fromStdString(
                                 r->spec.value("teacher", Json::object())
                                     .value("train", Json::object())
                                     .value("finetune", std::string("full")))));
                teachers.insert((t + QStringLiteral(")")).toStdString());
            }
        for (const auto& t : teachers)
            h += QStringLiteral("<li>Teacher: %1.</li>").arg(QString::fromStdString(t));
        for (const RunRecord* r : completed)
            if (r->results.value("teacher_trained", true) == false) {
                h += QStringLiteral(
                    "<li><b>Untrained teacher:</b> some runs distil from a teacher that was never "
                    "trained (a random network, frozen at initialization).</li>");
                break;
            }
        QStringList ids;
        for (int64_t id : onFront) ids << QString::number(id);
        const QString basis =
            chosenOnTest == 0 ? QStringLiteral("validation %1").arg(quality)
            : chosenOnTest == completed.size()
                ? QStringLiteral("test %1: these runs have no validation split").arg(quality)
                : QStringLiteral(
                      "validation %1; test %1 for the %2 run(s) without a "
                      "validation split")
                      .arg(quality)
                      .arg(chosenOnTest);
        h += QStringLiteral("<li>Pareto front (%1 vs compressed size): run(s) %2.</li></ul>\n")
                 .arg(basis, ids.join(QStringLiteral(", ")));
    }
    // Pretraining: each stored pretrained model the runs started from, epoch by epoch.
    std::map<int64_t, Json> pretrained;
    for (const auto& r : m_runs)
        for (const auto& [k, stage, who] : kPretrainResults)
            if (r.results.contains(k) && r.results[k].is_object())
                pretrained[r.results[k].value("id", int64_t(0))] = r.results[k];
    if (!pretrained.empty()) {
        h += QStringLiteral("<h3>Pretraining</h3>\n");
        for (const auto& [id, p] : pretrained) {
            h += QStringLiteral(
                     "<p>Pretrained model %1 (%2):</p>\n<table cellspacing=\"0\" "
                     "cellpadding=\"2\" border=\"1\"><tr><th>epoch</th><th>train "
                     "loss</th><th>train perplexity</th><th>val perplexity</th>"
                     "<th>seconds</th></tr>\n")
                     .arg(id)
                     .arg(p.value("objective", "mlm") == "next_token"
                              ? QStringLiteral("next-token prediction")
                              : QStringLiteral("masked LM"));
            int e = 0;
            for (const auto& m : p.value("epochs", Json::array()))
                h += QStringLiteral(
                         "<tr><td>%1</td><td>%2</td><td>%3</td><td>%4</td><td>%5</td>"
                         "</tr>\n")
                         .arg(++e)
                         .arg(cell(m.value("train_loss", Json())),
                              cell(m.value("train_perplexity", Json()), 2),
                              cell(m.value("val_perplexity", Json()), 2),
                              cell(m.value("epoch_seconds", Json()), 1));
            h += QStringLiteral("</table>\n");
        }
    }
    // Language models: perplexities, and the first stored prompt's continuations (escaped: the
    // text is the model's).
    QString lmRows;
    for (const auto& r : m_runs) {
        if (r.results.value("task", std::string()) != "language_model") continue;
        const Json samples = r.results.value("generated_samples", Json::array());
        const Json first = samples.is_array() && !samples.empty() ? samples[0] : Json::object();
        auto text = [&](const char* k) { return esc(first.value(k, std::string())); };
        lmRows += QStringLiteral(
                      "<tr><td>%1</td><td>%2</td><td>%3</td><td>%4</td><td>%5</td><td>%6 "
                      "<b>|</b> %7</td><td>%6 <b>|</b> %8</td></tr>\n")
                      .arg(r.id)
                      .arg(breakAfterSeparators(esc(r.name)),
                           cell(r.results.value("val_perplexity", Json()), 2),
                           cell(r.results.value("test_perplexity", Json()), 2),
                           cell(r.results.value("teacher_test_perplexity", Json()), 2),
                           text("prompt"), text("student_greedy"), text("teacher_greedy"));
    }
    if (!lmRows.isEmpty())
        h += QStringLiteral(
                 "<h3>Language models: perplexity and generated text</h3>\n<p>Perplexity is exp "
                 "of the mean next-token cross-entropy (lower is better); the continuations are "
                 "greedy, at most 24 tokens, of a test prompt.</p>\n<table cellspacing=\"0\" "
                 "cellpadding=\"2\" border=\"1\"><tr><th>run</th><th>name</th><th>val "
                 "perplexity</th><th>test perplexity</th><th>teacher test perplexity</th>"
                 "<th>student</th><th>teacher</th></tr>\n") +
             lmRows + QStringLiteral("</table>\n");
    QStringList warnings;  // what the runs found that a reader must weigh
    for (const auto& r : m_runs)
        if (r.results.contains("warnings") && r.results["warnings"].is_array())
            for (const auto& w : r.results["warnings"])
                if (w.is_string())
                    warnings << QStringLiteral("<li>Run %1: %2</li>")
                                    .arg(r.id)
                                    .arg(esc(w.get<std::string>()));
    if (!warnings.isEmpty())
        h += QStringLiteral("<h3>Warnings</h3>\n<ul>%1</ul>\n").arg(warnings.join('\n'));

    // ---------------------------------------------------------------- environment
    h += QStringLiteral(
        "<h2>Environment</h2>\n<table width=\"100%\" cellspacing=\"0\" cellpadding=\"2\" "
        "border=\"1\">\n");
    std::map<std::string, std::set<std::string>> env;  // key -> distinct values over the runs
    for (const auto& r : m_runs)
        for (auto it = r.environment.begin(); it != r.environment.end(); ++it)
            env[it.key()].insert(it.value().is_string() ? it.value().get<std::string>()
                                                        : it.value().dump());
    auto row = [&](const QString& k, const QString& v) {
        h += QStringLiteral("<tr><th>%1</th><td>%2</td></tr>\n").arg(k, v);
    };
    const char* keys[][2] = {{"retort_version", "Retort (runs)"},
                             {"git_revision", "Git revision"},
                             {"os", "OS"},
                             {"cpu", "CPU"},
                             {"cpu_cores", "CPU cores"},
                             {"threads", "Threads"},
                             {"libtorch", "LibTorch"},
                             {"blas", "BLAS"},
                             {"device", "Device"},
                             {"host", "Host"}};
    for (const auto& k : keys) {
        auto it = env.find(k[0]);
        if (it == env.end()) continue;
        QStringList values;
        for (const auto& v : it->second) values << esc(v);
        row(QString::fromLatin1(k[1]), values.join(QStringLiteral("; ")));
    }
    row(QStringLiteral("Report written by"), esc(versionString()));
    row(QStringLiteral("Qt"), QString::fromLatin1(qVersion()));
    row(QStringLiteral("QCustomPlot"), QStringLiteral(QCUSTOMPLOT_VERSION_STR));
    h += QStringLiteral("</table>\n");

    // ---------------------------------------------------------------- plots
    // Language models are placed by validation perplexity (the plot's axis says so): the
    // heading and the text say the same.
    const bool perplexityPlot = languageModelRuns(m_runs);
    h += perplexityPlot ? QStringLiteral("<h2>Perplexity versus compressed size</h2>\n")
                        : QStringLiteral("<h2>Accuracy versus compressed size</h2>\n");
    if (completed.empty()) {
        h += QStringLiteral("<p class=\"muted\">No completed runs yet.</p>\n");
    } else {
        h += QStringLiteral(
                 "<p>Every completed run (labelled with its id) by compressed file size, "
                 "sparse indices and scales included%1; the dashed line is the Pareto "
                 "front, faded points are dominated, the star is the teacher.</p>\n")
                 .arg(perplexityPlot ? QStringLiteral(", and validation perplexity (lower is "
                                                      "better: the axis is reversed)")
                                     : QString());
        h += QStringLiteral("<p><img src=\"%1\" width=\"%2\" alt=\"quality versus size\"></p>\n")
                 .arg(image(QStringLiteral("accuracy-vs-size"),
                            images.at(QStringLiteral("accuracy-vs-size"))))
                 .arg(imageWidth);
        if (auto it = images.find(QStringLiteral("accuracy-vs-size-means")); it != images.end())
            h += QStringLiteral(
                     "<p>The configurations (C1, C2, … as in Findings) at their means over "
                     "seeds, with the 95 % interval of the mean as a whisker; the dashed line "
                     "is the front of the means; hollow points are undecided (a configuration "
                     "as small or smaller is as accurate within noise), faded ones dominated "
                     "beyond noise.</p>\n<p><img src=\"%1\" width=\"%2\" alt=\"configuration "
                     "means versus size\"></p>\n")
                     .arg(image(it->first, it->second))
                     .arg(imageWidth);
    }
    if (hasSeeds())
        h += QStringLiteral(
            "<p class=\"muted\">The curves are configuration means over their seeds, with the "
            "95 % interval of the mean at each epoch shaded.</p>\n");
    else if (m_runs.size() > 12)
        h += QStringLiteral(
                 "<p class=\"muted\">With %1 runs, the curves of the Pareto-front runs are drawn "
                 "solid and named in the legend; the others are faded.</p>\n")
                 .arg(m_runs.size());
    const char* curveTitles[][2] = {
        {"train_loss", "Training loss (total: λ·T²·soft + (1−λ)·hard)"},
        {"val_accuracy", "Validation accuracy"},
        {"val_perplexity", "Validation perplexity"},
        {"teacher_pretrain_val_perplexity", "Teacher pretraining: validation perplexity"},
        {"student_pretrain_val_perplexity", "Student pretraining: validation perplexity"}};
    for (const auto& c : curveTitles) {
        auto it = images.find(QString::fromLatin1(c[0]));
        if (it == images.end()) continue;
        h += QStringLiteral(
                 "<h2>%1 per epoch</h2>\n<p><img src=\"%2\" width=\"%3\" alt=\"%1\"></p>\n")
                 .arg(QString::fromUtf8(c[1]), image(it->first, it->second))
                 .arg(imageWidth);
    }

    // ---------------------------------------------------------------- results, specs
    if (m_findings) {
        h += report::groupedResultsHtml(*m_findings, m_runs);
        h += report::specsHtml(*m_findings);
    } else {
        h += QStringLiteral("<h2>Results</h2>\n<p class=\"muted\">No completed runs yet.</p>\n");
    }

    // ---------------------------------------------------------------- layers
    h += QStringLiteral(
        "<h2>Per-layer sparsity</h2>\n<p>Share of each Linear/Conv2d weight that "
        "is zero in the final student (nonzero / weights).</p>\n<table width=\"100%\" "
        "cellspacing=\"0\" cellpadding=\"2\" border=\"1\">\n"
        "<tr><th>Run</th><th>Layers</th></tr>\n");
    bool anyLayers = false;
    for (const auto& r : m_runs) {
        const auto layers = m_store.layers(r.id);
        if (layers.empty()) continue;
        anyLayers = true;
        QStringList parts;
        for (const auto& l : layers)
            parts << QStringLiteral("<code>%1</code> %2 % (%3/%4)")
                         .arg(esc(l.layer))
                         .arg(l.numel ? 100.0 * (1.0 - double(l.nonzero) / double(l.numel)) : 0.0,
                              0, 'f', 1)
                         .arg(l.nonzero)
                         .arg(l.numel);
        h += QStringLiteral("<tr><td>%1</td><td>%2</td></tr>\n")
                 .arg(r.id)
                 .arg(parts.join(QStringLiteral(" · ")));
    }
    if (!anyLayers)
        h += QStringLiteral("<tr><td colspan=\"2\"><i>no completed runs</i></td></tr>\n");
    h += QStringLiteral("</table>\n");

    h += report::sensitivityHtml(m_store, m_runs);

    // ---------------------------------------------------------------- reproduce
    h += QStringLiteral(
        "<h2>Reproducing a run</h2>\n<p>Each run's full spec (sweep point, "
        "defaults filled in, seeds, threads and device) is stored in the project. "
        "These commands write it out and run it again into a new project; with "
        "the same threads and device the results are the same.</p>\n<pre>");
    const std::string path = shellQuote(m_store.path());
    for (const auto& r : m_runs) {
        const std::string file = "run-" + std::to_string(r.id) + ".json";
        h += esc("# run " + std::to_string(r.id) + ": " + r.name + "\n" + "retort-cli show " +
                 std::to_string(r.id) + " --project " + path + " --spec > " + file +
                 "\nretort-cli run " + file + " --project reproduce.retort\n");
    }
    h += QStringLiteral("</pre>\n</body></html>\n");
    return h;
}

void ReportWriter::write(const QString& path) const {
    const QString suffix = QFileInfo(path).suffix().toLower();
    const std::string target = path.toStdString();
    if (path == QLatin1String("-"))
        throw std::runtime_error("a report needs a file name ending in .html or .pdf, not '-'");
    if (QFileInfo(path).isDir())
        throw std::runtime_error(target +
                                 ": is a folder; give a file name ending in .html or .pdf");
    if (suffix == QLatin1String("html") || suffix == QLatin1String("htm")) {
        const QString text = html([](const QString&, const QImage& img) {
            QByteArray png;
            QBuffer buffer(&png);
            buffer.open(QIODevice::WriteOnly);
            img.save(&buffer, "PNG");
            return QStringLiteral("data:image/png;base64,") + QString::fromLatin1(png.toBase64());
        });
        writeExport(target, text.toStdString(), m_store.path());
        return;
    }
    if (suffix != QLatin1String("pdf"))
        throw std::runtime_error(target + ": the report is written as .html or .pdf, not '." +
                                 suffix.toStdString() + "'");
    QTextDocument doc;
    const QString text = html(
        [&doc](const QString& name, const QImage& img) {
            const QString url = QStringLiteral("retort-plot:") + name + QStringLiteral(".png");
            doc.addResource(QTextDocument::ImageResource, QUrl(url), img);
            return url;
        },
        true);
    doc.setHtml(text);
    // Rendered in memory, then written like every export (never over a project; a missing
    // folder is reported by name, not by Qt's painter).
    QByteArray pdf;
    {
        QBuffer buffer(&pdf);
        buffer.open(QIODevice::WriteOnly);
        QPdfWriter writer(&buffer);
        writer.setTitle(QStringLiteral("Retort report"));
        writer.setCreator(QString::fromStdString(versionString()));
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize::A4), QPageLayout::Portrait,
                                         QMarginsF(15, 15, 15, 15), QPageLayout::Millimeter));
        keepHeadingsWithTheirText(doc, writer);
        doc.print(&writer);
    }
    if (pdf.isEmpty()) throw std::runtime_error(target + ": the PDF could not be rendered");
    writeExport(target, pdf.toStdString(), m_store.path());
}

int runReportCommand(const std::string& project, const std::string& out,
                     const std::string& baseline) {
    std::unique_ptr<QApplication> app;
    if (!QCoreApplication::instance()) {
        // A headless run has no session: Qt's note that XDG_RUNTIME_DIR is unset is noise here.
        qInstallMessageHandler([](QtMsgType type, const QMessageLogContext&, const QString& msg) {
            if (msg.startsWith(QLatin1String("QStandardPaths: XDG_RUNTIME_DIR"))) return;
            if (type != QtDebugMsg) std::cerr << msg.toStdString() << "\n";
        });
        // Rendering needs no display: the offscreen platform, unless the user chose one.
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
        static int argc = 1;
        static char name[] = "retort-cli";
        static char* argv[] = {name, nullptr};
        app = std::make_unique<QApplication>(argc, argv);
    }
    ProjectStore store(project, ProjectStore::Access::ReadOnly);
    ReportWriter writer(store, baseline);
    writer.write(QString::fromStdString(out));
    std::cerr << "wrote the report of " << store.runs().size() << " run(s) to " << out << "\n";
    return 0;
}

}  // namespace retort::ui

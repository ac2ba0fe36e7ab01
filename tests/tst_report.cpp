// The report: self-contained HTML whose project strings stay text, and a PDF of the same
// content, both written offscreen.
#include "testutil.h"

#include "report/reportwriter.h"
#include "spec/specvalidator.h"
#include "store/projectstore.h"
#include "train/runner.h"

#include <QApplication>
#include <QImage>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTextDocument>

using namespace retort;
using namespace retort::ui;

class TestReport : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_project;

    /// A copy of the project at <name>.retort, changed by @p sql.
    std::string copyWith(const QString& name, const char* sql) {
        const QString copy = m_dir.filePath(name + ".retort");
        QFile::remove(copy);
        if (!QFile::copy(m_project, copy)) return {};
        test::sql(copy.toStdString(), sql);
        return copy.toStdString();
    }

    /// The HTML report of @p project, as written to a file.
    QString reportHtml(const std::string& project) {
        ProjectStore store(project, ProjectStore::Access::ReadOnly);
        const QString path = QString::fromStdString(project) + ".html";
        ReportWriter(store).write(path);
        QFile f(path);
        f.open(QIODevice::ReadOnly);
        return QString::fromUtf8(f.readAll());
    }

private Q_SLOTS:
    void initTestCase() {
        m_project = m_dir.filePath("report.retort");
        ProjectStore store(m_project.toStdString());
        Json j = test::smallSyntheticSpec();
        j["name"] = "<script>alert(1)</script> & \"quotes\"";
        j["sweep"] = {{"prune.sparsity", {0.0, 0.8}}};
        j["quantize"] = {{"bits", 8}};
        SpecValidator v(&store);
        Runner runner(store);
        for (const auto& p : v.plan(j)) {
            const int64_t id = store.createRun(p.name, p.spec.toJson(), p.params);
            QCOMPARE(runner.run(id, p.spec).status, RunStatus::Completed);
        }
        // A failed run with an error message that is markup, too.
        const int64_t bad = store.createRun("<b>bad</b>", j, Json::object());
        store.setStatus(bad, RunStatus::Failed, "<img src=x onerror=alert(2)>");
    }

    void htmlIsSelfContainedAndEscaped() {
        ProjectStore store(m_project.toStdString(), ProjectStore::Access::ReadOnly);
        const QString path = m_dir.filePath("report.html");
        ReportWriter(store).write(path);
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString html = QString::fromUtf8(f.readAll());
        // Project strings are text: no script or injected image element, the names escaped.
        QVERIFY(!html.contains("<script", Qt::CaseInsensitive));
        QVERIFY(!html.contains("<img src=x"));
        QVERIFY(!html.contains("<b>bad</b>"));
        QVERIFY(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"));
        QVERIFY(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
        // Nothing is fetched: every src is an embedded PNG that decodes; no links out.
        QRegularExpression src(QStringLiteral("src=\"([^\"]*)\""));
        int images = 0;
        for (auto it = src.globalMatch(html); it.hasNext();) {
            const QString s = it.next().captured(1);
            QVERIFY2(s.startsWith("data:image/png;base64,"), qPrintable(s.left(60)));
            QImage img;
            QVERIFY(img.loadFromData(QByteArray::fromBase64(s.mid(22).toLatin1()), "PNG"));
            QVERIFY(img.width() >= 900);
            ++images;
        }
        QCOMPARE(images, 3);  // accuracy vs size, training loss, validation accuracy
        QVERIFY(!html.contains("http://") && !html.contains("https://"));
        QVERIFY(!html.contains("<link"));
        // The sections a reader looks for, with real numbers in them.
        for (const char* s :
             {"Summary", "Environment", "Accuracy versus compressed size", "Results", "Specs",
              "Per-layer sparsity", "Reproducing a run", "LibTorch", "QCustomPlot",
              "prune.sparsity", "retort-cli show 2 --project"})
            QVERIFY2(html.contains(s), s);
        QVERIFY(html.contains(QStringLiteral("3 run(s): 2 completed, 1 failed")));
    }

    void pdfHasTheSameContent() {
        ProjectStore store(m_project.toStdString(), ProjectStore::Access::ReadOnly);
        const QString path = m_dir.filePath("report.pdf");
        ReportWriter(store).write(path);
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray pdf = f.readAll();
        QVERIFY(pdf.startsWith("%PDF-"));
        const QString pdftotext = QStandardPaths::findExecutable("pdftotext");
        if (pdftotext.isEmpty()) QFAIL(RETORT_MISSING("poppler-utils", "pdftotext"));
        // The three plots are images in the PDF (pdfimages lists them, one line each after
        // its two header lines).
        QProcess images;
        images.start(QStandardPaths::findExecutable("pdfimages"), {"-list", path});
        QVERIFY(images.waitForFinished(60000));
        const QStringList lines =
            QString::fromUtf8(images.readAllStandardOutput()).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size() - 2, 3);
        QProcess p;
        p.start(pdftotext, {"-layout", path, "-"});
        QVERIFY(p.waitForFinished(60000));
        const QString text = QString::fromUtf8(p.readAllStandardOutput());
        for (const char* s : {"Summary", "Environment", "Per-layer sparsity", "Reproducing a run",
                              "<script>alert(1)</script>"})
            QVERIFY2(text.contains(s), s);
    }

    void runsAreChosenOnValidationNeverOnTest() {
        // Before: "most accurate" and the Pareto front were chosen by test accuracy. Here run 1
        // is better on validation, run 2 on test (and smaller): the report must pick run 1.
        const std::string p =
            copyWith("choice",
                     "UPDATE runs SET results = json_set(results, '$.val_accuracy', 0.9, "
                     "'$.test_accuracy', 0.5) WHERE id = 1;"
                     "UPDATE runs SET results = json_set(results, '$.val_accuracy', 0.6, "
                     "'$.test_accuracy', 0.95) WHERE id = 2;");
        QVERIFY(!p.empty());
        auto summary = [&] {
            const QString html = reportHtml(p);
            return html.mid(html.indexOf("<h2>Summary"), 2500);
        };
        QString s = summary();
        QVERIFY2(s.contains("Most accurate on validation: run 1 "), qPrintable(s));
        QVERIFY2(s.contains("Pareto front (validation accuracy vs compressed size): run(s) 1, 2"),
                 qPrintable(s));
        // Without a validation split the choice can only be on test, and the report says so.
        test::sql(p, "UPDATE runs SET results = json_remove(results, '$.val_accuracy')");
        s = summary();
        QVERIFY2(s.contains("Most accurate: run 2 ") && s.contains("chosen on test"),
                 qPrintable(s));
        QVERIFY2(s.contains("test accuracy: these runs have no validation split"), qPrintable(s));
    }

    void languageModelsAreChosenByPerplexity() {
        // The two runs as language models: run 1 has the better next-token accuracy on
        // validation, run 2 the lower (better) validation perplexity; perplexity decides.
        const std::string p =
            copyWith("lm",
                     "UPDATE runs SET results = json_set(results, '$.task', 'language_model', "
                     "'$.val_accuracy', 0.30, '$.val_perplexity', 120.5, '$.test_perplexity', "
                     "119.25) WHERE id = 1;"
                     "UPDATE runs SET results = json_set(results, '$.task', 'language_model', "
                     "'$.val_accuracy', 0.20, '$.val_perplexity', 95.5, '$.test_perplexity', "
                     "96.75) WHERE id = 2;");
        QVERIFY(!p.empty());
        const QString html = reportHtml(p);
        const QString s = html.mid(html.indexOf("<h2>Summary"), 2500);
        QVERIFY2(s.contains("Lowest validation perplexity: run 2 ") && s.contains("96.75"),
                 qPrintable(s));
        QVERIFY2(s.contains("Pareto front (validation perplexity vs compressed size)"),
                 qPrintable(s));
        // The plot's heading says what it plots (it said accuracy over a perplexity plot).
        QVERIFY(html.contains("<h2>Perplexity versus compressed size</h2>"));
        QVERIFY(!html.contains("<h2>Accuracy versus compressed size</h2>"));
        // A decoder's spec stores a masked share it never uses: the Specs leave it out (they
        // listed "student.pretrain.mask_fraction = 0.15" under a language model), and keep
        // the keys that mean something.
        const std::string decoder =
            copyWith("lm-spec",
                     "UPDATE runs SET spec = json_set(spec, '$.task', 'language_model', "
                     "'$.student.pretrain', json('{\"mask_fraction\": 0.15, \"epochs\": 2}'))");
        const QString specs = reportHtml(decoder).section("<h2>Specs</h2>", 1);
        QVERIFY2(specs.contains("student.pretrain.epochs = 2") && !specs.contains("mask_fraction"),
                 qPrintable(specs.left(3000)));
        // The Findings speak perplexity, not accuracy.
        const QString findings = html.mid(html.indexOf("<h2>Findings"), 3000);
        QVERIFY2(
            findings.contains("test perplexity") && findings.contains("units of test perplexity"),
            qPrintable(findings));
    }

    void findingsOfASeededProject() {
        // Three configurations over seeds 1–3 (testutil.h: lambda 0.9 gains +3.00 pt
        // [+0.52, +5.48], p 0.035, within noise once Holm-adjusted over the 2 comparisons;
        // lambda 0.5 ±0.00 [−2.48, +2.48] within noise) and a failed run.
        const QString path = m_dir.filePath("seeded.retort");
        {
            ProjectStore store(path.toStdString());
            test::addSeededStudy(store);
            const int64_t bad = store.createRun("broken", test::smallSyntheticSpec(), {});
            store.setStatus(bad, RunStatus::Failed, "out of memory");
        }
        ProjectStore store(path.toStdString(), ProjectStore::Access::ReadOnly);
        const QString htmlPath = m_dir.filePath("seeded.html");
        ReportWriter(store).write(htmlPath);
        QFile f(htmlPath);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString html = QString::fromUtf8(f.readAll());
        // Findings come first, before the runs' summary and the details.
        const int findings = html.indexOf("<h2>Findings</h2>");
        QVERIFY(findings > 0 && findings < html.indexOf("<h2>Summary</h2>") &&
                html.indexOf("<h2>Summary</h2>") < html.indexOf("<h2>Environment</h2>"));
        for (const char* s :
             {"Baseline: C1 (distill.lambda=0) — label-only",
              "C2 (distill.lambda=0.9): +3.00 pt [+0.52, +5.48] test accuracy, paired over 3 "
              "seeds, p = 0.035, Holm-adjusted p = 0.070 — within noise after Holm's correction "
              "for 2 comparisons",
              "C3 (distill.lambda=0.5): ±0.00 pt [−2.48, +2.48] test accuracy, paired over 3 "
              "seeds, p = 1.000, Holm-adjusted p = 1.000 — within noise",
              "p Holm-adjusted over 2 comparisons with the baseline on test accuracy.",
              "No configuration beats the baseline beyond noise on test accuracy.",
              "Within noise: C2 (distill.lambda=0.9); C3 (distill.lambda=0.5).",
              "Teacher: 91.39 % test accuracy, 421,642 parameters; trained once, shared by all 9 "
              "completed runs.",
              "Runs not completed", "out of memory", "Configuration / run",
              // the curve title in UTF-8 (it was read as Latin-1: "Î»Â·TÂ²")
              "λ·T²·soft"})
            QVERIFY2(html.contains(QString::fromUtf8(s)), s);
        // The runs' plot, the configurations' means, loss and validation curves.
        QCOMPARE(html.count("src=\"data:image/png;base64,"), 4);
        // Each configuration's spec once, as its difference from the baseline's.
        const QString specs = html.mid(html.indexOf("<h2>Specs</h2>"));
        QVERIFY(specs.contains(">C2<") && specs.contains(">C3<") &&
                specs.contains("prune.sparsity"));

        // The PDF on A4: no word broken over lines in the tables. Before, the results table's
        // headers broke into one letter a line and its statuses into "complet / ed".
        const QString pdf = m_dir.filePath("seeded.pdf");
        ReportWriter(store).write(pdf);
        QProcess p;
        p.start(QStandardPaths::findExecutable("pdftotext"), {pdf, "-"});
        QVERIFY(p.waitForFinished(60000));
        const QString text = QString::fromUtf8(p.readAllStandardOutput());
        QVERIFY(text.indexOf("Findings") < text.indexOf("Summary"));
        QVERIFY2(text.count("completed") >= 9 + 1, qPrintable(text));  // 9 run rows + summary
        // ("Configuration" comes out as "Conﬁguration": the PDF keeps the fi ligature.)
        for (const char* word : {"Compressed", "undecided", "baseline", "n / status"})
            QVERIFY2(text.contains(word), word);
        // A baseline by label: the differences are to it.
        const QString other = m_dir.filePath("seeded-base.html");
        ReportWriter(store, "distill.lambda=0.9").write(other);
        QVERIFY(QString::fromUtf8(test::readFile(other.toStdString()).c_str())
                    .contains(QString::fromUtf8("C1 (distill.lambda=0): −3.00 pt")));
    }

    void languageModelPdfKeepsWordsWhole() {
        // A language model's report on A4: its "Size and speed" table has twelve columns of
        // long figures. Before, they did not fit and QTextDocument broke words over lines
        // ("Ru n", "Perplex ity", "169,1 96", "complete d"). Every word pdftotext reads from
        // the PDF must be a word of the report's text: a fragment is a broken word.
        const std::string p = copyWith(
            "lm-wide",
            "UPDATE runs SET results = json_set(results, '$.task', 'language_model', "
            "'$.val_perplexity', 1234.56, '$.test_perplexity', 1187.25, '$.param_count', 1691960, "
            "'$.nonzero_params', 845980, '$.size_bytes', 6767840, '$.compressed_size_bytes', "
            "1691996, '$.compression_ratio', 3.99, '$.sparsity', 0.5, '$.latency_ms', 12.345, "
            "'$.latency_ms_deployed', 11.234) WHERE id IN (1, 2)");
        QVERIFY(!p.empty());
        ProjectStore store(p, ProjectStore::Access::ReadOnly);
        const QString pdf = QString::fromStdString(p) + ".pdf";
        ReportWriter(store).write(pdf);
        auto words = [](QString text) {
            for (auto [ligature, letters] : {std::pair{0xFB00, "ff"},
                                             {0xFB01, "fi"},
                                             {0xFB02, "fl"},
                                             {0xFB03, "ffi"},
                                             {0xFB04, "ffl"}})
                text.replace(QChar(ligature), QString::fromLatin1(letters));
            static const QRegularExpression space(
                QStringLiteral("[\\s\\x{00a0}\\x{2028}\\x{2029}\\x{fdd0}\\x{fdd1}]+"));
            return text.split(space, Qt::SkipEmptyParts);
        };
        // The words of the HTML the PDF is laid out from. Where a word may break (a zero-width
        // space in a key=value label, after a slash or a hyphen), each run of its pieces is a
        // word too.
        QTextDocument doc;
        doc.setHtml(ReportWriter(store).html(
            [](const QString&, const QImage&) { return QString(); }, true));
        QSet<QString> whole;
        static const QRegularExpression breaks(QStringLiteral("\\x{200b}|(?<=[/-])"));
        for (const QString& w : words(doc.toRawText())) {
            const QStringList pieces = w.split(breaks);
            for (int a = 0; a < pieces.size(); ++a)
                for (int b = a + 1; b <= pieces.size(); ++b)
                    whole.insert(pieces.mid(a, b - a).join(QString()));
        }
        QProcess p2t;
        p2t.start(QStandardPaths::findExecutable("pdftotext"), {pdf, "-"});
        QVERIFY(p2t.waitForFinished(60000));
        const QStringList read = words(QString::fromUtf8(p2t.readAllStandardOutput()));
        QVERIFY(read.size() > 200);
        for (int page = 1; page < 100; ++page) whole.insert(QString::number(page));  // numbered
        QStringList broken;
        for (const QString& w : read)
            if (!whole.contains(w)) broken << w;
        QVERIFY2(broken.isEmpty(), qPrintable(QString::number(broken.size()) +
                                              " fragments: " + broken.join(QStringLiteral(" | "))));
        // No page ends with a heading whose section starts on the next ("Validation accuracy per
        // epoch" closed a page of a language-model study's report, its plot on the next).
        QStringList headings;
        const QString print =
            ReportWriter(store).html([](const QString&, const QImage&) { return QString(); }, true);
        // (A heading over a plot is left out: pdftotext does not see the plot below it.)
        static const QRegularExpression heading(
            QStringLiteral("<h[1-4][^>]*>(.*?)</h[1-4]>\\s*(<p><img)?"));
        for (auto m = heading.globalMatch(print); m.hasNext();) {
            const auto match = m.next();
            if (!match.captured(2).isEmpty()) continue;
            QTextDocument plain;
            plain.setHtml(match.captured(1));
            headings << plain.toPlainText().simplified();
        }
        QVERIFY(headings.size() > 5);
        QProcess info;
        info.start(QStandardPaths::findExecutable("pdfinfo"), {pdf});
        QVERIFY(info.waitForFinished(60000));
        const int pages = QRegularExpression(QStringLiteral("Pages:\\s+(\\d+)"))
                              .match(QString::fromUtf8(info.readAllStandardOutput()))
                              .captured(1)
                              .toInt();
        QVERIFY(pages > 1);
        for (int page = 1; page <= pages; ++page) {
            QProcess one;
            one.start(QStandardPaths::findExecutable("pdftotext"),
                      {"-f", QString::number(page), "-l", QString::number(page), pdf, "-"});
            QVERIFY(one.waitForFinished(60000));
            QStringList lines;
            QString text = QString::fromUtf8(one.readAllStandardOutput());
            text.replace(QChar(0xFB01), "fi").replace(QChar(0xFB02), "fl");
            static const QRegularExpression number(QStringLiteral("^\\d+$"));  // page numbers
            for (const QString& l : text.split('\n'))
                if (!l.simplified().isEmpty() && !number.match(l.simplified()).hasMatch())
                    lines << l.simplified();
            if (page < pages && !lines.isEmpty())
                QVERIFY2(!headings.contains(lines.back()),
                         qPrintable(QStringLiteral("page %1 ends with the heading '%2'")
                                        .arg(page)
                                        .arg(lines.back())));
        }
        QVERIFY(read.contains(QStringLiteral("1,691,960")) &&
                read.contains(QStringLiteral("perplexity")));
    }

    void unknownSuffixIsRefusedNamingTheFile() {
        ProjectStore store(m_project.toStdString(), ProjectStore::Access::ReadOnly);
        try {
            ReportWriter(store).write(m_dir.filePath("report.docx"));
            QFAIL("wrote a .docx");
        } catch (const std::runtime_error& e) {
            QVERIFY(QString(e.what()).contains("report.docx"));
        }
        QVERIFY(!QFile::exists(m_dir.filePath("report.docx")));
    }
};

QTEST_MAIN(TestReport)
#include "tst_report.moc"

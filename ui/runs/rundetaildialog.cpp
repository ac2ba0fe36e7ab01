#include "runs/rundetaildialog.h"

#include "runs/sensitivityview.h"
#include "store/pretrainresults.h"
#include "store/projectstore.h"
#include "store/resultcolumns.h"
#include "train/generation.h"

#include <QApplication>
#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <thread>

namespace retort::ui {

namespace {
QPlainTextEdit* jsonView(const Json& j, QWidget* parent) {
    auto* e = new QPlainTextEdit(parent);
    e->setReadOnly(true);
    e->setPlainText(QString::fromStdString(j.dump(2)));
    e->setFont(QFont(QStringLiteral("monospace")));
    return e;
}
/// A per-epoch figure as a reader wants it: accuracies and sparsity in percent, perplexities
/// with two decimals, losses with four, seconds with one, counts whole; the rest 4 significant
/// digits (not 6: "2.46112" read as noise).
QString metricText(const std::string& name, double v) {
    auto ends = [&](const char* tail) {
        const std::string t(tail);
        return name.size() >= t.size() && name.compare(name.size() - t.size(), t.size(), t) == 0;
    };
    if (!std::isfinite(v)) return QStringLiteral("–");
    if (ends("accuracy") || ends("sparsity") || ends("f1"))
        return QStringLiteral("%1 %").arg(100.0 * v, 0, 'f', 2);
    if (ends("perplexity")) return QString::number(v, 'f', 2);
    if (ends("loss")) return QString::number(v, 'f', 4);
    if (ends("seconds")) return QStringLiteral("%1 s").arg(v, 0, 'f', 1);
    if (ends("tokens") || ends("samples")) return QLocale().toString(qlonglong(std::llround(v)));
    return QString::number(v, 'g', 4);
}

QTableWidgetItem* cell(const QString& text) {
    auto* i = new QTableWidgetItem(text);
    i->setFlags(i->flags() & ~Qt::ItemIsEditable);
    return i;
}

/// A language-model run's page: the samples its evaluation stored, then a prompt line whose text
/// the run's student and teacher continue, greedily and by top-10 sampling, on a worker thread
/// (the window stays responsive; a closed dialog drops the answer).
QWidget* generatedTextPage(const ProjectStore& store, qint64 runId, const Json& generated,
                           QWidget* parent) {
    auto* page = new QWidget(parent);
    auto* v = new QVBoxLayout(page);
    const std::vector<std::pair<const char*, QString>> columns = {
        {"prompt", QObject::tr("prompt")},
        {"student_greedy", QObject::tr("student, greedy")},
        {"student_sampled", QObject::tr("student, top-10 sampled")},
        {"teacher_greedy", QObject::tr("teacher, greedy")},
        {"teacher_sampled", QObject::tr("teacher, top-10 sampled")}};
    if (generated.is_array() && !generated.empty()) {
        const int shown = generated.front().contains("teacher_greedy") ? 5 : 3;
        auto* t = new QTableWidget(int(generated.size()), shown, page);
        t->setObjectName(QStringLiteral("generated"));
        QStringList head;
        for (int c = 0; c < shown; ++c) head << columns[size_t(c)].second;
        t->setHorizontalHeaderLabels(head);
        t->verticalHeader()->hide();
        t->setWordWrap(true);
        for (int i = 0; i < int(generated.size()); ++i)
            for (int c = 0; c < shown; ++c) {
                const Json& row = generated[size_t(i)];
                const std::string key = columns[size_t(c)].first;
                const QString text = QString::fromStdString(row.value(key, std::string()));
                // An empty continuation says so (the model ended the text at once), and each
                // cell's tooltip says why its text stopped where the run stored it.
                QTableWidgetItem* item =
                    cell(text.isEmpty() && c > 0 ? QObject::tr("(no tokens)") : text);
                if (row.contains(key + "_stop"))
                    item->setToolTip(
                        QObject::tr("stopped: %1")
                            .arg(QString::fromStdString(row.value(key + "_stop", std::string()))));
                t->setItem(i, c, item);
            }
        for (int c = 0; c < shown; ++c)
            t->horizontalHeader()->setSectionResizeMode(
                c, c == 0 ? QHeaderView::ResizeToContents : QHeaderView::Stretch);
        t->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
        v->addWidget(t, 1);
    }
    // The models are read from the project now; the worker only computes.
    auto models = std::make_shared<std::vector<std::pair<QString, RunLanguageModel>>>();
    QString missing;
    for (const bool teacher : {false, true}) {
        try {
            models->emplace_back(teacher ? QObject::tr("teacher") : QObject::tr("student"),
                                 loadRunLanguageModel(store, runId, teacher));
        } catch (const std::exception& e) {
            if (!teacher) missing = QString::fromStdString(e.what());
        }
    }
    auto* row = new QHBoxLayout;
    auto* prompt = new QLineEdit(page);
    prompt->setObjectName(QStringLiteral("prompt"));
    prompt->setPlaceholderText(QObject::tr("a prompt, e.g. \"a small\""));
    auto* go = new QPushButton(QObject::tr("Generate"), page);
    go->setObjectName(QStringLiteral("generate"));
    row->addWidget(new QLabel(QObject::tr("Prompt:"), page));
    row->addWidget(prompt, 1);
    row->addWidget(go);
    v->addLayout(row);
    auto* out = new QPlainTextEdit(page);
    out->setObjectName(QStringLiteral("generatedOutput"));
    out->setReadOnly(true);
    out->setPlaceholderText(missing.isEmpty()
                                ? QObject::tr("Greedy and top-10 continuations (seed 1) of the "
                                              "student and the teacher appear here (an empty "
                                              "prompt starts a text).")
                                : missing);
    go->setEnabled(missing.isEmpty());
    v->addWidget(out, 1);
    auto start = [models, prompt, go, out] {
        // An empty prompt generates from the start mark.
        const std::string text = prompt->text().trimmed().toStdString();
        if (!go->isEnabled()) return;
        go->setEnabled(false);
        out->setPlainText(QObject::tr("generating on a worker thread…"));
        QPointer<QPlainTextEdit> target(out);
        QPointer<QPushButton> button(go);
        std::thread([models, text, target, button] {
            QString result;
            for (auto& [who, model] : *models) {
                try {
                    GenerationOptions o;
                    o.top_k = 10;
                    const GeneratedText g = continuePrompt(model, text, o);
                    result += QObject::tr(
                                  "%1, greedy: %2 | %3\n    (stopped: %5)\n"
                                  "%1, top-10 (seed 1): %2 | %4\n    (stopped: %6)\n")
                                  .arg(who, QString::fromStdString(text),
                                       QString::fromStdString(g.greedy),
                                       QString::fromStdString(g.sampled),
                                       QString::fromStdString(g.greedyStop.text()),
                                       QString::fromStdString(g.sampledStop.text()));
                } catch (const std::exception& e) {
                    result += QObject::tr("%1: %2\n").arg(who, QString::fromStdString(e.what()));
                }
            }
            QMetaObject::invokeMethod(
                qApp,
                [target, button, result] {
                    if (target) target->setPlainText(result);
                    if (button) button->setEnabled(true);
                },
                Qt::QueuedConnection);
        }).detach();
    };
    QObject::connect(go, &QPushButton::clicked, page, start);
    QObject::connect(prompt, &QLineEdit::returnPressed, page, start);
    return page;
}
/// The pretrained models the run started from (the teacher's, the student's), epoch by epoch as
/// stored with them; null when it started from none.
QWidget* pretrainingPage(const Json& results, QWidget* parent) {
    QWidget* page = nullptr;
    QVBoxLayout* v = nullptr;
    for (const auto& [key, stage, who] : kPretrainResults) {
        if (!results.contains(key) || !results[key].is_object()) continue;
        const Json& p = results[key];
        if (!page) {
            page = new QWidget(parent);
            v = new QVBoxLayout(page);
        }
        auto* label = new QLabel(page);
        label->setTextFormat(Qt::PlainText);
        label->setWordWrap(true);
        label->setText(QObject::tr("The %1 started from pretrained model %2 (%3), %4.")
                           .arg(QString::fromLatin1(who))
                           .arg(p.value("id", int64_t(0)))
                           .arg(p.value("objective", std::string("mlm")) == "next_token"
                                    ? QObject::tr("next-token prediction")
                                    : QObject::tr("masked LM"))
                           .arg(p.value("reused", false)
                                    ? QObject::tr("reused from the project")
                                    : QObject::tr("pretrained by this run in %1 s")
                                          .arg(p.value("seconds", 0.0), 0, 'f', 0)));
        v->addWidget(label);
        const Json epochs = p.value("epochs", Json::array());
        const char* columns[][2] = {{"train_loss", "train loss"},
                                    {"train_perplexity", "train perplexity"},
                                    {"val_loss", "val loss"},
                                    {"val_perplexity", "val perplexity"},
                                    {"epoch_seconds", "seconds"}};
        auto* t = new QTableWidget(int(epochs.size()), 6, page);
        t->setObjectName(QStringLiteral("pretraining-%1").arg(QString::fromLatin1(who)));
        QStringList head{QObject::tr("epoch")};
        for (const auto& c : columns) head << QObject::tr(c[1]);
        t->setHorizontalHeaderLabels(head);
        t->verticalHeader()->hide();
        for (int e = 0; e < int(epochs.size()); ++e) {
            t->setItem(e, 0, cell(QString::number(e + 1)));
            for (int c = 0; c < 5; ++c) {
                const Json& x = epochs[size_t(e)].value(columns[c][0], Json());
                t->setItem(e, c + 1,
                           cell(x.is_number() ? metricText(columns[c][0], x.get<double>())
                                              : QStringLiteral("–")));
            }
        }
        t->resizeColumnsToContents();
        v->addWidget(t, 1);
    }
    return page;
}
}  // namespace

void RunDetailDialog::showTargets(const Json& spec) {
    for (auto* view : findChildren<SensitivityView*>()) view->showTargets(spec);
}

RunDetailDialog::RunDetailDialog(const ProjectStore& store, qint64 runId, QWidget* parent)
    : QDialog(parent) {
    const auto run = store.run(runId);
    setWindowTitle(run ? tr("Run %1: %2").arg(runId).arg(QString::fromStdString(run->name))
                       : tr("Run %1").arg(runId));
    resize(760, 560);
    auto* layout = new QVBoxLayout(this);
    if (!run) {
        layout->addWidget(new QLabel(tr("The project has no run %1.").arg(runId), this));
        return;
    }
    auto* header = new QLabel(this);
    header->setTextFormat(Qt::PlainText);  // names come from the project: never rich text
    header->setText(
        tr("%1 — %2%3\ncreated %4 · started %5 · finished %6")
            .arg(QString::fromStdString(run->name), QString::fromUtf8(statusName(run->status)),
                 run->error.empty()
                     ? QString()
                     : QStringLiteral(" (%1)").arg(QString::fromStdString(run->error)),
                 QString::fromStdString(run->created_at), QString::fromStdString(run->started_at),
                 QString::fromStdString(run->finished_at)));
    header->setWordWrap(true);
    layout->addWidget(header);
    if (run->results.contains("deployed_note") && run->results["deployed_note"].is_string()) {
        // One line: why the form a user would deploy is (or is not) smaller and faster.
        auto* deployed = new QLabel(this);
        deployed->setTextFormat(Qt::PlainText);
        deployed->setObjectName(QStringLiteral("deployedNote"));
        deployed->setText(
            tr("Deployed: %1")
                .arg(QString::fromStdString(run->results["deployed_note"].get<std::string>())));
        deployed->setWordWrap(true);
        layout->addWidget(deployed);
    }
    auto* tabs = new QTabWidget(this);
    layout->addWidget(tabs, 1);

    // Metrics: one row per epoch, one column per metric.
    const EpochTable table = epochTable(store.metrics(runId));
    const auto& byEpoch = table.rows;
    const auto& names = table.names;
    auto* metrics = new QTableWidget(int(byEpoch.size()), int(names.size()) + 1, tabs);
    QStringList head{tr("epoch")};
    for (const auto& n : names) head << QString::fromStdString(n);
    metrics->setHorizontalHeaderLabels(head);
    metrics->verticalHeader()->hide();
    int row = 0;
    for (const auto& [epoch, values] : byEpoch) {
        metrics->setItem(row, 0, cell(QString::number(epoch)));
        int col = 1;
        for (const auto& n : names) {
            auto it = values.find(n);
            metrics->setItem(
                row, col++,
                cell(it == values.end() ? QStringLiteral("–") : metricText(n, it->second)));
        }
        ++row;
    }
    metrics->resizeColumnsToContents();
    tabs->addTab(metrics, tr("Metrics"));
    if (QWidget* pretraining = pretrainingPage(run->results, tabs))
        tabs->addTab(pretraining, tr("Pretraining"));

    const auto layers = store.layers(runId);
    auto* layerTable = new QTableWidget(int(layers.size()), 4, tabs);
    layerTable->setHorizontalHeaderLabels(
        {tr("layer"), tr("weights"), tr("nonzero"), tr("sparsity")});
    layerTable->verticalHeader()->hide();
    for (int i = 0; i < int(layers.size()); ++i) {
        const auto& l = layers[size_t(i)];
        layerTable->setItem(i, 0, cell(QString::fromStdString(l.layer)));
        layerTable->setItem(i, 1, cell(QString::number(l.numel)));
        layerTable->setItem(i, 2, cell(QString::number(l.nonzero)));
        layerTable->setItem(
            i, 3,
            cell(QString::number(
                     l.numel ? 100.0 * (1.0 - double(l.nonzero) / double(l.numel)) : 0.0, 'f', 2) +
                 " %"));
    }
    layerTable->horizontalHeader()->setStretchLastSection(true);
    layerTable->resizeColumnsToContents();
    tabs->addTab(layerTable, tr("Layers"));
    // Text runs: a few test samples with the label and the predictions, as plain text.
    const Json samples = run->results.value("test_samples", Json::array());
    if (samples.is_array() && !samples.empty()) {
        const bool teacher = samples.front().contains("teacher");
        auto* t = new QTableWidget(int(samples.size()), teacher ? 4 : 3, tabs);
        QStringList head{tr("text"), tr("label"), tr("student")};
        if (teacher) head << tr("teacher");
        t->setHorizontalHeaderLabels(head);
        t->verticalHeader()->hide();
        t->setWordWrap(true);
        const auto text = [](const Json& row, const char* k) {
            return QString::fromStdString(row.value(k, std::string()));
        };
        for (int i = 0; i < int(samples.size()); ++i) {
            const Json& r = samples[size_t(i)];
            t->setItem(i, 0, cell(text(r, "text")));
            t->setItem(i, 1, cell(text(r, "label")));
            for (int c = 2; c < (teacher ? 4 : 3); ++c) {
                const QString p = text(r, c == 2 ? "student" : "teacher");
                auto* item = cell(p == text(r, "label") ? p : QStringLiteral("✗ ") + p);
                t->setItem(i, c, item);
            }
        }
        t->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
        for (int c = 1; c < t->columnCount(); ++c)
            t->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
        // Rows follow the text column's width as the dialog resizes (measured once, before
        // the table had its width, they were sized for a narrow column and far too tall).
        t->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
        tabs->addTab(t, tr("Samples"));
    }
    // Language models: continuations of test prompts, greedy and top-10 sampled, by the student
    // (and the teacher), as plain text; and any prompt the user types, generated on a worker
    // thread.
    const Json generated = run->results.value("generated_samples", Json::array());
    if (run->results.value("model", Json::object()).value("language_model", false))
        tabs->addTab(generatedTextPage(store, runId, generated, tabs), tr("Generated text"));
    // Sensitivity tables measured on this run (retort-cli sensitivity), teacher first; a
    // completed run without one says how to measure it.
    bool anySensitivity = false;
    for (const char* model : {"teacher", "student"}) {
        const auto bytes = store.artifact(runId, std::string("sensitivity_") + model);
        if (!bytes) continue;
        const Json table = Json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
        auto* view = new SensitivityView(table, tr(model), tabs);
        view->setObjectName(QStringLiteral("sensitivity_%1").arg(QString::fromUtf8(model)));
        connect(view, &SensitivityView::targetChosen, this, &RunDetailDialog::perLayerTarget);
        tabs->addTab(view, tr("Sensitivity (%1)").arg(tr(model)));
        anySensitivity = true;
    }
    if (!anySensitivity && run->status == RunStatus::Completed) {
        auto* hint = new QLabel(
            tr("No sensitivity table yet. Measure one (validation split only) with\n\n"
               "retort-cli sensitivity %1 --project %2 --model teacher\n\n"
               "(or --model student); its heatmap then shows here, and clicking a cell writes "
               "that layer's target into the editor.")
                .arg(runId)
                .arg(QString::fromStdString(store.path())),
            tabs);
        hint->setTextFormat(Qt::PlainText);
        hint->setTextInteractionFlags(Qt::TextSelectableByMouse);
        hint->setWordWrap(true);
        hint->setAlignment(Qt::AlignTop | Qt::AlignLeft);
        hint->setMargin(12);
        tabs->addTab(hint, tr("Sensitivity"));
    }
    tabs->addTab(jsonView(run->results, tabs), tr("Results"));
    tabs->addTab(jsonView(run->spec, tabs), tr("Spec"));
    tabs->addTab(jsonView(run->environment, tabs), tr("Environment"));

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
}

}  // namespace retort::ui

#include "editor/experimenteditor.h"

#include "editor/specbudget.h"
#include "editor/sweepeditor.h"
#include "plots/plotsupport.h"
#include "runs/runsmodel.h"
#include "spec/speckeys.h"
#include "store/projectstore.h"

#include <torch/cuda.h>

#include <QAbstractSpinBox>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QThreadPool>
#include <QToolButton>
#include <QUndoCommand>
#include <QVBoxLayout>

#include <algorithm>

namespace retort::ui {

/// One field: its dotted key, widget, and how to move a value between them.
struct ExperimentEditor::Binding {
    QString key;
    QWidget* widget = nullptr;
    std::function<Json()> read;
    std::function<void(const Json&)> write;
    QString error;
    QString help;  ///< the registry's help as a tooltip (shown while there is no error)
};

/// Setting one key of the spec; consecutive edits of the same key merge into one undo step.
class SetValueCommand : public QUndoCommand {
public:
    SetValueCommand(ExperimentEditor* editor, QString key, Json before, Json after)
        : m_editor(editor),
          m_key(std::move(key)),
          m_before(std::move(before)),
          m_after(std::move(after)) {
        setText(QObject::tr("Change %1").arg(m_key));
    }
    void undo() override { m_editor->apply(m_key, m_before); }
    void redo() override { m_editor->apply(m_key, m_after); }
    int id() const override { return 1; }
    bool mergeWith(const QUndoCommand* other) override {
        auto* o = static_cast<const SetValueCommand*>(other);
        if (o->m_key != m_key) return false;
        m_after = o->m_after;
        return true;
    }

private:
    ExperimentEditor* m_editor;
    QString m_key;
    Json m_before, m_after;
};

namespace {

Json at(const Json& j, const QString& dotted) {
    const Json* node = findDotted(j, dotted.toStdString());
    return node ? *node : Json();
}

QString intList(const Json& v) {
    QStringList parts;
    if (v.is_array())
        for (const auto& e : v) parts << QString::fromStdString(e.dump());
    return parts.join(QStringLiteral(", "));
}

Json parseIntList(const QString& text) {
    Json out = Json::array();
    for (const QString& p : text.split(',', Qt::SkipEmptyParts)) {
        bool ok = false;
        const qlonglong v = p.trimmed().toLongLong(&ok);
        out.push_back(ok ? Json(v) : Json(p.trimmed().toStdString()));  // the engine flags the word
    }
    return out;
}

/// A per-layer map as the editor shows it: "conv1=0.3, fc1=0.9".
QString layerMapText(const Json& v) {
    QStringList parts;
    if (v.is_object())
        for (auto it = v.begin(); it != v.end(); ++it)
            parts << QStringLiteral("%1=%2").arg(QString::fromStdString(it.key()),
                                                 QString::fromStdString(it.value().dump()));
    return parts.join(QStringLiteral(", "));
}

/// "conv1=0.3, fc1: 0.9" as a JSON object; a value that is no number is kept as text and an
/// entry without a name as an empty name, so that the engine names what is wrong.
Json parseLayerMap(const QString& text) {
    Json out = Json::object();
    for (const QString& p : text.split(',', Qt::SkipEmptyParts)) {
        const QString part = p.trimmed();
        const int eq = part.indexOf(QRegularExpression(QStringLiteral("[=:]")));
        const QString name = (eq < 0 ? part : part.left(eq)).trimmed();
        const QString value = eq < 0 ? QString() : part.mid(eq + 1).trimmed();
        bool isInt = false, isReal = false;
        const qlonglong i = value.toLongLong(&isInt);
        const double d = value.toDouble(&isReal);
        out[name.toStdString()] = isInt ? Json(i) : isReal ? Json(d) : Json(value.toStdString());
    }
    return out;
}

QComboBox* combo(const QStringList& items, QWidget* parent) {
    auto* c = new QComboBox(parent);
    c->addItems(items);
    return c;
}

/// The spec a new editor opens with: the registry's defaults, with a small zoo teacher to distil
/// from (the teacher has no defaults: absent is "no teacher").
const char* kDefaultZooTeacher =
    R"({"arch": "cnn", "channels": [32, 64], "hidden": [128], "train": {"epochs": 5}})";
const char* kDefaultStudent = R"({"arch": "mlp", "hidden": [128]})";

}  // namespace

ExperimentEditor::ExperimentEditor(QWidget* parent)
    : QWidget(parent), m_validator(std::make_unique<SpecValidator>()) {
    buildForm();
    m_validateTimer.setSingleShot(true);
    m_validateTimer.setInterval(150);
    connect(&m_validateTimer, &QTimer::timeout, this, &ExperimentEditor::validate);
    installProbeScheduler();
    Json initial = {{"name", findSpecKey("name")->default_value},
                    {"teacher", Json::parse(kDefaultZooTeacher)},
                    {"student", Json::parse(kDefaultStudent)}};
    setSpec(initial);
}

ExperimentEditor::~ExperimentEditor() = default;

QWidget* ExperimentEditor::addField(QFormLayout* form, const QString& label, const QString& key,
                                    QWidget* widget, std::function<Json()> read,
                                    std::function<void(const Json&)> write) {
    auto b = std::make_unique<Binding>();
    b->key = key;
    b->widget = widget;
    b->read = std::move(read);
    b->write = std::move(write);
    widget->setObjectName(key);
    widget->setProperty("retortKey", key);
    if (form) form->addRow(label, widget);
    m_bindings.push_back(std::move(b));
    return widget;
}

void ExperimentEditor::buildForm() {
    auto* content = new QWidget;
    auto* column = new QVBoxLayout(content);
    auto group = [&](const QString& title, const std::string& section) {
        auto* g = new QGroupBox(title, content);
        g->setObjectName(QStringLiteral("section:") + QString::fromStdString(section));
        auto* f = new QFormLayout(g);
        f->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
        column->addWidget(g);
        return f;
    };
    auto line = [&](QFormLayout* f, const QString& label, const QString& key) {
        auto* e = new QLineEdit(content);
        addField(
            f, label, key, e, [e] { return Json(e->text().toStdString()); },
            [e](const Json& v) {
                e->setText(v.is_string() ? QString::fromStdString(v.get<std::string>())
                                         : QString());
            });
        connect(e, &QLineEdit::editingFinished, this,
                [this, key, e] { userEdit(key, Json(e->text().toStdString())); });
        return e;
    };
    auto list = [&](QFormLayout* f, const QString& label, const QString& key) {
        auto* e = new QLineEdit(content);
        // An example of the key's own kind (heads are not widths).
        const QString last = key.section('.', -1);
        e->setPlaceholderText(last == "layer_heads" ? tr("empty: heads in every layer; e.g. 4, 2")
                              : last == "layer_ffn" ? tr("empty: ffn in every layer; e.g. 512, 256")
                              : last == "channels"  ? tr("e.g. 32, 64")
                                                    : tr("e.g. 128, 64"));
        addField(
            f, label, key, e, [e] { return parseIntList(e->text()); },
            [e](const Json& v) { e->setText(intList(v)); });
        connect(e, &QLineEdit::editingFinished, this,
                [this, key, e] { userEdit(key, parseIntList(e->text())); });
        return e;
    };
    auto layerMap = [&](QFormLayout* f, const QString& label, const QString& key) {
        auto* e = new QLineEdit(content);
        e->setPlaceholderText(tr("e.g. conv1=0.3, fc1=0.9"));
        addField(
            f, label, key, e, [e] { return parseLayerMap(e->text()); },
            [e](const Json& v) { e->setText(layerMapText(v)); });
        connect(e, &QLineEdit::editingFinished, this,
                [this, key, e] { userEdit(key, parseLayerMap(e->text())); });
        return e;
    };
    auto integer = [&](QFormLayout* f, const QString& label, const QString& key, int lo, int hi) {
        auto* s = new QSpinBox(content);
        s->setRange(lo, hi);
        s->setKeyboardTracking(false);
        addField(
            f, label, key, s, [s] { return Json(s->value()); },
            [s](const Json& v) { s->setValue(v.is_number() ? v.get<int>() : 0); });
        connect(s, &QSpinBox::valueChanged, this, [this, key](int v) { userEdit(key, Json(v)); });
        return s;
    };
    auto real = [&](QFormLayout* f, const QString& label, const QString& key, double lo, double hi,
                    int decimals, double step) {
        auto* s = new QDoubleSpinBox(content);
        s->setRange(lo, hi);
        s->setDecimals(decimals);
        s->setSingleStep(step);
        s->setKeyboardTracking(false);
        addField(
            f, label, key, s, [s] { return Json(s->value()); },
            [s](const Json& v) { s->setValue(v.is_number() ? v.get<double>() : 0.0); });
        connect(s, &QDoubleSpinBox::valueChanged, this,
                [this, key](double v) { userEdit(key, Json(v)); });
        return s;
    };
    auto choice = [&](QFormLayout* f, const QString& label, const QString& key,
                      const QStringList& items) {
        auto* c = combo(items, content);
        addField(
            f, label, key, c, [c] { return Json(c->currentText().toStdString()); },
            [c](const Json& v) {
                c->setCurrentText(v.is_string() ? QString::fromStdString(v.get<std::string>())
                                                : QString());
            });
        connect(c, &QComboBox::activated, this,
                [this, key, c] { userEdit(key, Json(c->currentText().toStdString())); });
        return c;
    };

    // Every field comes from the key registry (spec/speckeys.h): its section, label, help,
    // range or choices. A few keys have a widget of their own (a section switch, a folder
    // button, the device list); the rest get one by type.
    auto tip = [](const SpecKey& k) {
        QString t = QString::fromStdString(k.help);
        const std::string allowed = allowedText(k);
        if (!allowed.empty()) t += QStringLiteral("\nallowed: ") + QString::fromStdString(allowed);
        if (!k.note.empty()) t += QStringLiteral(" (%1)").arg(QString::fromStdString(k.note));
        return plainToolTip(t);
    };
    auto custom = [&](const SpecKey& k, QFormLayout* f) -> QWidget* {
        const QString label = QString::fromStdString(k.label);
        if (k.key == "data.path") {
            auto* row = new QWidget(content);
            auto* h = new QHBoxLayout(row);
            h->setContentsMargins(0, 0, 0, 0);
            auto* e = line(nullptr, {}, "data.path");
            e->setParent(row);
            auto* browse = new QToolButton(row);
            browse->setText(QStringLiteral("…"));
            browse->setToolTip(tr("Choose the folder that holds the data files"));
            h->addWidget(e, 1);
            h->addWidget(browse);
            f->addRow(label, row);
            connect(browse, &QToolButton::clicked, this, [this, e] {
                const QString dir =
                    QFileDialog::getExistingDirectory(this, tr("Data Folder"), e->text());
                if (!dir.isEmpty()) userEdit("data.path", Json(dir.toStdString()));
            });
            return e;
        }
        if (k.key == "teacher") {
            auto* kind = combo(
                {tr("zoo architecture"), tr("TorchScript file"), tr("completed run"), tr("none")},
                content);
            addField(
                f, label, "teacher", kind, [this] { return at(m_spec, "teacher"); },
                [kind](const Json& t) {
                    kind->setCurrentIndex(t.is_null()                 ? 3
                                          : t.contains("torchscript") ? 1
                                          : t.contains("run")         ? 2
                                                                      : 0);
                });
            connect(kind, &QComboBox::activated, this, [this](int i) {
                Json t;
                if (i == 0) t = Json::parse(kDefaultZooTeacher);
                if (i == 1) t = {{"torchscript", ""}};
                if (i == 2)
                    t = {{"run",
                          m_teacherRun->count() ? m_teacherRun->itemData(0).toLongLong() : 0}};
                userEdit("teacher", t);
                if (i == 3 && at(m_spec, "distill.lambda").is_number() &&
                    at(m_spec, "distill.lambda").get<double>() > 0)
                    userEdit("distill.lambda", Json(0.0));
            });
            return kind;
        }
        if (k.key == "teacher.train") {
            auto* s = new QSpinBox(content);
            const SpecKey* epochs = findSpecKey("teacher.train.epochs");
            s->setRange(0, int(epochs->max.value_or(100000)));
            s->setSpecialValueText(tr("untrained (frozen at init)"));
            s->setKeyboardTracking(false);
            // The epochs of teacher.train, its other keys kept (they have fields of their own);
            // 0 removes the section (an untrained teacher).
            auto withEpochs = [this](int v) {
                if (!v) return Json();
                Json t = at(m_spec, "teacher.train");
                if (!t.is_object()) t = Json::object();
                t["epochs"] = v;
                return t;
            };
            addField(
                f, label, k.key.c_str(), s, [s, withEpochs] { return withEpochs(s->value()); },
                [s](const Json& v) { s->setValue(v.is_object() ? v.value("epochs", 0) : 0); });
            connect(s, &QSpinBox::valueChanged, this,
                    [this, withEpochs](int v) { userEdit("teacher.train", withEpochs(v)); });
            return s;
        }
        if (k.key == "teacher.run") {
            m_teacherRun = new QComboBox(content);
            addField(
                f, label, "teacher.run", m_teacherRun,
                [this] { return Json(m_teacherRun->currentData().toLongLong()); },
                [this](const Json& v) {
                    const int i = m_teacherRun->findData(
                        QVariant::fromValue<qlonglong>(v.is_number() ? v.get<qlonglong>() : 0));
                    m_teacherRun->setCurrentIndex(i);
                });
            connect(m_teacherRun, &QComboBox::activated, this, [this] {
                userEdit("teacher.run", Json(m_teacherRun->currentData().toLongLong()));
            });
            return m_teacherRun;
        }
        if (k.key == "prune" || k.key == "distill.features" || k.key == "teacher.pretrain" ||
            k.key == "student.pretrain") {
            auto* on = new QCheckBox(label, content);
            const QString name = QString::fromStdString(k.key);
            addField(
                f, {}, name, on, [on] { return Json(on->isChecked()); },
                [on](const Json& v) { on->setChecked(v.is_object()); });
            // An empty section: every key of it at its registry default.
            connect(on, &QCheckBox::toggled, this, [this, name](bool checked) {
                userEdit(name, checked ? Json::object() : Json());
            });
            return on;
        }
        if (k.key == "quantize") {
            QStringList items = {tr("none (fp32)")};
            const SpecKey* bits = findSpecKey("quantize.bits");
            for (const Json& b : bits->choices) items << tr("%1 bits").arg(b.get<int>());
            auto* box = combo(items, content);
            addField(
                f, label, "quantize", box, [this] { return at(m_spec, "quantize"); },
                [box, bits](const Json& v) {
                    int index = 0;
                    if (v.is_object()) {
                        const Json b = v.value("bits", bits->default_value);
                        const auto it = std::find(bits->choices.begin(), bits->choices.end(), b);
                        index = it == bits->choices.end() ? 0 : int(it - bits->choices.begin()) + 1;
                    }
                    box->setCurrentIndex(index);
                });
            connect(box, &QComboBox::activated, this, [this, bits](int i) {
                Json q;
                if (i > 0) {
                    q = at(m_spec, "quantize").is_object() ? at(m_spec, "quantize")
                                                           : Json::object();
                    q["bits"] = bits->choices.at(size_t(i - 1));
                }
                userEdit("quantize", q);
            });
            return box;
        }
        if (k.key == "device") {
            QStringList devices = {"auto", "cpu"};
            for (int i = 0; i < int(torch::cuda::device_count()); ++i)
                devices << QStringLiteral("cuda:%1").arg(i);
            return choice(f, label, "device", devices);
        }
        return nullptr;
    };
    auto generic = [&](const SpecKey& k, QFormLayout* f) -> QWidget* {
        const QString label = QString::fromStdString(k.label), name = QString::fromStdString(k.key);
        switch (k.type) {
            case KeyType::String:
                if (k.choices.empty()) return line(f, label, name);
                {
                    QStringList items;
                    for (const Json& c : k.choices)
                        items << QString::fromStdString(c.get<std::string>());
                    return choice(f, label, name, items);
                }
            case KeyType::Integer: {
                auto* s = integer(f, label, name, int(k.min.value_or(0)),
                                  int(std::min(k.max.value_or(1 << 30), double(1 << 30))));
                if (!k.note.empty() && k.note.rfind("0: ", 0) == 0)
                    s->setSpecialValueText(QString::fromStdString(k.note.substr(3)));
                return s;
            }
            case KeyType::Number:
                return real(f, label, name, k.min.value_or(0), k.max.value_or(1000), k.decimals,
                            k.step);
            case KeyType::Boolean: {
                auto* c = new QCheckBox(content);
                addField(
                    f, label, name, c, [c] { return Json(c->isChecked()); },
                    [c](const Json& v) { c->setChecked(v.is_boolean() && v.get<bool>()); });
                connect(c, &QCheckBox::clicked, this,
                        [this, name](bool checked) { userEdit(name, Json(checked)); });
                return c;
            }
            case KeyType::IntegerList:
                return list(f, label, name);
            case KeyType::NumberMap:
            case KeyType::IntegerMap:
                return layerMap(f, label, name);
            case KeyType::NumberList:
            case KeyType::Section:
                return nullptr;
        }
        return nullptr;
    };
    for (const SpecSection& section : specSections()) {
        if (section.name == "sweep") continue;
        QFormLayout* form = group(QString::fromStdString(section.title), section.name);
        for (const SpecKey& k : specKeys()) {
            if (k.section != section.name || !k.in_editor) continue;
            QWidget* w = custom(k, form);
            if (!w) w = generic(k, form);
            if (!w) continue;
            if (w->toolTip().isEmpty()) w->setToolTip(tip(k));
            for (auto& b : m_bindings)
                if (b->widget == w) b->help = w->toolTip();
        }
    }
    for (auto& b : m_bindings)
        if (b->key == "device") {
            b->help = torch::cuda::device_count()
                          ? tr("GPUs LibTorch sees: %1").arg(torch::cuda::device_count())
                          : tr("LibTorch sees no GPU: auto runs on the CPU");
            b->widget->setToolTip(b->help);
        }

    auto* sweepBox = new QGroupBox(tr("Sweep"), content);
    auto* sweepLayout = new QVBoxLayout(sweepBox);
    m_sweep = new SweepEditor(sweepBox);
    sweepLayout->addWidget(m_sweep);
    column->addWidget(sweepBox);
    QStringList keys;
    for (const SpecKey& k : specKeys())
        if (k.sweepable && k.type != KeyType::Section) keys << QString::fromStdString(k.key);
    m_sweep->setKeys(keys, [this](const QString& key) {
        std::vector<SpecIssue> ignored;
        const Json current = at(ExperimentSpec::fromJson(m_spec, ignored).toJson(), key);
        return Json::array({current});
    });
    connect(m_sweep, &SweepEditor::edited, this, [this] {
        QString err;
        Json s = m_sweep->sweep(&err);
        m_sweepError = err;
        userEdit("sweep", s);
    });

    auto* budgetBox = new QGroupBox(tr("Budget"), content);
    auto* budgetLayout = new QVBoxLayout(budgetBox);
    m_budget = new QLabel(budgetBox);
    m_budget->setTextFormat(Qt::PlainText);
    m_budget->setWordWrap(true);
    m_budget->setObjectName(QStringLiteral("budget"));
    budgetLayout->addWidget(m_budget);
    column->insertWidget(0, budgetBox);
    column->addStretch(1);

    auto* scroll = new QScrollArea(this);
    scroll->setWidget(content);
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->addWidget(scroll);
    m_scroll = scroll;
    // The wheel scrolls the panel; it changes a value only in the field that has the focus
    // (clicked or tabbed into), never in one the pointer happens to pass over.
    for (QWidget* w : content->findChildren<QWidget*>())
        if (qobject_cast<QAbstractSpinBox*>(w) || qobject_cast<QComboBox*>(w)) {
            w->setFocusPolicy(Qt::StrongFocus);
            w->installEventFilter(this);
        }
}

bool ExperimentEditor::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() == QEvent::Wheel) {
        auto* w = qobject_cast<QWidget*>(watched);
        if (w && !w->hasFocus()) {
            QCoreApplication::sendEvent(m_scroll->verticalScrollBar(), event);
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

void ExperimentEditor::setStore(const ProjectStore* store) {
    m_store = store;
    m_validator = std::make_unique<SpecValidator>(store);
    installProbeScheduler();
    m_teacherRun->clear();
    if (store)
        for (const auto& r : store->runs())
            if (r.status == RunStatus::Completed)
                m_teacherRun->addItem(
                    QStringLiteral("%1: %2").arg(r.id).arg(QString::fromStdString(r.name)),
                    QVariant::fromValue<qlonglong>(r.id));
    refreshWidgets();
    validateNow();
}

void ExperimentEditor::setSpec(const Json& spec) {
    m_spec = spec;
    m_undo.clear();
    m_sweepError.clear();
    m_sweep->clearSeeds();  // a new spec: the field shows its seeds, not what was typed before
    refreshWidgets();
    validateNow();
}

void ExperimentEditor::setValue(const QString& key, const Json& value) {
    userEdit(key, value);
}

void ExperimentEditor::userEdit(const QString& key, const Json& value) {
    if (m_refreshing) return;
    const Json before = at(m_spec, key);
    if (before == value) return;
    m_undo.push(new SetValueCommand(this, key, before, value));
}

void ExperimentEditor::apply(const QString& key, const Json& value) {
    setDotted(m_spec, key.toStdString(), value);
    refreshWidgets();
    m_validateTimer.start();
}

void ExperimentEditor::refreshWidgets() {
    m_refreshing = true;
    // Widgets show the effective values: what the spec says, defaults filled in.
    std::vector<SpecIssue> ignored;
    const Json effective = ExperimentSpec::fromJson(m_spec, ignored).toJson();
    for (const auto& b : m_bindings) {
        const QSignalBlocker block(b->widget);
        const SpecKey* k = findSpecKey(b->key.toStdString());
        const bool whole = k && k->type == KeyType::Section;
        // A per-layer map shows what was written, entries the engine refuses included.
        const bool map = k && (k->type == KeyType::NumberMap || k->type == KeyType::IntegerMap);
        Json v = at(whole || map ? m_spec : effective, b->key);
        if (v.is_null() && map) v = at(effective, b->key);
        if (v.is_null() && !whole) v = at(m_spec, b->key);
        // A key the spec leaves out (a stored spec omits defaults; a disabled section has none)
        // shows the registry's default, what a run would use, never the widget's minimum.
        if (v.is_null() && !whole && k) v = k->default_value;
        b->write(v);
    }
    m_sweep->blockSignals(true);
    m_sweep->setSweep(at(m_spec, "sweep"));
    m_sweep->blockSignals(false);
    m_refreshing = false;
    updateVisibility(effective);
}

void ExperimentEditor::updateVisibility(const Json& effective) {
    // From the registry's conditions: one on a section being there (prune, quantize, a
    // teacher) enables or disables the field; any other (the data format, the teacher's form,
    // the architecture) shows or hides it.
    auto show = [&](QWidget* w, const QString& key, bool visible) {
        (key == "data.path" ? w->parentWidget() : w)->setVisible(visible);
        if (QWidget* label = labelOf(w, key)) label->setVisible(visible);
    };
    for (const auto& b : m_bindings) {
        const SpecKey* k = findSpecKey(b->key.toStdString());
        if (!k) continue;
        bool visible = true, enabled = true;
        for (const KeyCondition& c : k->when) {
            const std::string v = conditionValue(effective, c.key);
            const bool in = std::find(c.values.begin(), c.values.end(), v) != c.values.end();
            const bool holds = in != c.negate;
            const bool presence = (c.values == std::vector<std::string>{"present"}) ||
                                  (c.negate && c.values == std::vector<std::string>{"none"});
            (presence ? enabled : visible) &= holds;
        }
        show(b->widget, b->key, visible);
        b->widget->setEnabled(enabled);
        if (!k->label_key.empty())
            if (auto* label = qobject_cast<QLabel*>(labelOf(b->widget, b->key))) {
                const auto it = k->labels.find(conditionValue(effective, k->label_key));
                label->setText(
                    QString::fromStdString(it != k->labels.end() ? it->second : k->label));
            }
    }
}

QWidget* ExperimentEditor::labelOf(QWidget* w, const QString& key) const {
    QWidget* target = key == "data.path" ? w->parentWidget() : w;  // the path's row: edit + button
    auto* form = qobject_cast<QFormLayout*>(
        target->parentWidget() ? target->parentWidget()->layout() : nullptr);
    return form ? form->labelForField(target) : nullptr;
}

QString ExperimentEditor::fieldLabel(const QString& key) const {
    for (const auto& b : m_bindings)
        if (b->key == key)
            if (auto* label = qobject_cast<QLabel*>(labelOf(b->widget, b->key)))
                return label->text();
    return {};
}

QWidget* ExperimentEditor::field(const QString& key) const {
    for (const auto& b : m_bindings)
        if (b->key == key) return b->widget;
    return nullptr;
}

Json ExperimentEditor::fieldValue(const QString& key) const {
    for (const auto& b : m_bindings)
        if (b->key == key) return b->read();
    return {};
}

QString ExperimentEditor::fieldError(const QString& key) const {
    for (const auto& b : m_bindings)
        if (b->key == key) return b->error;
    return {};
}

QString ExperimentEditor::budgetText() const {
    return m_budget->text();
}

void ExperimentEditor::installProbeScheduler() {
    // Reading a data set or loading a TorchScript teacher can take seconds: while the user edits,
    // those probes run on the thread pool and the editor validates again when one is done.
    QPointer<ExperimentEditor> self(this);
    m_validator->setProbeScheduler([self](std::function<void()> work) {
        QThreadPool::globalInstance()->start([self, work = std::move(work)] {
            work();
            QMetaObject::invokeMethod(
                qApp,
                [self] {
                    if (self) self->m_validateTimer.start();
                },
                Qt::QueuedConnection);
        });
    });
}

void ExperimentEditor::validateNow() {
    // Complete now, probes included (loading a spec, starting a run, tests).
    m_validator->setProbeScheduler({});
    validate();
    installProbeScheduler();
}

void ExperimentEditor::validate() {
    m_validateTimer.stop();
    std::vector<SpecIssue> issues;
    m_points.clear();
    try {
        m_points = m_validator->plan(m_spec);
    } catch (const SpecError& e) {
        issues = e.issues();
    }
    if (!m_sweepError.isEmpty()) {
        issues.push_back({"sweep", m_sweepError.toStdString()});
        m_points.clear();
    }
    // Mark each issue at the field of its key, or of the nearest enclosing key.
    for (auto& b : m_bindings) b->error.clear();
    QStringList unplaced;
    for (const auto& i : issues) {
        const QString key = QString::fromStdString(i.key);
        Binding* best = nullptr;
        for (auto& b : m_bindings)
            if ((key == b->key || key.startsWith(b->key + ".")) && b->widget->isVisibleTo(this) &&
                (!best || b->key.size() > best->key.size()))
                best = b.get();
        if (!best && key == "data.path") best = m_bindings.front().get();
        const QString text = QString::fromStdString(i.message);
        if (best)
            best->error +=
                (best->error.isEmpty() ? "" : "\n") + (key == best->key ? text : key + ": " + text);
        else
            unplaced << (key.isEmpty() ? text : key + ": " + text);
    }
    for (auto& b : m_bindings) {
        b->widget->setStyleSheet(
            b->error.isEmpty() ? QString()
                               : QStringLiteral("border: 1px solid #c0392b; background: #fdecea;"));
        // The problem when there is one, else what the key means.
        b->widget->setToolTip(b->error.isEmpty() ? b->help : plainToolTip(b->error));
    }
    m_sweep->setToolTip(plainToolTip(unplaced.join('\n')));
    m_sweep->setStyleSheet(unplaced.isEmpty()
                               ? QString()
                               : QStringLiteral("QTableWidget { border: 1px solid #c0392b; }"));
    m_valid = issues.empty();
    m_reason =
        m_valid ? QString()
                : QString::fromStdString(issues.front().key.empty()
                                             ? issues.front().message
                                             : issues.front().key + ": " + issues.front().message);
    m_sweep->setRunCount(m_valid ? int(m_points.size()) : 0);

    // The live budget, from the engine's counters.
    std::vector<SpecIssue> ignored;
    const ExperimentSpec spec =
        m_points.empty() ? ExperimentSpec::fromJson(m_spec, ignored) : m_points.front().spec;
    std::string dataError;
    const std::optional<DataShape> probed = m_validator->dataShape(spec.data, spec.task, dataError);
    const DataShape taskData = probed ? taskShape(*probed, spec.task) : DataShape();
    const DataShape* shape = probed ? &taskData : nullptr;
    QStringList lines;
    if (!shape) {
        lines << tr("Data: %1").arg(QString::fromStdString(dataError));
    } else {
        QStringList dims;
        for (int64_t d : shape->sample_shape) dims << QString::number(d);
        if (shape->language_model)
            lines << tr("Data: next token of %1 pieces at every position, context %2")
                         .arg(shape->vocab)
                         .arg(dims.join(QStringLiteral("×")));
        else
            lines << tr("Data: %1 classes, samples %2")
                         .arg(shape->classes)
                         .arg(dims.join(QStringLiteral("×")));
        if (shape->vocab > 0 && shape->vocab < spec.data.tokenizer.vocab_size)
            lines << tr("Tokenizer: %1 pieces, the project's for these texts (%2 asked for: the "
                        "texts give no more)")
                         .arg(QLocale().toString(qlonglong(shape->vocab)))
                         .arg(QLocale().toString(qlonglong(spec.data.tokenizer.vocab_size)));
        if (shape->vocab > 0 && shape->mean_tokens > 0)
            lines << tr("Text: %1 tokens per sample on average%2; FLOPs counted there")
                         .arg(shape->mean_tokens, 0, 'f', 1)
                         .arg(shape->mean_tokens_estimated
                                  ? tr(" (≈, estimated from the words: the run counts them)")
                                  : QString());
        auto describe = [&](const QString& who, const ModelBudget& b, bool student) {
            if (!b.known) return lines << tr("%1: %2").arg(who, b.note);
            const double flops = double(b.summary.flops);
            const QString flopText = flops >= 1e6 ? tr("%1 MFLOPs").arg(flops / 1e6, 0, 'f', 2)
                                                  : tr("%1 kFLOPs").arg(flops / 1e3, 0, 'f', 1);
            QString s =
                tr("%1: %2 params · %3 · %4 dense")
                    .arg(who, QLocale().toString(qlonglong(b.summary.param_count)), flopText,
                         QString::fromStdString(formatBytes(double(b.summary.size_bytes))));
            if (b.trainable >= 0 && b.trainable != b.summary.param_count)
                s += tr(" · %1 trainable (%2 %)")
                         .arg(QLocale().toString(qlonglong(b.trainable)))
                         .arg(100.0 * double(b.trainable) / double(b.summary.param_count), 0, 'f',
                              2);
            if (student)
                s += tr(" → ≈ %1 compressed")
                         .arg(QString::fromStdString(formatBytes(double(b.expected_compressed))));
            return lines << s;
        };
        describe(tr("Teacher"), teacherBudget(spec, *shape), false);
        describe(tr("Student"), studentBudget(spec, *shape), true);
    }
    if (m_points.size() > 1) lines << tr("Budget of the first of %1 runs.").arg(m_points.size());
    for (const auto& w : spec.warnings())
        lines << tr("Warning: %1").arg(QString::fromStdString(w.message));
    m_budget->setText(lines.join('\n'));
    Q_EMIT validityChanged(m_valid, m_reason);
}

}  // namespace retort::ui

#include "slurm/slurmdialog.h"

#include "slurm/slurmcontroller.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace retort::ui {

namespace {
QString q(const std::string& s) {
    return QString::fromStdString(s);
}
}  // namespace

SlurmDialog::SlurmDialog(std::function<std::string(const SlurmOptions&)> preview, QWidget* parent)
    : QDialog(parent), m_preview(std::move(preview)) {
    setWindowTitle(tr("Submit to Slurm"));
    auto* form = new QFormLayout;
    auto line = [&](const QString& label, const QString& placeholder, const QString& tip) {
        auto* e = new QLineEdit(this);
        e->setPlaceholderText(placeholder);
        e->setToolTip(tip);
        form->addRow(label, e);
        return e;
    };
    m_partition = line(tr("Partition:"), tr("cluster default"), tr("sbatch --partition"));
    m_time = line(tr("Time limit:"), tr("e.g. 02:00:00"), tr("sbatch --time, per task"));
    m_cpus = new QSpinBox(this);
    m_cpus->setRange(0, 1024);
    m_cpus->setSpecialValueText(tr("cluster default"));
    m_cpus->setToolTip(tr("sbatch --cpus-per-task; a spec with threads 0 uses them all"));
    form->addRow(tr("CPUs per task:"), m_cpus);
    m_gres = line(tr("GRES:"), tr("e.g. gpu:1"), tr("sbatch --gres"));
    m_mem = line(tr("Memory:"), tr("e.g. 8G"), tr("sbatch --mem"));
    m_account = line(tr("Account:"), QString(), tr("sbatch --account"));
    m_qos = line(tr("QOS:"), QString(), tr("sbatch --qos"));
    m_args = line(tr("More sbatch options:"), tr("e.g. --mail-type=END"),
                  tr("Further sbatch options, separated by spaces"));
    m_shared = new QLineEdit(this);
    m_shared->setPlaceholderText(tr("a folder every node sees"));
    m_shared->setToolTip(
        tr("Points, shard projects (one SQLite file per task), logs and job "
           "scripts go here; it must be on a filesystem the nodes share"));
    auto* browse = new QPushButton(tr("Browse…"), this);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString d =
            QFileDialog::getExistingDirectory(this, tr("Shared Folder"), m_shared->text());
        if (!d.isEmpty()) m_shared->setText(d);
    });
    auto* sharedRow = new QHBoxLayout;
    sharedRow->addWidget(m_shared, 1);
    sharedRow->addWidget(browse);
    form->addRow(tr("Shared folder:"), sharedRow);
    m_cli = line(tr("retort-cli on the nodes:"), SlurmController::defaultCli(),
                 tr("The nodes need retort-cli only (a build without the GUI is enough)"));

    m_script = new QPlainTextEdit(this);
    m_script->setReadOnly(true);
    m_script->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_script->setPlaceholderText(tr("Preview shows the job scripts sbatch will get."));
    m_script->setMinimumHeight(160);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Submit"));
    QPushButton* previewButton = buttons->addButton(tr("Preview"), QDialogButtonBox::ActionRole);
    connect(previewButton, &QPushButton::clicked, this, &SlurmDialog::showPreview);
    connect(buttons, &QDialogButtonBox::accepted, this, &SlurmDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_script, 1);
    layout->addWidget(buttons);
    resize(640, 560);
    setSettingsPath(q(defaultSettingsPath()));
}

void SlurmDialog::setSettingsPath(const QString& path) {
    m_settings = path;
    try {
        setOptions(loadSlurmSettings(path.toStdString()));
    } catch (const std::exception& e) {
        m_script->setPlainText(tr("The settings file cannot be read: %1").arg(q(e.what())));
    }
}

SlurmOptions SlurmDialog::options() const {
    SlurmOptions o;
    o.partition = m_partition->text().trimmed().toStdString();
    o.time = m_time->text().trimmed().toStdString();
    o.cpus_per_task = m_cpus->value();
    o.gres = m_gres->text().trimmed().toStdString();
    o.mem = m_mem->text().trimmed().toStdString();
    o.account = m_account->text().trimmed().toStdString();
    o.qos = m_qos->text().trimmed().toStdString();
    o.sbatch_args = m_args->text().trimmed().toStdString();
    o.shared_dir = m_shared->text().trimmed().toStdString();
    o.retort_cli = m_cli->text().trimmed().toStdString();
    return o;
}

void SlurmDialog::setOptions(const SlurmOptions& o) {
    m_partition->setText(q(o.partition));
    m_time->setText(q(o.time));
    m_cpus->setValue(int(o.cpus_per_task));
    m_gres->setText(q(o.gres));
    m_mem->setText(q(o.mem));
    m_account->setText(q(o.account));
    m_qos->setText(q(o.qos));
    m_args->setText(q(o.sbatch_args));
    m_shared->setText(q(o.shared_dir));
    m_cli->setText(q(o.retort_cli));
}

void SlurmDialog::showPreview() {
    try {
        m_script->setPlainText(q(m_preview(options())));
    } catch (const std::exception& e) {
        m_script->setPlainText(tr("Cannot submit: %1").arg(q(e.what())));
    }
}

void SlurmDialog::accept() {
    if (m_shared->text().trimmed().isEmpty()) {
        m_script->setPlainText(tr("Cannot submit: choose a shared folder that every node sees."));
        m_shared->setFocus();
        return;
    }
    try {
        saveSlurmSettings(m_settings.toStdString(), options());
    } catch (const std::exception& e) {
        m_script->setPlainText(tr("The options could not be saved: %1").arg(q(e.what())));
    }
    QDialog::accept();
}

}  // namespace retort::ui

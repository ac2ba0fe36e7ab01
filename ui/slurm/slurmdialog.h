#pragma once

#include "cluster/slurm.h"

#include <QDialog>

#include <functional>

class QLineEdit;
class QSpinBox;
class QPlainTextEdit;

namespace retort::ui {

/// Run ▸ Submit to Slurm: the sbatch options, the shared folder and the retort-cli the nodes
/// run. Starts from the [slurm] section of the settings file that retort-cli reads too, and
/// saves the options there when accepted. Preview shows the job scripts (a dry run).
class SlurmDialog : public QDialog {
    Q_OBJECT
public:
    /// @p preview returns the job scripts for the given options (or throws with the reason).
    SlurmDialog(std::function<std::string(const SlurmOptions&)> preview, QWidget* parent = nullptr);

    SlurmOptions options() const;
    void setOptions(const SlurmOptions& options);
    /// Where the options are read from and saved to (default: defaultSettingsPath()).
    void setSettingsPath(const QString& path);

    void accept() override;

private:
    void showPreview();

    std::function<std::string(const SlurmOptions&)> m_preview;
    QString m_settings;
    QLineEdit *m_partition, *m_time, *m_gres, *m_mem, *m_account, *m_qos, *m_args, *m_shared,
        *m_cli;
    QSpinBox* m_cpus;
    QPlainTextEdit* m_script;
};

}  // namespace retort::ui

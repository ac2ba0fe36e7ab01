// ProjectStore's records kept once per project under a key and reused by runs: teachers, their
// outputs over the training set, pretrained encoders and trained tokenizers.
#include "store/projectstore.h"

#include "store/projectstoresql.h"

namespace retort {

namespace {

using storesql::blobChecksum;
using storesql::kNow;
using storesql::parseJson;
using storesql::Statement;
using storesql::verifyBlob;

}  // namespace

std::optional<TeacherRecord> ProjectStore::teacher(const std::string& key) const {
    Statement st(m_db, "SELECT key, spec, state, summary, checksum FROM teachers WHERE key = ?");
    st.bind(1, key);
    if (!st.step()) return std::nullopt;
    TeacherRecord t{st.text(0), parseJson(st.text(1)), st.bytes(2), parseJson(st.text(3))};
    verifyBlob(t.state, st.text(4), m_path + ": the stored teacher " + key.substr(0, 8));
    return t;
}

void ProjectStore::saveTeacher(const TeacherRecord& t) {
    Statement(m_db,
              std::string("INSERT OR REPLACE INTO teachers(key, spec, state, summary, checksum, "
                          "created_at) VALUES(?, ?, ?, ?, ?, ") +
                  kNow + ")")
        .bind(1, t.key)
        .bind(2, t.spec.dump())
        .blob(3, t.state)
        .bind(4, t.summary.dump())
        .bind(5, blobChecksum(t.state))
        .run();
}

std::optional<ProjectStore::TeacherOutputs> ProjectStore::teacherOutputs(
    const std::string& key) const {
    Statement st(m_db, "SELECT logits, test_accuracy, checksum FROM teacher_outputs WHERE key = ?");
    st.bind(1, key);
    if (!st.step()) return std::nullopt;
    TeacherOutputs out{st.bytes(0), st.f64(1)};
    verifyBlob(out.logits, st.text(2),
               m_path + ": the stored outputs of teacher " + key.substr(0, 8));
    return out;
}

void ProjectStore::saveTeacherOutputs(const std::string& key, const TeacherOutputs& outputs) {
    Statement(
        m_db,
        std::string("INSERT OR REPLACE INTO teacher_outputs(key, logits, test_accuracy, checksum, "
                    "created_at) VALUES(?, ?, ?, ?, ") +
            kNow + ")")
        .bind(1, key)
        .blob(2, outputs.logits)
        .bind(3, outputs.test_accuracy)
        .bind(4, blobChecksum(outputs.logits))
        .run();
}

std::optional<std::string> ProjectStore::tokenizer(const std::string& key) const {
    Statement st(m_db, "SELECT model, checksum FROM tokenizers WHERE key = ?");
    st.bind(1, key);
    if (!st.step()) return std::nullopt;
    std::string model = st.bytes(0);
    verifyBlob(model, st.text(1), m_path + ": the stored tokenizer " + key.substr(0, 8));
    return model;
}

void ProjectStore::saveTokenizer(const std::string& key, const std::string& model,
                                 const Json& info) {
    Statement(m_db, std::string("INSERT OR REPLACE INTO tokenizers(key, model, info, checksum, "
                                "created_at) VALUES(?, ?, ?, ?, ") +
                        kNow + ")")
        .bind(1, key)
        .blob(2, model)
        .bind(3, info.dump())
        .bind(4, blobChecksum(model))
        .run();
}

std::vector<std::string> ProjectStore::teacherKeys() const {
    Statement st(m_db, "SELECT key FROM teachers ORDER BY key");
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
}

namespace {
constexpr const char* kPretrainedColumns =
    "SELECT id, key, spec, epochs_done, metrics, state, optimizer, checksum FROM pretrained ";
}

std::optional<PretrainedRecord> ProjectStore::pretrained(const std::string& key) const {
    Statement st(m_db, std::string(kPretrainedColumns) + "WHERE key = ?");
    st.bind(1, key);
    if (!st.step()) return std::nullopt;
    PretrainedRecord r{st.i64(0),   st.text(1), parseJson(st.text(2)), st.bytes(5),
                       st.bytes(6), st.i64(3),  parseJson(st.text(4))};
    verifyBlob(r.state + r.optimizer, st.text(7),
               m_path + ": the stored pretrained model " + std::to_string(r.id));
    return r;
}

std::optional<PretrainedRecord> ProjectStore::pretrained(int64_t id) const {
    Statement st(m_db, "SELECT key FROM pretrained WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return pretrained(st.text(0));
}

int64_t ProjectStore::savePretrained(const PretrainedRecord& r) {
    Statement(m_db, std::string("INSERT INTO pretrained(key, spec, state, optimizer, epochs_done, "
                                "metrics, checksum, created_at, updated_at) VALUES(?, ?, ?, ?, ?, "
                                "?, ?, ") +
                        kNow + ", " + kNow +
                        ") ON CONFLICT(key) DO UPDATE SET spec = excluded.spec, state = "
                        "excluded.state, optimizer = excluded.optimizer, epochs_done = "
                        "excluded.epochs_done, metrics = excluded.metrics, checksum = "
                        "excluded.checksum, updated_at = excluded.updated_at")
        .bind(1, r.key)
        .bind(2, r.spec.dump())
        .blob(3, r.state)
        .blob(4, r.optimizer)
        .bind(5, r.epochs_done)
        .bind(6, r.metrics.dump())
        .bind(7, blobChecksum(r.state + r.optimizer))
        .run();
    Statement st(m_db, "SELECT id FROM pretrained WHERE key = ?");
    st.bind(1, r.key);
    st.step();
    return st.i64(0);
}

std::vector<PretrainedRecord> ProjectStore::pretrainedList() const {
    Statement st(m_db, "SELECT id, key, spec, epochs_done, metrics FROM pretrained ORDER BY id");
    std::vector<PretrainedRecord> out;
    while (st.step()) {
        PretrainedRecord r;
        r.id = st.i64(0);
        r.key = st.text(1);
        r.spec = parseJson(st.text(2));
        r.epochs_done = st.i64(3);
        r.metrics = parseJson(st.text(4));
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace retort

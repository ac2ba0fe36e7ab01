#pragma once

// The project file's schema as ProjectStore creates and upgrades it: the SQL migrations, in
// order. A released migration is never edited; a change of schema is a new one at the end (and
// ProjectStore::kSchemaVersion one higher).

namespace retort::schema {

inline constexpr int kApplicationId = 0x52545254;  // "RTRT": marks a file as a Retort project

/// The migrations, in order: migrations[i] takes the schema from version i to i + 1.
inline constexpr const char* kMigrations[] = {
    // 1: runs, per-epoch metrics, artifacts (weights, checkpoints, compressed files), teachers.
    R"sql(
    CREATE TABLE runs(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL CHECK(status IN
            ('queued','running','completed','failed','cancelled','interrupted')),
        spec TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        results TEXT NOT NULL DEFAULT '{}',
        environment TEXT NOT NULL DEFAULT '{}',
        error TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT);
    CREATE TABLE metrics(
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        name TEXT NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY(run_id, name, epoch)) WITHOUT ROWID;
    CREATE TABLE artifacts(
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY(run_id, kind));
    CREATE TABLE teachers(
        key TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        state BLOB NOT NULL,
        summary TEXT NOT NULL,
        created_at TEXT NOT NULL);
    )sql",
    // 2: which process owns a running run (crash recovery), per-layer sparsity of results.
    R"sql(
    ALTER TABLE runs ADD COLUMN owner_host TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN owner_pid INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE layers(
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        layer TEXT NOT NULL,
        numel INTEGER NOT NULL,
        nonzero INTEGER NOT NULL,
        PRIMARY KEY(run_id, layer));
    CREATE INDEX runs_status ON runs(status);
    )sql",
    // 3: frozen teachers' outputs over the training set, shared by every run and process.
    R"sql(
    CREATE TABLE teacher_outputs(
        key TEXT PRIMARY KEY,
        logits BLOB NOT NULL,
        test_accuracy REAL NOT NULL,
        created_at TEXT NOT NULL);
    )sql",
    // 4: sweep points submitted to Slurm, each run by an array task into its own shard project.
    R"sql(
    CREATE TABLE slurm_tasks(
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        job_id TEXT NOT NULL,
        array_index INTEGER NOT NULL,
        teacher_job TEXT NOT NULL DEFAULT '',
        shard TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'PENDING',
        reason TEXT NOT NULL DEFAULT '',
        synced INTEGER NOT NULL DEFAULT 0,
        submitted_at TEXT NOT NULL);
    )sql",
    // 5: a checksum with every stored blob, verified on every load (empty: stored before 5).
    R"sql(
    ALTER TABLE artifacts ADD COLUMN checksum TEXT NOT NULL DEFAULT '';
    ALTER TABLE teachers ADD COLUMN checksum TEXT NOT NULL DEFAULT '';
    ALTER TABLE teacher_outputs ADD COLUMN checksum TEXT NOT NULL DEFAULT '';
    )sql",
    // 6: trained tokenizers (text data), shared by every run whose data and settings match.
    R"sql(
    CREATE TABLE tokenizers(
        key TEXT PRIMARY KEY,
        model BLOB NOT NULL,
        info TEXT NOT NULL,
        checksum TEXT NOT NULL,
        created_at TEXT NOT NULL);
    )sql",
    // 7: the data and a zoo teacher have seeds of their own (data.seed, teacher.seed), fixed by
    // default; the top-level seed is the student's. Runs stored before get, explicitly, the
    // seeds that then stood for their data and teacher: the run's seed.
    R"sql(
    UPDATE runs SET spec = json_set(spec, '$.data.seed', json_extract(spec, '$.seed'))
     WHERE json_valid(spec) AND json_type(spec, '$.data') = 'object'
       AND json_type(spec, '$.data.seed') IS NULL AND json_type(spec, '$.seed') = 'integer';
    UPDATE runs SET spec = json_set(spec, '$.teacher.seed', json_extract(spec, '$.seed'))
     WHERE json_valid(spec) AND json_type(spec, '$.teacher.arch') IS NOT NULL
       AND json_type(spec, '$.teacher.seed') IS NULL AND json_type(spec, '$.seed') = 'integer';
    )sql",
    // 8: pretrained encoders (masked LM), stored once per spec and data, checkpointed per epoch.
    R"sql(
    CREATE TABLE pretrained(
        id INTEGER PRIMARY KEY,
        key TEXT UNIQUE NOT NULL,
        spec TEXT NOT NULL,
        state BLOB NOT NULL,
        optimizer BLOB NOT NULL,
        epochs_done INTEGER NOT NULL,
        metrics TEXT NOT NULL,
        checksum TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL);
    )sql",
};

}  // namespace retort::schema

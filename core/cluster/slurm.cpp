#include "cluster/slurm.h"

#include "export/dataexport.h"
#include "spec/specvalidator.h"
#include "system/process.h"
#include "train/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace retort {

namespace {

struct CommandResult {
    int exit = -1;  ///< exit status; -1 when it could not run
    std::string out, err;
};

/// Runs a program (PATH lookup, no shell) and collects its stdout and stderr. A command that
/// runs longer than @p timeoutS is killed (a wedged squeue must not stall every later sync).
CommandResult runCommand(const std::vector<std::string>& argv, int timeoutS = 60) {
    const ProcessResult p = runProcess(argv, {}, timeoutS * 1000);
    CommandResult r{p.exit, p.out, p.err};
    if (!p.started)
        r.err = argv[0] + ": cannot run (" + p.error + "; is Slurm installed?)";
    else if (p.timedOut)
        r.err = argv[0] + ": no answer in " + std::to_string(timeoutS) + " s";
    else if (!p.error.empty())
        r.err += (r.err.empty() ? "" : "\n") + argv[0] + ": " + p.error;
    return r;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string firstLine(const std::string& s) {
    return trim(s.substr(0, s.find('\n')));
}

std::vector<std::string> splitSpaces(const std::string& s) {
    std::istringstream is(s);
    std::vector<std::string> out;
    for (std::string w; is >> w;) out.push_back(w);
    return out;
}

/// The sbatch options as script directives.
std::string directives(const SlurmOptions& o) {
    std::string d;
    auto add = [&](const char* k, const std::string& v) {
        if (!v.empty()) d += std::string("#SBATCH --") + k + "=" + v + "\n";
    };
    add("partition", o.partition);
    add("time", o.time);
    add("cpus-per-task", o.cpus_per_task > 0 ? std::to_string(o.cpus_per_task) : "");
    add("gres", o.gres);
    add("mem", o.mem);
    add("account", o.account);
    add("qos", o.qos);
    for (const auto& a : splitSpaces(o.sbatch_args)) d += "#SBATCH " + a + "\n";
    return d;
}

bool finalOk(const std::string& state) {
    return state == "COMPLETED";
}

bool active(const std::string& state) {
    static const std::set<std::string> states = {
        "PENDING",     "RUNNING",  "CONFIGURING", "COMPLETING", "REQUEUED",  "REQUEUE_HOLD",
        "REQUEUE_FED", "RESIZING", "SUSPENDED",   "STOPPED",    "SIGNALING", "STAGE_OUT"};
    return states.count(state) > 0;
}

/// Expands "3", "2-5", "1,3-4" and "0-15%4" (a throttle) into indices.
std::vector<int64_t> indexRange(std::string text) {
    std::vector<int64_t> out;
    text = text.substr(0, text.find('%'));
    std::istringstream is(text);
    for (std::string part; std::getline(is, part, ',');) {
        const auto dash = part.find('-');
        try {
            if (dash == std::string::npos) {
                out.push_back(std::stoll(part));
            } else {
                const int64_t a = std::stoll(part.substr(0, dash)),
                              b = std::stoll(part.substr(dash + 1));
                for (int64_t i = a; i <= b && i - a < 100000; ++i) out.push_back(i);
            }
        } catch (const std::exception&) {
        }
    }
    return out;
}

struct TaskState {
    std::string state, reason;
};

/// "JOB_K", "JOB_[2-3]" -> indices of JOB.
std::vector<int64_t> arrayIndices(const std::string& id, const std::string& job) {
    if (id.rfind(job + "_", 0) != 0) return {};
    std::string rest = id.substr(job.size() + 1);
    if (!rest.empty() && rest.front() == '[') rest = rest.substr(1, rest.find(']') - 1);
    return indexRange(rest);
}

/// Slurm's view of one array job. `answered`: Slurm positively answered both "which tasks are
/// live" and "how did the others end" (possibly with "no such job"), so a task missing from
/// `tasks` is one Slurm no longer knows. When it did not answer (controller restarting, a
/// network blip, a command that timed out), a missing task is simply not known now.
struct SlurmView {
    std::map<int64_t, TaskState> tasks;
    bool answered = false;
};

/// Slurm's word that it does not know the job (purged after MinJobAge): an answer, not a failure.
bool saysNoSuchJob(const CommandResult& c) {
    return c.exit != 0 && (c.err.find("Invalid job id") != std::string::npos ||
                           c.out.find("Invalid job id") != std::string::npos);
}

/// Slurm's view of every task of array job @p job: squeue for the live ones, then sacct
/// (accounting) or scontrol show job for those that ended.
SlurmView querySlurm(const std::string& job) {
    SlurmView view;
    std::map<int64_t, TaskState>& tasks = view.tasks;
    CommandResult q = runCommand({"squeue", "-h", "-r", "-j", job, "-o", "%i|%T|%r"});
    const bool liveAnswered = q.exit == 0 || saysNoSuchJob(q);
    if (q.exit == 0) {
        std::istringstream is(q.out);
        for (std::string line; std::getline(is, line);) {
            std::vector<std::string> f;
            std::istringstream ls(line);
            for (std::string x; std::getline(ls, x, '|');) f.push_back(trim(x));
            if (f.size() < 3) continue;
            for (int64_t k : arrayIndices(f[0], job)) tasks[k] = {f[1], f[2] == "None" ? "" : f[2]};
        }
    }
    CommandResult a =
        runCommand({"sacct", "-n", "-P", "-X", "-j", job, "-o", "JobID,State,ExitCode"});
    if (a.exit == 0 && !trim(a.out).empty()) {
        std::istringstream is(a.out);
        for (std::string line; std::getline(is, line);) {
            std::vector<std::string> f;
            std::istringstream ls(line);
            for (std::string x; std::getline(ls, x, '|');) f.push_back(trim(x));
            if (f.size() < 3) continue;
            const std::string state = splitSpaces(f[1]).empty() ? f[1] : splitSpaces(f[1])[0];
            for (int64_t k : arrayIndices(f[0], job))
                if (!tasks.count(k)) tasks[k] = {state, "exit code " + f[2]};
        }
        view.answered = liveAnswered;
        return view;
    }
    // No accounting: scontrol knows jobs until MinJobAge after they end.
    CommandResult s = runCommand({"scontrol", "show", "job", "-o", job});
    if (s.exit == 0) {
        std::istringstream is(s.out);
        for (std::string line; std::getline(is, line);) {
            std::map<std::string, std::string> kv;
            for (const auto& w : splitSpaces(line)) {
                const auto eq = w.find('=');
                if (eq != std::string::npos) kv[w.substr(0, eq)] = w.substr(eq + 1);
            }
            if (!kv.count("ArrayTaskId")) continue;
            std::string reason = kv["Reason"] == "None" ? "" : kv["Reason"];
            if (!finalOk(kv["JobState"]) && !active(kv["JobState"]))
                reason += (reason.empty() ? "" : ", ") + std::string("exit code ") + kv["ExitCode"];
            for (int64_t k : indexRange(kv["ArrayTaskId"]))
                if (!tasks.count(k)) tasks[k] = {kv["JobState"], reason};
        }
    }
    view.answered = liveAnswered && (s.exit == 0 || saysNoSuchJob(s));
    return view;
}

/// The run of a shard project, read-only; nullopt when the shard is missing or unreadable.
std::optional<RunRecord> shardRun(const std::string& shard, std::unique_ptr<ProjectStore>& store) {
    std::error_code ec;
    if (!fs::exists(shard, ec)) return std::nullopt;
    try {
        store = std::make_unique<ProjectStore>(shard, ProjectStore::Access::ReadOnly);
        const auto runs = store->runs();
        if (runs.size() != 1) return std::nullopt;
        return runs.front();
    } catch (const StoreError&) {
        return std::nullopt;  // half-written or being created: left alone
    }
}

}  // namespace

namespace {
/// The text options by their settings-file key (cpus-per-task, a number, is handled apart).
const std::pair<const char*, std::string SlurmOptions::*> kTextSettings[] = {
    {"partition", &SlurmOptions::partition},
    {"time", &SlurmOptions::time},
    {"gres", &SlurmOptions::gres},
    {"mem", &SlurmOptions::mem},
    {"account", &SlurmOptions::account},
    {"qos", &SlurmOptions::qos},
    {"sbatch-args", &SlurmOptions::sbatch_args},
    {"shared-dir", &SlurmOptions::shared_dir},
    {"retort-cli", &SlurmOptions::retort_cli}};
}  // namespace

void SlurmOptions::fillFrom(const SlurmOptions& d) {
    for (const auto& [key, field] : kTextSettings)
        if ((this->*field).empty()) this->*field = d.*field;
    if (cpus_per_task <= 0) cpus_per_task = d.cpus_per_task;
}

std::string defaultSettingsPath() {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    const char* home = std::getenv("HOME");
    const std::string base = xdg && *xdg ? xdg : std::string(home ? home : ".") + "/.config";
    return base + "/retort/settings.ini";
}

SlurmOptions loadSlurmSettings(const std::string& path) {
    SlurmOptions o;
    std::ifstream f(path);
    if (!f) return o;
    std::string section;
    int lineNo = 0;
    for (std::string line; std::getline(f, line);) {
        ++lineNo;
        line = trim(line);
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        if (line.front() == '[') {
            section = trim(line.substr(1, line.find(']') - 1));
            continue;
        }
        if (section != "slurm") continue;
        const auto eq = line.find('=');
        const std::string where = path + ":" + std::to_string(lineNo) + ": ";
        if (eq == std::string::npos) throw SlurmError(where + "expected key = value");
        const std::string k = trim(line.substr(0, eq)), v = trim(line.substr(eq + 1));
        if (k == "cpus-per-task") {
            try {
                o.cpus_per_task = std::stoll(v);
            } catch (const std::exception&) {
                throw SlurmError(where + "cpus-per-task must be a number, not '" + v + "'");
            }
            continue;
        }
        bool known = false;
        for (const auto& [key, field] : kTextSettings)
            if (k == key) {
                o.*field = v;
                known = true;
            }
        if (!known) throw SlurmError(where + "unknown key '" + k + "' in [slurm]");
    }
    return o;
}

void saveSlurmSettings(const std::string& path, const SlurmOptions& o) {
    std::string kept;
    {
        std::ifstream f(path);
        std::string section;
        for (std::string line; std::getline(f, line);) {
            const std::string t = trim(line);
            if (!t.empty() && t.front() == '[') section = trim(t.substr(1, t.find(']') - 1));
            if (section != "slurm") kept += line + "\n";
        }
    }
    std::string s = "[slurm]\n";
    auto put = [&](const char* k, const std::string& v) {
        if (!v.empty()) s += std::string(k) + " = " + v + "\n";
    };
    put("cpus-per-task", o.cpus_per_task > 0 ? std::to_string(o.cpus_per_task) : "");
    for (const auto& [key, field] : kTextSettings) put(key, o.*field);
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    writeFileAtomic(path, s + (kept.empty() ? "" : "\n" + kept));
}

SubmitResult submitSweep(ProjectStore& store, const Json& specJson, SlurmOptions o,
                         const std::string& cli, bool dryRun) {
    SpecValidator validator(&store);
    const auto points = validator.plan(specJson);  // throws SpecError
    if (o.shared_dir.empty())
        throw SlurmError(
            "no shared folder: give --shared-dir or shared-dir in the [slurm] "
            "section of " +
            defaultSettingsPath());
    if (o.retort_cli.empty()) o.retort_cli = cli;
    const std::string stamp =
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
    std::mt19937_64 rng(std::random_device{}());
    const std::string name =
        fs::path(store.path()).stem().string() + "-" + stamp + "-" + std::to_string(rng() % 100000);
    const std::string dir = fs::absolute(o.shared_dir).string() + "/" + name;
    const bool needsTeacher = points.front().spec.teacher &&
                              points.front().spec.teacher->kind == TeacherOptions::Kind::Zoo;

    SubmitResult r;
    r.folder = dir;
    const std::string n = std::to_string(points.size());
    std::string teacherScript;
    if (needsTeacher)
        teacherScript = "#!/bin/sh\n#SBATCH --job-name=retort-teacher-" + name +
                        "\n#SBATCH --output=" + dir + "/logs/teacher.log\n" + directives(o) +
                        "# Trains the sweep's shared teacher once; the array depends on it.\n"
                        "exec " +
                        shellQuote(o.retort_cli) + " run-point " +
                        shellQuote(dir + "/points/0.json") + " --teacher-only --shard " +
                        shellQuote(dir + "/teacher.retort") + "\n";
    const std::string arrayScript =
        "#!/bin/sh\n#SBATCH --job-name=retort-" + name + "\n#SBATCH --array=0-" +
        std::to_string(points.size() - 1) + "\n#SBATCH --output=" + dir + "/logs/task-%a.log\n" +
        directives(o) + "# Task K runs sweep point K (of " + n +
        ") into its own shard project; retort-cli sync merges them.\n"
        "exec " +
        shellQuote(o.retort_cli) + " run-point " + shellQuote(dir + "/points/") +
        "\"$SLURM_ARRAY_TASK_ID.json\" --shard " + shellQuote(dir + "/shards/") +
        "\"$SLURM_ARRAY_TASK_ID.retort\"" +
        (needsTeacher ? " --teacher-cache " + shellQuote(dir + "/teacher.retort") : std::string()) +
        "\n";
    r.script = (teacherScript.empty() ? "" : "# " + dir + "/teacher.sh\n" + teacherScript + "\n") +
               "# " + dir + "/array.sh\n" + arrayScript;
    if (dryRun) return r;

    std::error_code ec;
    for (const char* sub : {"points", "shards", "logs"}) {
        fs::create_directories(dir + "/" + sub, ec);
        if (ec) throw SlurmError(dir + "/" + sub + ": cannot create (" + ec.message() + ")");
    }
    for (size_t k = 0; k < points.size(); ++k)
        writeFileAtomic(dir + "/points/" + std::to_string(k) + ".json",
                        Json({{"name", points[k].name},
                              {"params", points[k].params},
                              {"spec", points[k].spec.toJson()}})
                            .dump(2));
    writeFileAtomic(dir + "/array.sh", arrayScript);
    if (needsTeacher) writeFileAtomic(dir + "/teacher.sh", teacherScript);

    auto sbatch = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"sbatch", "--parsable"});
        CommandResult c = runCommand(args);
        const std::string id = firstLine(c.out).substr(0, firstLine(c.out).find(';'));
        if (c.exit != 0 || id.empty())
            throw SlurmError("sbatch failed: " + (trim(c.err).empty() ? trim(c.out) : trim(c.err)));
        return id;
    };
    if (needsTeacher) r.teacher_job = sbatch({dir + "/teacher.sh"});
    try {
        std::vector<std::string> args;
        if (!r.teacher_job.empty()) args.push_back("--dependency=afterok:" + r.teacher_job);
        args.push_back(dir + "/array.sh");
        r.job_id = sbatch(args);
    } catch (const SlurmError&) {
        if (!r.teacher_job.empty()) runCommand({"scancel", r.teacher_job});
        throw;
    }
    std::vector<ProjectStore::NewSlurmRun> runs;
    for (size_t k = 0; k < points.size(); ++k)
        runs.push_back(
            {points[k].name, points[k].spec.toJson(), points[k].params,
             SlurmTask{0, r.job_id, int64_t(k), r.teacher_job,
                       dir + "/shards/" + std::to_string(k) + ".retort", "PENDING", "", false}});
    try {
        r.runs = store.addSlurmRuns(runs);
    } catch (...) {
        runCommand({"scancel", r.job_id});
        if (!r.teacher_job.empty()) runCommand({"scancel", r.teacher_job});
        throw;
    }
    return r;
}

SyncReport syncSlurm(ProjectStore& store) {
    SyncReport report;
    std::map<std::string, SlurmView> views;  // job -> what Slurm said of its tasks
    for (const SlurmTask& t : store.slurmTasks()) {
        if (t.synced) continue;
        if (!views.count(t.job_id)) views[t.job_id] = querySlurm(t.job_id);
        const SlurmView& view = views[t.job_id];
        auto it = view.tasks.find(t.array_index);
        // Slurm did not answer: nothing about this task is known now, so nothing changes.
        if (it == view.tasks.end() && !view.answered) {
            ++report.unanswered;
            continue;
        }
        const TaskState slurm = it == view.tasks.end() ? TaskState{"UNKNOWN", ""} : it->second;

        // A live task's shard is not even opened: it is being written, maybe on another host.
        if (active(slurm.state)) {
            if (slurm.reason == "DependencyNeverSatisfied") {
                runCommand({"scancel", t.job_id});
                store.endSlurmTask(t.run_id, "CANCELLED", RunStatus::Failed,
                                   "Slurm: the teacher job " + t.teacher_job +
                                       " failed, so this task never ran (see the teacher's log)");
                ++report.failed;
                continue;
            }
            store.setSlurmState(t.run_id, slurm.state, slurm.reason);
            ++(slurm.state == "PENDING" ? report.pending : report.running);
            continue;
        }
        std::unique_ptr<ProjectStore> shardStore;
        const auto shard = shardRun(t.shard, shardStore);
        if (shard && shard->status == RunStatus::Completed) {
            MergedRun m;
            m.run = *shard;
            m.metrics = shardStore->metrics(shard->id);
            m.layers = shardStore->layers(shard->id);
            for (const auto& kind : shardStore->artifactKinds(shard->id))
                m.artifacts[kind] = *shardStore->artifact(shard->id, kind);
            for (const auto& key : shardStore->teacherKeys())
                if (auto teacher = shardStore->teacher(key)) m.teachers.push_back(*teacher);
            store.mergeRun(t.run_id, m);
            ++report.merged;
            continue;
        }
        // Ended without a completed run in its shard.
        std::string why =
            "Slurm: " + slurm.state + (slurm.reason.empty() ? "" : " (" + slurm.reason + ")");
        if (shard && !shard->error.empty()) why += "; the run: " + shard->error;
        if (slurm.state == "UNKNOWN") {
            // Interrupted, but still watched: a shard that completes after all (a slow shared
            // disk, a task requeued elsewhere) is merged by a later sync.
            if (store.markSlurmTaskLost(t.run_id, "Slurm no longer knows task " + t.job_id + "_" +
                                                      std::to_string(t.array_index) +
                                                      " and its shard holds no finished run"))
                ++report.interrupted;
        } else if (slurm.state == "CANCELLED") {
            store.endSlurmTask(t.run_id, slurm.state, RunStatus::Cancelled, why);
            ++report.cancelled;
        } else {
            store.endSlurmTask(t.run_id, slurm.state, RunStatus::Failed, why);
            ++report.failed;
        }
    }
    return report;
}

int cancelSlurm(ProjectStore& store) {
    std::set<std::string> jobs;
    for (const SlurmTask& t : store.slurmTasks())
        if (!t.synced) {
            jobs.insert(t.job_id);
            if (!t.teacher_job.empty()) jobs.insert(t.teacher_job);
        }
    int cancelled = 0;
    for (const auto& job : jobs) {
        CommandResult c = runCommand({"scancel", job});
        if (c.exit != 0) throw SlurmError("scancel " + job + " failed: " + trim(c.err));
        ++cancelled;
    }
    return cancelled;
}

std::string runPoint(const std::string& pointFile, const std::string& shard,
                     const std::string& teacherCache, bool teacherOnly, ProgressFn progress) {
    std::ifstream f(pointFile);
    if (!f) throw SlurmError(pointFile + ": cannot read the sweep point");
    Json point;
    try {
        point = Json::parse(f);
    } catch (const std::exception& e) {
        throw SlurmError(pointFile + ": not a sweep point (" + e.what() + ")");
    }
    std::vector<SpecIssue> issues;
    ExperimentSpec spec = ExperimentSpec::fromJson(point.at("spec"), issues);
    if (!issues.empty()) throw SpecError(issues);
    // threads 0 means "every core": on a Slurm node, every core this task was given.
    if (spec.threads == 0)
        if (const char* cpus = std::getenv("SLURM_CPUS_PER_TASK")) spec.threads = std::atoll(cpus);
    // A task that runs again (requeued) starts from a fresh shard: never half of an old one.
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(shard + suffix);
    std::error_code ec;
    fs::create_directories(fs::path(shard).parent_path(), ec);
    if (!teacherCache.empty() && fs::exists(teacherCache)) {
        ProjectStore cache(teacherCache, ProjectStore::Access::ReadOnly);
        cache.saveCopy(shard);
    }
    ProjectStore store(shard);
    store.useRollbackJournal();  // read later from another host: no WAL over NFS
    Runner runner(store, std::move(progress));
    if (teacherOnly) {
        runner.prepareTeacher(spec);
        return "teacher";
    }
    const int64_t id = store.createRun(point.at("name").get<std::string>(), spec.toJson(),
                                       point.value("params", Json::object()));
    return statusName(runner.run(id, spec).status);
}

}  // namespace retort

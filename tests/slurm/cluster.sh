#!/bin/sh
# A one-machine Slurm cluster on loopback for tests, from Debian's slurm-wlm and munge:
# private munge key and socket, a generated slurm.conf, non-default ports, every file in one
# folder. Source it, then: cluster_start DIR (0 ok; 1 a program is missing, naming its package;
# 77 the daemons cannot start on this machine: reason on stdout),
# cluster_stop DIR (stops the daemons it started, by PID).

cluster_fail() { echo "SKIP: $*"; return 77; }

cluster_start() {
    dir="$1"
    for pair in munged:munge mungekey:munge slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client \
                squeue:slurm-client scontrol:slurm-client sinfo:slurm-client scancel:slurm-client \
                hostname:hostname pgrep:procps pkill:procps; do
        t=${pair%%:*}
        command -v "$t" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin"
        command -v "$t" >/dev/null 2>&1 ||
            { echo "FAIL: $t is missing: install Debian's ${pair#*:} (slurm-wlm and munge; scripts/install-deps.sh does)"; return 1; }
    done
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
    chmod 0700 "$dir/munge"
    # munge: a private key (mode 0600) and socket; --force because tests may run as root.
    mungekey -c -k "$dir/munge/munge.key" -b 1024 >/dev/null 2>&1 ||
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=128 count=1 2>/dev/null
    chmod 0600 "$dir/munge/munge.key"
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munge.seed" >/dev/null 2>&1 ||
        { cluster_fail "munged does not start: $(tail -2 "$dir/log/munged.log" 2>/dev/null)"; return 77; }

    host=$(hostname -s)
    user=$(id -un)
    base=$(( 20000 + $$ % 20000 ))
    cat > "$dir/slurm.conf" <<CONF
ClusterName=retorttest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MinJobAge=3600
SlurmdTimeout=30
InactiveLimit=0
KillWait=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -D -i -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 &
    echo $! > "$dir/slurmctld.bgpid"
    slurmd -D -f "$SLURM_CONF" >"$dir/log/slurmd.out" 2>&1 &
    echo $! > "$dir/slurmd.bgpid"
    i=0
    while [ $i -lt 150 ]; do
        state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1)
        [ "$state" = "idle" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    cluster_fail "the node did not become idle (state '$state'): $(tail -3 "$dir/log/slurmctld.out" "$dir/log/slurmd.out" 2>/dev/null | tr '\n' ' ')"
    return 77
}

cluster_stop() {
    dir="$1"
    for f in slurmd.bgpid slurmctld.bgpid; do
        [ -f "$dir/$f" ] && kill "$(cat "$dir/$f")" 2>/dev/null
    done
    [ -f "$dir/munge/munged.pid" ] && cp "$dir/munge/munged.pid" "$dir/munged.bgpid" &&
        kill "$(cat "$dir/munged.bgpid")" 2>/dev/null
    for f in slurmd.bgpid slurmctld.bgpid munged.bgpid; do
        [ -f "$dir/$f" ] || continue
        pid=$(cat "$dir/$f")
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$pid" 2>/dev/null || true
    done
    return 0
}

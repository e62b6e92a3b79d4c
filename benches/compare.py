#!/usr/bin/env python3
"""Aggregates the bench= lines collected by compare.sh into one comparison table.

usage: compare.py RAW COMMANDS FAILURES [--full FULL_TABLE_OUT] [--all]

RAW: bench= lines tagged `cfg=ID run=K` (and maxrss_kb=N). COMMANDS: one config a line,
`id<TAB>group<TAB>impl<TAB>command`, impl one of otp/beam/go. FAILURES: lines
`cfg=ID run=K FAILED|UNSUPPORTED ...`.

For each group (a workload configuration), variant (phase=/variant=/clients= keys) and metric,
prints the median over the runs of ours (otp), the BEAM and Go, and the ratios ours/BEAM and
ours/Go. The "better" column says which direction wins for that metric: for times and bytes
lower is better, so a ratio below 1 means we win; for rates (msgs_per_s, calls_per_s) higher is
better, so a ratio above 1 means we win. A group named "X+suffix" borrows ours/BEAM from group X
when it has none of its own. A line whose SPLIT_KEYS key has another value than the listed one
goes to group "X+key_value" (Go's genserver_call prints reply=percall, the like-for-like figure
kept in group X, and reply=reuse, shown as "genserver_call+reply_reuse"). Standard library only.
"""
import statistics
import sys
from collections import OrderedDict

# Measured numbers; every other key is a parameter.
METRICS = [
    "spawn_ms", "ready_ms", "ns_per_spawn", "bytes_per_proc", "bytes_per_proc_excl_pidlist",
    "procmem_bytes_per_proc", "rss_bytes_per_proc", "sys_bytes_per_proc",
    "stackinuse_bytes_per_proc", "heapinuse_bytes_per_proc", "process_info_memory",
    "stop_send_ms", "stop_ms", "ns_per_spawn_exit", "wall_ms", "spawn_loop_ms", "ns_per_hop",
    "pass_ms", "setup_ms", "ns_per_roundtrip", "ns_per_call", "calls_per_s", "msgs_per_s",
    "ns_per_msg", "ns_per_receive", "ns_per_receive_empty_mailbox", "extra_ns_due_to_mailbox",
    "bytes_per_server", "bytes_per_server_minus_state", "rss_bytes_per_server", "info_memory",
    "ns_per_start", "ns_per_first_call", "maxrss_kb", "mean_us", "p50_us", "p99_us", "max_us",
    "first1000_mean_us", "last1000_mean_us",
]
HIGHER_IS_BETTER = {"msgs_per_s", "calls_per_s"}
# The metrics of the headline table, per bench (the full table has every metric).
HEADLINE = {
    "spawn_idle": ["ns_per_spawn", "ready_ms", "stop_ms", "bytes_per_proc_excl_pidlist",
                   "rss_bytes_per_proc"],
    "spawn_exit": ["ns_per_spawn_exit"],
    "ring": ["ns_per_hop"],
    "ping_pong": ["ns_per_roundtrip"],
    "skynet": ["wall_ms", "maxrss_kb"],
    "fan_in": ["msgs_per_s"],
    "selective_receive": ["ns_per_receive", "ns_per_receive_empty_mailbox",
                          "extra_ns_due_to_mailbox"],
    "genserver_call": ["ns_per_call", "calls_per_s"],
    "genserver_idle": ["bytes_per_server", "bytes_per_server_minus_state", "info_memory"],
    "supervisor_restart": ["mean_us", "p50_us", "p99_us", "first1000_mean_us", "last1000_mean_us"],
}
VARIANT_KEYS = ["phase", "variant", "clients"]
# key -> the value that stays in the config's own group; other values go to "group+key_value".
SPLIT_KEYS = {"reply": "percall"}
IMPLS = ["otp", "beam", "go"]


def parse(line):
    kv = OrderedDict()
    for tok in line.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            kv[k] = v
    return kv


def fmt(x):
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.1f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    r = a / b
    return f"{r:.2f}x" if r >= 0.1 else f"{r:.3f}x"


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    full_out = None
    if "--full" in argv:
        full_out = argv[argv.index("--full") + 1]
        args.remove(full_out)
    raw_path, cmds_path, fail_path = args[:3]

    cfg_info = OrderedDict()  # id -> (group, impl)
    groups_order = []
    with open(cmds_path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 4:
                continue
            cid, group, impl = parts[:3]
            cfg_info[cid] = (group, impl)
            if group not in groups_order:
                groups_order.append(group)

    # (group, impl) -> "unsupported" / "failed" when a run printed nothing
    status = {}
    try:
        with open(fail_path) as f:
            for line in f:
                kv = parse(line)
                if kv.get("cfg") in cfg_info:
                    key = cfg_info[kv["cfg"]]
                    status[key] = "unsupp." if "UNSUPPORTED" in line else "FAILED"
    except FileNotFoundError:
        pass

    # values[(group, variant, bench)][metric][impl] = [floats]
    values = OrderedDict()
    with open(raw_path) as f:
        for line in f:
            kv = parse(line)
            if "bench" not in kv or kv.get("cfg") not in cfg_info:
                continue
            group, impl = cfg_info[kv["cfg"]]
            for k, own in SPLIT_KEYS.items():
                if k in kv and kv[k] != own:
                    group = f"{group}+{k}_{kv[k]}"
            variant = " ".join(f"{k}={kv[k]}" for k in VARIANT_KEYS if k in kv)
            row = values.setdefault((group, variant, kv["bench"]), OrderedDict())
            for k, v in kv.items():
                if k in METRICS:
                    try:
                        row.setdefault(k, {}).setdefault(impl, []).append(float(v))
                    except ValueError:
                        pass

    # Groups "X+suffix" take the impls they lack from X.
    for (group, variant, bench), metrics in values.items():
        if "+" not in group:
            continue
        base = values.get((group.split("+")[0], variant, bench), {})
        for m, per_impl in metrics.items():
            for impl, vals in base.get(m, {}).items():
                per_impl.setdefault(impl, vals)

    def cell(group, per_impl, impl):
        vals = per_impl.get(impl)
        if vals:
            return statistics.median(vals), fmt(statistics.median(vals))
        base = group.split("+")[0]
        return None, status.get((group, impl)) or status.get((base, impl)) or "n/a"

    def rows(headline):
        out = []
        rank = {g: i for i, g in enumerate(groups_order)}
        # derived "X+key_value" groups (not in COMMANDS) right after X
        def order(key):
            group = key[0]
            return rank.get(group, rank.get(group.split("+")[0], len(rank))), group not in rank

        keys = sorted(values, key=order)
        for key in keys:
            group, variant, bench = key
            metrics = values[key]
            names = HEADLINE.get(bench, []) if headline else [m for m in METRICS if m in metrics]
            for m in names:
                if m not in metrics:
                    continue
                per_impl = metrics[m]
                (o, os_), (b, bs), (g, gs) = (cell(group, per_impl, i) for i in IMPLS)
                better = "higher" if m in HIGHER_IS_BETTER else "lower"
                runs = "/".join(str(len(per_impl.get(i, []))) for i in IMPLS)
                out.append((group, variant, m, better, os_, bs, gs, ratio(o, b), ratio(o, g), runs))
        return out

    hdr = ("workload", "variant", "metric", "better", "ours", "BEAM", "Go", "ours/BEAM",
           "ours/Go", "runs o/b/g")

    def table(rs):
        if not rs:
            return "(no results)"
        w = [max(len(r[i]) for r in [hdr] + rs) for i in range(len(hdr))]
        left = {0, 1, 2, 3}
        lines = ["  ".join(c.ljust(w[i]) if i in left else c.rjust(w[i]) for i, c in enumerate(r))
                 for r in [hdr] + rs]
        lines.insert(1, "  ".join("-" * x for x in w))
        return "\n".join(lines)

    print(table(rows(headline="--all" not in argv)))
    print()
    print("medians over the runs; ratio = ours / other. 'better' = which direction wins: for")
    print("'lower' metrics a ratio < 1 means ours is better, for 'higher' ones a ratio > 1 does.")
    produced = {(g, impl) for (g, _, _), ms in values.items() for per in ms.values()
                for impl in per}
    for group, impl in sorted(k for k in status if k not in produced):
        print(f"{group}: {impl} printed no result in any run ({status[(group, impl)]})")
    if full_out:
        with open(full_out, "w") as f:
            f.write(table(rows(headline=False)) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])

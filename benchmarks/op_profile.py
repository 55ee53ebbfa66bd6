# op_profile.py - One profiled `sparseloom-run --bench` run, parsed.
#
# Part of SparseLoom.
#
# Shared by benchmarks/layer-speedup and benchmarks/op-ab: runs
# sparseloom-run with SPARSELOOM_PROFILE_OPS=all and reads back the median
# time of every op (the "every op:" table on stderr) and of the whole run.

import os
import re
import subprocess


class ProfileError(Exception):
    """The run failed or printed no per-op profile."""


def profile(binary, model, input_args, threads, runs, extra=()):
    """Runs `binary model --input A ... --threads T --bench R [extra]` and
    returns ({op name: (ms per run, opcode, kernel)}, total ms)."""
    env = dict(os.environ, SPARSELOOM_PROFILE_OPS='all')
    cmd = [binary, model]
    for arg in input_args:
        cmd += ['--input', arg]
    cmd += ['--threads', str(threads), '--bench', str(runs)] + list(extra)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise ProfileError(f'{" ".join(cmd)} failed:\n{done.stderr[-2000:]}')
    ops, inside, total = {}, False, None
    for line in (done.stdout + done.stderr).splitlines():
        if line.startswith('every op:'):
            inside = True
            continue
        if inside:
            parts = line.split()
            if len(parts) != 4:
                inside = False
            else:
                ops[parts[3]] = (float(parts[0]), parts[1], parts[2])
                continue
        match = re.match(r'\s+total\s+([\d.]+)', line)
        if match and total is None:
            total = float(match.group(1))
    if not ops or total is None:
        raise ProfileError(f'no per-op profile in the output of {" ".join(cmd)}')
    return ops, total

#!/usr/bin/env python3
"""Reference oracle for htrac interop tests (development aid, optional in CI).

Reads JSON lines on stdin, one request per line, and answers one JSON line each:
  {"cmd": "load", "text": "..."}         -> PyYAML CSafeLoader (YAML 1.1) result, tagged
  {"cmd": "dump", "op": {...}}           -> the reference writer's bytes for one op
                                            (ruamel.yaml round-trip dumper, store.md §2.3)
  {"cmd": "json", "data": {...}}         -> json.dumps(data, sort_keys=True)
Values are exchanged in a tagged form so that YAML 1.1 types survive JSON:
  {"$f": "1.5"} float, {"$i": "123"} big int, {"$d": "..."} datetime/date (str()).
Requires python3-yaml (libyaml) and python3-ruamel.yaml (Debian packages).
"""
import datetime
import io
import json
import sys

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

COMMON = ["op", "at", "by", "actor", "clock", "nonce"]
DATA_ORDER = ["kind", "title", "status", "priority", "parent", "tags", "isbefore", "before",
              "duplicate_of", "not_duplicate_of", "pr_ref", "justification", "description", "fields"]
FORCED = {"title", "description", "justification"}


def tag(v):
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v if abs(v) < 2**53 else {"$i": str(v)}
    if isinstance(v, float):
        return {"$f": repr(v)}
    if isinstance(v, (datetime.datetime, datetime.date)):
        return {"$d": str(v)}
    if isinstance(v, dict):
        return {"$m": [[tag(k), tag(x)] for k, x in v.items()]}
    if isinstance(v, list):
        return [tag(x) for x in v]
    return {"$u": repr(v)}


def untag(v):
    if isinstance(v, dict):
        if "$f" in v:
            return float(v["$f"])
        if "$i" in v:
            return int(v["$i"])
        if "$m" in v:
            return {untag(k): untag(x) for k, x in v["$m"]}
        return {k: untag(x) for k, x in v.items()}
    if isinstance(v, list):
        return [untag(x) for x in v]
    return v


def dq(v):
    return DoubleQuotedScalarString(v) if isinstance(v, str) else v


def block(v):
    if isinstance(v, dict):
        m = CommentedMap()
        for k, x in v.items():
            m[k] = block(x)
        return m
    if isinstance(v, list):
        s = CommentedSeq()
        for x in v:
            s.append(block(x))
        return s
    return v


def fields_map(f):
    if not isinstance(f, dict):
        return block(f)
    m = CommentedMap()
    for k, x in f.items():
        m[k] = dq(x) if isinstance(x, str) else block(x)
    return m


def flow(v):
    s = CommentedSeq()
    for x in v:
        s.append(x)
    s.fa.set_flow_style()
    return s


def build(op):
    m = CommentedMap()
    for k in COMMON:
        if k in op:
            m[k] = op[k]
    kind = op.get("op")
    for k, v in op.items():
        if k in COMMON:
            continue
        if k == "data" and isinstance(v, dict):
            d = CommentedMap()
            keys = [x for x in DATA_ORDER if x in v] + [x for x in v if x not in DATA_ORDER]
            for dk in keys:
                dv = v[dk]
                if dk in FORCED:
                    d[dk] = dq(dv)
                elif dk == "fields":
                    d[dk] = fields_map(dv)
                else:
                    d[dk] = block(dv)
            m[k] = d
        elif k == "set" and isinstance(v, dict):
            d = CommentedMap()
            for sk, sv in v.items():
                if sk in FORCED:
                    d[sk] = dq(sv)
                elif sk == "fields":
                    d[sk] = fields_map(sv)
                else:
                    d[sk] = block(sv)
            m[k] = d
        elif k in ("add", "remove") and isinstance(v, dict):
            d = CommentedMap()
            for sk, sv in v.items():
                d[sk] = flow(sv) if isinstance(sv, list) else sv
            m[k] = d
        elif k in ("message", "reason", "new_text"):
            m[k] = dq(v)
        else:
            m[k] = block(v)
    return m


def dump(op):
    y = YAML()
    y.default_flow_style = False
    y.width = sys.maxsize
    buf = io.StringIO()
    y.dump([build(op)], buf)
    nonce = op.get("nonce", "")
    out = []
    for line in buf.getvalue().split("\n"):
        line = line.rstrip()
        if line:
            out.append(f"{line}  # {nonce}")
    return "\n".join(out) + "\n"


def main():
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["cmd"] == "load":
                res = {"ok": tag(yaml.load(req["text"], Loader=yaml.CSafeLoader))}
            elif req["cmd"] == "dump":
                res = {"ok": dump(untag(req["op"]))}
            elif req["cmd"] == "json":
                res = {"ok": json.dumps(untag(req["data"]), sort_keys=True)}
            else:
                res = {"err": "unknown cmd"}
        except Exception as e:  # noqa: BLE001
            res = {"err": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

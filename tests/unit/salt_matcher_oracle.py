"""Salt's own verdicts on targeting cases: the parity oracle for ``edge_minion.targeting``.

Run under real Salt's interpreter (``tools/salt-env`` builds it)::

    .salt-venv/bin/python tests/unit/salt_matcher_oracle.py < cases.json

Reads a JSON list on stdin; prints a JSON list of answers, one per case, in order.

* ``{"id", "grains", "tgt", "tgt_type", ["pillar"], ["delimiter"], ["nodegroups"]}``
  -> ``{"verdict": bool}`` or ``{"error": "..."}``: what a Salt minion with that id,
  grains and pillar decides for a publish carrying ``tgt``/``tgt_type``/``delimiter``,
  through the matchers its loader builds (``salt.loader.matchers``), picked and
  called the way ``salt/minion.py: _target_load`` does. A ``nodegroup`` target is
  first expanded the way Salt's client does before publishing (``nodegroup_comp``,
  then compound).
* ``{"op": "yamlify", "text": "..."}`` -> ``{"type": ..., "repr": ...}`` of
  ``salt.utils.args.yamlify_arg(text)``.

Not part of edgefleet: it imports Salt, and runs only as a subprocess of the tests.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import salt.loader
import salt.utils.args
import salt.utils.minions

_BASE_OPTS: dict[str, Any] = {"id": "oracle", "grains": {}, "pillar": {}, "nodegroups": {}}
_DELIMITED = ("grain", "grain_pcre", "pillar")  # the matchers _target_load hands the delimiter to


def verdict(matchers: Any, case: dict[str, Any]) -> dict[str, Any]:
    opts = dict(_BASE_OPTS)
    opts.update(id=case["id"], grains=case.get("grains") or {}, pillar=case.get("pillar") or {},
                nodegroups=case.get("nodegroups") or {})
    tgt, tgt_type = case["tgt"], case.get("tgt_type", "glob")
    try:
        if tgt_type == "nodegroup":
            tgt = " ".join(salt.utils.minions.nodegroup_comp(tgt, opts["nodegroups"]))
            tgt_type = "compound"
        func = matchers.get(f"{tgt_type}_match.match")
        if func is None:
            return {"verdict": False}
        if tgt_type in _DELIMITED:
            result = func(tgt, delimiter=case.get("delimiter", ":"), opts=opts)
        elif tgt_type in ("pillar_pcre", "pillar_exact", "ipcidr"):
            result = func(tgt, opts=opts)
        else:
            result = func(tgt, opts=opts, minion_id=case["id"])
        return {"verdict": bool(result)}
    except Exception as exc:  # noqa: BLE001 - Salt's minion drops the publish on any exception
        return {"error": f"{type(exc).__name__}: {exc}"}


def yamlify(text: str) -> dict[str, Any]:
    value = salt.utils.args.yamlify_arg(text)
    return {"type": type(value).__name__, "repr": repr(value)}


def main() -> int:
    logging.disable(logging.CRITICAL)
    cases = json.load(sys.stdin)
    matchers = salt.loader.matchers(dict(_BASE_OPTS))
    answers = [yamlify(case["text"]) if case.get("op") == "yamlify" else verdict(matchers, case)
               for case in cases]
    json.dump(answers, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``fleet-key``: manage minion keys in the master's pki directory (Salt's ``salt-key``).

Works on the files directly, so it runs whether or not the master is up; removing a
key asks the running master to rotate its AES key (see ``cloud_master.keystore``).
Exit status: 0 done, 1 error, no match or refused, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloud_master.cli import claim_tokens
from cloud_master.cli.common import add_common_args, config_from_args, error, format_data, setup_logging

if TYPE_CHECKING:
    from cloud_master.keystore import KeyStore

PROG = "fleet-key"
_TITLES = {"local": "Local Keys:", "minions": "Accepted Keys:", "minions_denied": "Denied Keys:",
           "minions_pre": "Unaccepted Keys:", "minions_rejected": "Rejected Keys:"}
_DONE = {"accept": "accepted", "reject": "rejected", "delete": "deleted"}
_WORDS = {"minions": "accepted", "minions_pre": "unaccepted", "minions_rejected": "rejected",
          "minions_denied": "denied"}


class _Refused(Exception):
    """The operator did not confirm (or could not be asked)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Manage minion keys on the master.")
    add_common_args(parser, ("txt", "json", "yaml"), "txt")
    act = parser.add_mutually_exclusive_group()
    act.add_argument("-L", "--list-all", action="store_true", help="list every key (the default)")
    act.add_argument("-a", "--accept", metavar="ID", help="accept pending keys matching the glob ID")
    act.add_argument("-A", "--accept-all", action="store_true", help="accept every pending key")
    act.add_argument("-r", "--reject", metavar="ID", help="reject pending keys matching the glob ID")
    act.add_argument("-R", "--reject-all", action="store_true", help="reject every pending key")
    act.add_argument("-d", "--delete", metavar="ID", help="delete keys matching the glob ID")
    act.add_argument("-D", "--delete-all", action="store_true", help="delete every key")
    act.add_argument("-f", "--finger", metavar="ID", help="fingerprints of keys matching ID")
    act.add_argument("-F", "--finger-all", action="store_true", help="every fingerprint")
    act.add_argument("-p", "--print", dest="print_key", metavar="ID", help="print keys matching ID")
    act.add_argument("-P", "--print-all", action="store_true", help="print every key")
    act.add_argument("--gen-keys", metavar="NAME", help="write NAME.pem and NAME.pub")
    act.add_argument("--preseed", nargs=2, metavar=("ID", "PUBKEY_FILE"),
                     help="register PUBKEY_FILE as the accepted key of ID")
    opts = parser.add_argument_group("options")
    opts.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    opts.add_argument("--include-accepted", action="store_true", help="-r/-R also reject accepted keys")
    opts.add_argument("--include-rejected", action="store_true", help="-a/-A also accept rejected keys")
    opts.add_argument("--include-denied", action="store_true", help="-a/-r also act on denied keys")
    opts.add_argument("--include-all", action="store_true", help="all three --include-* flags")
    opts.add_argument("--gen-keys-dir", metavar="DIR", type=Path, default=Path("."),
                      help="directory for --gen-keys (default: .)")
    opts.add_argument("--keysize", type=int, default=2048, help="RSA key size for --gen-keys")
    claim_tokens.add_arguments(act, opts)
    return parser


def render(data: dict[str, Any], out: str) -> str:
    """Salt's ``key`` outputter for ``txt``: a title per state, then ids (or ``id:  value``)."""
    if out != "txt":
        return format_data(data, out)
    lines: list[str] = []
    for status in sorted(data):
        lines.append(_TITLES.get(status, f"{status}:"))
        entries = data[status]
        if isinstance(entries, dict):
            lines.extend(f"{key}:  {entries[key]}" for key in sorted(entries))
        else:
            lines.extend(sorted(entries))
    return "\n".join(lines)


def _confirm(default_yes: bool) -> None:
    if not sys.stdin.isatty():
        raise _Refused("stdin is not a terminal, so no confirmation can be asked; pass -y to proceed")
    print("Proceed? [n/Y] " if default_yes else "Proceed? [N/y] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if not answer:  # EOF is never a yes
        raise _Refused("no answer")
    answer = answer.strip().lower() or ("y" if default_yes else "n")
    if not answer.startswith("y"):
        raise _Refused("aborted")


def _change(store: KeyStore, args: argparse.Namespace, verb: str, pattern: str, explicit: bool) -> int:
    """Accept, reject or delete the keys matching ``pattern`` after showing and confirming them."""
    include = {k: getattr(args, f"include_{k}") or args.include_all
               for k in ("accepted", "rejected", "denied")}
    if verb == "delete":
        sources = list(_WORDS)
    else:
        extra = "rejected" if verb == "accept" else "accepted"
        sources = ["minions_pre"] + [d for d, w in _WORDS.items()
                                     if w in (extra, "denied") and include[w]]
    matches = {d: ids for d, ids in store.match(pattern).items() if d in sources and ids}
    if not matches:
        words = " or ".join(_WORDS[d] for d in sources)
        msg = f'The key glob "{pattern}" does not match any {words} keys.'
        if explicit:
            return error(PROG, msg)
        print(msg)
        return 0
    stream = sys.stdout if args.out == "txt" else sys.stderr
    print(f"The following keys are going to be {_DONE[verb]}:", file=stream)
    print(render(matches, "txt"), file=stream, flush=True)
    if not args.yes:
        _confirm(default_yes=verb != "delete")
    done: list[str] = []
    for minion_id in sorted({i for ids in matches.values() for i in ids}):
        if verb == "accept":
            store.accept(minion_id, include_rejected=include["rejected"],
                         include_denied=include["denied"])
        elif verb == "reject":
            store.reject(minion_id, include_accepted=include["accepted"],
                         include_denied=include["denied"])
        else:
            store.delete(minion_id)
        done.append(minion_id)
        if args.out == "txt":
            print(f"Key for minion {minion_id} {_DONE[verb]}.")
    if args.out != "txt":
        target = {"accept": "minions", "reject": "minions_rejected", "delete": "deleted"}[verb]
        print(format_data({target: done}, args.out))
    return 0


def _show(store: KeyStore, args: argparse.Namespace, pattern: str, what: str, local: bool) -> int:
    """Print fingerprints (``what == "finger"``) or keys of the ids matching ``pattern``."""
    from cloud_master.keystore import DIRS, fingerprint_pem

    states = {d: s for s, d in DIRS.items()}
    data: dict[str, Any] = {}
    for directory, ids in store.match(pattern).items():
        if ids:
            data[directory] = {i: (store.fingerprint(i, states[directory]) if what == "finger"
                                   else store.get_pub(i, states[directory])) for i in ids}
    if local:
        keys = {p.name: p for p in (store.pki_dir / "master.pem", store.pki_dir / "master.pub")
                if p.is_file()}
        if keys and what == "finger":
            data["local"] = {name: fingerprint_pem(p.read_text()) for name, p in keys.items()}
    if not data and pattern != "*":
        return error(PROG, f'The key glob "{pattern}" does not match any key.')
    print(render(data, args.out))
    return 0


def run(args: argparse.Namespace) -> int:
    from cloud_master.keystore import KeyStore, write_keypair

    if args.gen_keys:
        pem, pub = write_keypair(args.gen_keys_dir, args.gen_keys, args.keysize)
        print(f"Wrote {pem} and {pub}")
        return 0
    config = config_from_args(args)
    setup_logging(config.log_level)
    claimed = claim_tokens.run(args, config)
    if claimed is not None:
        return claimed
    store = KeyStore(config.pki_dir, config.cache_dir)
    if args.preseed:
        minion_id, pub_file = args.preseed
        try:
            pub_text = Path(pub_file).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            return error(PROG, f"cannot read {pub_file}: {exc}")
        store.preseed(minion_id, pub_text)
        print(f"Key for minion {minion_id} preseeded as accepted.")
        return 0
    if not config.pki_dir.is_dir():
        return error(PROG, f"no master keys at {config.pki_dir}: has the master run with this "
                           "state dir? (--state-dir, EDGEFLEET_STATE_DIR or -c)")
    for verb in ("accept", "reject", "delete"):
        if getattr(args, verb):
            return _change(store, args, verb, getattr(args, verb), explicit=True)
        if getattr(args, f"{verb}_all"):
            return _change(store, args, verb, "*", explicit=False)
    if args.finger or args.finger_all:
        return _show(store, args, args.finger or "*", "finger", local=args.finger_all)
    if args.print_key or args.print_all:
        return _show(store, args, args.print_key or "*", "print", local=False)
    print(render(store.list(), args.out))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``fleet-key``."""
    args = build_parser().parse_args(argv)
    from cloud_master.errors import MasterError

    try:
        return run(args)
    except _Refused as exc:
        return error(PROG, f"nothing changed: {exc}")
    except MasterError as exc:
        return error(PROG, str(exc))
    except KeyboardInterrupt:
        return error(PROG, "interrupted", 130)


if __name__ == "__main__":
    sys.exit(main())

"""``fleet-key`` claim-token actions: ``--new-claim-token``, ``--list-claim-tokens``, ``--revoke-claim-token``.

Tokens live in the master's ``cache_dir/claims.sqlite`` (see ``cloud_master.claims``);
these actions work on the file, whether or not the master runs.
"""

from __future__ import annotations

import argparse
import datetime
from typing import TYPE_CHECKING, Any

from cloud_master.cli.common import format_data

if TYPE_CHECKING:
    from cloud_master.claims import ClaimToken
    from cloud_master.config import MasterConfig

__all__ = ["add_arguments", "run"]


def add_arguments(actions: argparse._MutuallyExclusiveGroup, options: argparse._ArgumentGroup) -> None:
    actions.add_argument("--new-claim-token", action="store_true",
                         help="create a claim token for self-enrolling devices (printed once)")
    actions.add_argument("--list-claim-tokens", action="store_true", help="list claim tokens (never the secrets)")
    actions.add_argument("--revoke-claim-token", metavar="TOKEN_ID", help="revoke a claim token by its id")
    options.add_argument("--uses", type=int, default=1, metavar="N",
                         help="--new-claim-token: how many devices may enrol with it (default 1)")
    options.add_argument("--expires", default="7d", metavar="DURATION",
                         help="--new-claim-token: lifetime, e.g. 12h, 7d, 2w or never (default 7d)")
    options.add_argument("--serial-pattern", metavar="GLOB",
                         help="--new-claim-token: only devices whose serial number matches GLOB")
    options.add_argument("--grains", nargs="+", default=[], metavar="KEY=VALUE",
                         help="--new-claim-token: grains set on every device that enrols with it")


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "never"
    return datetime.datetime.fromtimestamp(stamp, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _describe(token: ClaimToken) -> str:
    parts = [f"id {token.id}", f"uses {token.uses}/{token.max_uses}", f"expires {_when(token.expires)}"]
    if token.serial_pattern:
        parts.append(f"serial {token.serial_pattern}")
    if token.grains:
        parts.append("grains " + ",".join(f"{k}={v}" for k, v in sorted(token.grains.items())))
    if token.revoked:
        parts.append("REVOKED")
    if token.claimed_by:
        parts.append("claimed by " + ",".join(token.claimed_by))
    return "  ".join(parts)


def run(args: argparse.Namespace, config: MasterConfig) -> int | None:
    """Carry out a claim-token action if one was asked for; None otherwise.

    Raises:
        ClaimError: invalid option values, or the token store failed.
    """
    from cloud_master.claims import ClaimError, ClaimStore, parse_duration, parse_grains

    if not (args.new_claim_token or args.list_claim_tokens or args.revoke_claim_token):
        return None
    store = ClaimStore.for_cache_dir(config.cache_dir)
    if args.new_claim_token:
        secret, token = store.create(max_uses=args.uses, expires_in=parse_duration(args.expires),
                                     serial_pattern=args.serial_pattern, grains=parse_grains(args.grains))
        if args.out == "txt":
            print(secret)
            print(f"# {_describe(token)}")
            print("# keep the token secret: it is not stored and cannot be shown again")
        else:
            print(format_data({"token": secret, **token.as_dict()}, args.out))
        return 0
    if args.list_claim_tokens:
        tokens = store.list()
        if args.out == "txt":
            print("\n".join(_describe(t) for t in tokens) if tokens else "No claim tokens.")
        else:
            data: dict[str, Any] = {"claim_tokens": [t.as_dict() for t in tokens]}
            print(format_data(data, args.out))
        return 0
    if not store.revoke(args.revoke_claim_token):
        raise ClaimError(f"no claim token with id {args.revoke_claim_token!r}")
    print(f"Claim token {args.revoke_claim_token} revoked.")
    return 0

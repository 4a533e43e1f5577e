"""The ``--subnets FILE`` reader: subnets that a template or plan only names, described by the user.

A template often takes its subnets as a parameter (``List<AWS::EC2::Subnet::Id>``) or from another stack: it says
their ids but not their CIDRs, AZs or the addresses other workloads hold. The file gives those, in the scenario's own
``vpc.subnets`` form, as a YAML list (what ``vpcsim import aws --subnets-only`` writes), or a mapping with a
``subnets`` list, or a scenario's ``vpc.subnets``::

    - {id: subnet-0a1b2c3d, az: us-east-1a, cidr: 10.0.1.0/24, ips_in_use: 40, route: nat}
    - {id: subnet-4e5f6a7b, az: us-east-1b, cidr: 10.0.2.0/24, route: nat}

An entry whose id is a subnet the template defines (its logical ID) completes or corrects it (an AZ the template
leaves to EC2, addresses in use). Every entry is checked as a scenario subnet; a problem names the file and line.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ..scenario.sections import Subnet
from ..scenario.yaml_marks import compose_yaml
from .common import ImportedSubnet, Origin, SourceError, read_source_text

__all__ = ["read_subnets"]


def read_subnets(path: str | Path, label: str | None = None) -> dict[str, ImportedSubnet]:
    """The subnets of a ``--subnets`` file by id, in the file's order."""
    label = label or str(path)
    p = Path(path)
    text = read_source_text(p, label, "a --subnets file")
    data, marks = compose_yaml(text, label)
    prefix: tuple = ()
    if isinstance(data, dict) and isinstance(data.get("vpc"), dict) and "subnets" in data["vpc"]:
        data, prefix = data["vpc"]["subnets"], ("vpc", "subnets")
    elif isinstance(data, dict) and "subnets" in data:
        data, prefix = data["subnets"], ("subnets",)
    if not isinstance(data, list) or not data:
        raise SourceError("a list of subnets like `- {id: subnet-0a1b2c3d, az: us-east-1a, cidr: 10.0.1.0/24}` "
                          f"(got {'nothing' if not data else 'a ' + type(data).__name__})", label, 1 if marks else None)
    out: dict[str, ImportedSubnet] = {}
    for i, entry in enumerate(data):
        line = marks.get(prefix + (i,))
        where = f"{'.'.join(prefix)}[{i}]" if prefix else f"[{i}]"
        if not isinstance(entry, dict):
            raise SourceError(f"a subnet is a mapping with id, az and cidr (got {entry!r})", label, line, where)
        try:
            sub = Subnet.model_validate(entry)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            key_line = marks.get(prefix + (i, err["loc"][0])) if err["loc"] else None
            if err["type"] == "extra_forbidden":
                msg = f"unknown key {loc!r} (a subnet has id, az, cidr, ips_in_use, route)"
            raise SourceError(msg, label, key_line or line, f"{where}.{loc}" if loc else where) from None
        if sub.id in out:
            raise SourceError(f"subnet {sub.id!r} is listed twice", label, line, f"{where}.id")
        out[sub.id] = ImportedSubnet(id=sub.id, az=sub.az, cidr=str(sub.cidr), ips_in_use=sub.ips_in_use,
                                     route=sub.route, origin=Origin(label, line, f"subnet {sub.id}"))
    return out

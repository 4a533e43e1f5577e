"""What becomes a scenario: a team's infrastructure as it already exists (docs/import.md).

One module per source turns its input into an :class:`~simulator.sources.common.Infrastructure` (functions, subnets,
region figures, with where each came from): :mod:`.cloudformation` (CloudFormation, SAM, a CDK ``cdk.out/``),
:mod:`.terraform` (``terraform show -json``), :mod:`.aws` (a live account, read-only) and :mod:`.cloudwatch` (the
load, from metrics). The shared pieces make a scenario of it: :mod:`.load` (the ``--load FILE`` overlay),
:mod:`.subnets` (the ``--subnets FILE`` reader), :mod:`.writer` (validated scenario data and YAML text whose every
function and subnet carries a comment saying where it came from) and :mod:`.infrastructure` (scenarios that say
``infrastructure:`` and are imported afresh each time they are loaded).
"""

from .common import ImportedFunction, ImportedSubnet, Infrastructure, Origin, SourceError

__all__ = ["Infrastructure", "ImportedFunction", "ImportedSubnet", "Origin", "SourceError"]

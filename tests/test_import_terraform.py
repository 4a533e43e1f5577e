"""`vpcsim import terraform` on plan fixtures written by Terraform's JSON Output Format (tests/data/iac/terraform):
references followed through module calls, variables and outputs (the terraform-aws-modules layout), capacity
figures checked by hand, and bad plans as one line with exit code 2."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

import simulator as vs
from simulator.cli.core import main
from simulator.sources.common import SourceError
from simulator.sources.terraform import import_terraform

from .import_pricing import assert_priced_as

TF = Path(__file__).parent / "data" / "iac" / "terraform"
FLAT = TF / "plan-flat.json"
MODULES = TF / "plan-modules.json"


def _import(tmp_path: Path, plan: Path, *args: str) -> tuple[int, Path]:
    out = tmp_path / "out.yaml"
    return main(["import", "terraform", str(plan), "--out", str(out), *args]), out


def _one_error(capsys) -> str:
    text = capsys.readouterr().err.strip()
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    return text


def _write(tmp_path: Path, plan: dict, name: str = "plan.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(plan))
    return p


def test_flat_plan_unknown_subnet_ids_followed_by_reference(tmp_path):
    rc, out = _import(tmp_path, FLAT)
    assert rc == 0
    text = out.read_text()
    data = yaml.safe_load(text)
    fns = {f["name"]: f for f in data["functions"]}
    api = fns["orders-api"]
    # The subnet ids are unknown until apply: vpc_config.subnet_ids refers to aws_subnet.private[0] and [1].
    assert api["subnets"] == ["private-0", "private-1"]
    assert (api["memory_mb"], api["timeout"], api["reserved_concurrency"], api["provisioned_concurrency"]) == (
        1024, "15s", 50, 25)
    assert api["security_groups"] == ["aws_security_group.lambda"]
    assert "subnets" not in fns["orders-webhook"] and "reserved_concurrency" not in fns["orders-webhook"]  # -1
    subnets = {s["id"]: s for s in data["vpc"]["subnets"]}
    # Routes: the private table's inline 0.0.0.0/0 route goes to the NAT gateway; the associations pair
    # aws_subnet.private[count.index] with that table.
    assert subnets["private-0"] == {"id": "private-0", "az": "us-east-1a", "cidr": "10.60.1.0/24", "route": "nat"}
    assert subnets["private-1"]["az"] == "us-east-1b" and subnets["private-1"]["route"] == "nat"
    # An existing subnet read with data "aws_subnet": its own id, and the addresses in use then (251 - 187).
    assert subnets["subnet-0feed5eed0000c0de"] == {"id": "subnet-0feed5eed0000c0de", "az": "us-east-1c",
                                                   "cidr": "10.1.9.0/24", "ips_in_use": 64}
    assert f"# {FLAT} aws_subnet.private[0]" in text and f"# {FLAT} aws_lambda_function.api, arm64" in text
    cap = vs.capacity(vs.load_scenario(out))["functions"]
    # By hand: 1024 MB -> 3 per ENI; two /24 = 2 * 251; reserved 50 binds.
    assert cap["orders-api"]["ceilings"] == {"concurrency": 50, "subnet_ips": 502 * 3, "eni_quota": 350 * 3,
                                             "n_minus_1": 50, "scaling_s": 0.0}
    # orders-reports: 2048 MB -> 1 per ENI; 251 - 64 free; one AZ, so N-1 is 0. The pool is 1000 - 50.
    rep = cap["orders-reports"]
    assert rep["ceilings"]["subnet_ips"] == 187 and rep["ceilings"]["n_minus_1"] == 0
    assert rep["ceilings"]["concurrency"] == 950 and rep["binding"] == "subnet_ips"


def test_terraform_aws_modules_layout(tmp_path):
    rc, out = _import(tmp_path, MODULES)
    assert rc == 0
    text = out.read_text()
    data = yaml.safe_load(text)
    fns = {f["name"]: f for f in data["functions"]}
    # module.authorize.aws_lambda_function.this[0].vpc_config.subnet_ids = var.vpc_subnet_ids
    #   <- module "authorize" { vpc_subnet_ids = module.vpc.private_subnets }
    #   <- output "private_subnets" { value = aws_subnet.private[*].id } in module.vpc
    assert fns["payments-authorize"]["subnets"] == ["vpc-private-0", "vpc-private-1", "vpc-private-2"]
    assert fns["payments-authorize"]["provisioned_concurrency"] == 40  # aws_lambda_provisioned_concurrency_config
    assert fns["payments-settle"]["reserved_concurrency"] == 20 and "provisioned_concurrency" not in \
        fns["payments-settle"]
    assert {s["id"]: (s["az"], s["cidr"], s["route"]) for s in data["vpc"]["subnets"]} == {
        "vpc-private-0": ("eu-west-1a", "10.70.1.0/27", "nat"),
        "vpc-private-1": ("eu-west-1b", "10.70.1.32/27", "nat"),
        "vpc-private-2": ("eu-west-1c", "10.70.1.64/27", "nat")}  # one NAT gateway (single_nat_gateway)
    assert f"# {MODULES} module.vpc.aws_subnet.private[0]" in text
    assert f"# {MODULES} module.authorize.aws_lambda_function.this[0], x86_64" in text
    cap = vs.capacity(vs.load_scenario(out))["functions"]
    # By hand: 1536 MB -> 2 per ENI; three /27 = 3 * 27 addresses; N-1 loses one AZ's 27.
    assert cap["payments-authorize"]["ceilings"] == {"concurrency": 300, "subnet_ips": 81 * 2, "eni_quota": 700,
                                                     "n_minus_1": 54 * 2, "scaling_s": 0.0}
    assert cap["payments-authorize"]["binding"] == "subnet_ips"
    assert cap["payments-settle"]["ceilings"]["subnet_ips"] == 81 * 6 and cap["payments-settle"]["binding"] == \
        "concurrency"


def test_a_state_with_every_id_known(tmp_path):
    """`terraform show -json` of a state: `values` instead of `planned_values`, ids known, no configuration."""
    plan = json.loads(MODULES.read_text())
    state = {"format_version": "1.0", "terraform_version": "1.9.5", "values": copy.deepcopy(plan["planned_values"])}

    def walk(module):
        for r in module.get("resources", []):
            if r["type"] == "aws_subnet":
                r["values"]["id"] = f"subnet-{r['name']}{r['index']}"
        for c in module.get("child_modules", []):
            walk(c)
        for r in module.get("resources", []):
            if r["type"] == "aws_lambda_function":
                r["values"]["vpc_config"][0]["subnet_ids"] = ["subnet-private0", "subnet-private1"]

    walk(state["values"]["root_module"])
    infra = import_terraform(_write(tmp_path, state))
    assert [f.subnets for f in infra.functions] == [["vpc-private-0", "vpc-private-1"]] * 2


def _api_values(plan: dict) -> dict:
    return next(r for r in plan["planned_values"]["root_module"]["resources"]
                if r["address"] == "aws_lambda_function.api")["values"]


def test_architectures_are_written_and_price_the_function(tmp_path):
    rc, out = _import(tmp_path, FLAT)
    assert rc == 0
    arch = {f["name"]: f.get("architecture") for f in yaml.safe_load(out.read_text())["functions"]}
    assert arch == {"orders-api": "arm64", "orders-reports": "x86_64", "orders-webhook": "x86_64"}
    assert_priced_as(vs.load_scenario(out), "orders-api", "arm64")
    assert_priced_as(vs.load_scenario(out), "orders-reports", "x86_64")
    # Through a module (module.settle.aws_lambda_function.this[0]).
    rc, out = _import(tmp_path, MODULES)
    assert rc == 0
    assert vs.load_scenario(out).function("payments-settle").architecture == "arm64"
    # architectures = [] (unset, or unknown until apply): not stated, so no key and Lambda's default x86_64.
    plan = _modified(tmp_path, lambda p: _api_values(p).update(architectures=[]))
    api = next(f for f in import_terraform(plan).functions if f.name == "orders-api")
    assert api.architecture is None and "architecture" not in api.entry()


def test_infrastructure_scenario_prices_the_plans_architecture(tmp_path):
    scenario = tmp_path / "ci.yaml"
    scenario.write_text(f"version: 1\nname: orders-ci\nduration: 2m\ninfrastructure: {{terraform: {FLAT}}}\n")
    sc = vs.load_scenario(scenario)
    assert sc.function("orders-api").architecture == "arm64"
    assert_priced_as(sc, "orders-api", "arm64")


def _modified(tmp_path: Path, change) -> Path:
    plan = json.loads(FLAT.read_text())
    change(plan)
    return _write(tmp_path, plan)


def _api_config(plan: dict) -> dict:
    return next(r for r in plan["configuration"]["root_module"]["resources"] if r["address"] == "aws_lambda_function.api")


def _subnet_values(plan: dict, address: str) -> dict:
    return next(r for r in plan["planned_values"]["root_module"]["resources"] if r["address"] == address)["values"]


@pytest.mark.parametrize("change, message", [
    (lambda p: p.update(format_version="2.0"),
     "format_version 2.0: vpcsim reads Terraform's JSON output format 1.x"),
    (lambda p: p.pop("format_version"), "not the output of `terraform show -json PLANFILE` (no format_version)"),
    (lambda p: p.pop("planned_values"), "no planned_values.root_module"),
    (lambda p: _api_config(p)["expressions"]["vpc_config"][0].update(subnet_ids={"references": ["local.subnets"]}),
     "aws_lambda_function.api: vpc_config.subnet_ids goes through local.subnets, which the plan's configuration "
     "does not describe"),
    (lambda p: _subnet_values(p, "aws_subnet.private[1]").pop("availability_zone"),
     "aws_subnet.private[1]: availability_zone is not known until apply (EC2 would choose one): set it, or give it "
     "in --subnets FILE with id private-1"),
    (lambda p: _subnet_values(p, "aws_subnet.private[0]").update(cidr_block="10.60.1.0/30"),
     "aws_subnet.private[0]: cidr_block: EC2 subnets are /16 to /28 (got 10.60.1.0/30)"),
    (lambda p: next(r for r in p["planned_values"]["root_module"]["resources"]
                    if r["address"] == "aws_lambda_function.api")["values"].update(memory_size=20000),
     "aws_lambda_function.api.memory_size: Lambda accepts 128 to 10240 MB in whole MB (got 20000)"),
    (lambda p: _api_values(p).update(architectures=["arm64", "x86_64"]),
     "aws_lambda_function.api.architectures: Lambda takes one architecture (got arm64, x86_64)"),
    (lambda p: _api_values(p).update(architectures=["aarch64"]),
     "aws_lambda_function.api.architectures: Lambda's architectures are x86_64 and arm64 (got 'aarch64')"),
    (lambda p: p["planned_values"]["root_module"].update(resources=[
        r for r in p["planned_values"]["root_module"]["resources"] if r["type"] != "aws_lambda_function"]),
     "no aws_lambda_function in the plan's planned_values"),
])
def test_bad_plans_are_one_line(tmp_path, capsys, change, message):
    plan = _modified(tmp_path, change)
    rc, out = _import(tmp_path, plan)
    assert rc == 2 and not out.exists()
    msg = _one_error(capsys)
    assert msg.startswith(f"vpcsim: error: {plan}: "), msg
    assert message in msg, msg


def test_unreadable_plans(tmp_path, capsys):
    binary = tmp_path / "plan.tfplan"
    binary.write_bytes(b"PK\x03\x04 a zip file")
    assert _import(tmp_path, binary)[0] == 2
    assert "invalid" in _one_error(capsys)
    text = tmp_path / "plan.json"
    text.write_text('{"format_version": "1.2",\n "planned_values": {,}}')
    assert _import(tmp_path, text)[0] == 2
    assert f"{text}:2: invalid JSON" in _one_error(capsys)
    assert _import(tmp_path, tmp_path / "missing.json")[0] == 2
    assert "no such file" in _one_error(capsys)


def test_unknown_az_from_the_subnets_file(tmp_path):
    plan = _modified(tmp_path, lambda p: _subnet_values(p, "aws_subnet.private[1]").pop("availability_zone"))
    subnets = tmp_path / "subnets.yaml"
    subnets.write_text("- {id: private-1, az: us-east-1d, cidr: 10.60.2.0/24, ips_in_use: 7, route: nat}\n")
    infra = import_terraform(plan, subnets_file=subnets)
    sub = next(s for s in infra.subnets if s.id == "private-1")
    assert (sub.az, sub.ips_in_use) == ("us-east-1d", 7)


def test_infrastructure_scenario_on_a_plan(tmp_path, capsys):
    scenario = tmp_path / "ci.yaml"
    scenario.write_text(f"version: 1\nname: payments-ci\nduration: 2m\ninfrastructure: {{terraform: {MODULES}}}\n"
                        "functions:\n  - name: payments-authorize\n    arrivals: {process: poisson, rate: 100}\n"
                        "    duration: 200ms\nexpect:\n  failure_rate: \"<= 0.01\"\n")
    assert main(["check", str(scenario)]) == 0, capsys.readouterr()
    with pytest.raises(SourceError):
        import_terraform(tmp_path / "nope.json")

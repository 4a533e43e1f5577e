"""`vpcsim import cloudformation` on the real SAM templates in ../shared/iac and the fixtures in tests/data/iac: what
it reads, the capacity figures of what it writes (worked out by hand below), its provenance comments, the load
overlay, and every malformed or unresolvable input as one line with exit code 2 and no file written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

import simulator as vs
from simulator.cli.core import main
from simulator.sources.cloudformation import import_cloudformation
from simulator.sources.common import SourceError
from simulator.sources.writer import HEADER, build

from .conftest import SHARED
from .import_pricing import assert_priced_as

IAC = SHARED / "iac" / "cloudformation"
MEMORYDB = IAC / "sam-memorydb-vpc.yaml"
RDS_PROXY = IAC / "sam-rds-proxy-subnet-parameters.yaml"
DATA = Path(__file__).parent / "data" / "iac"
PAYMENTS = DATA / "cloudformation" / "payments-plain.yaml"
ORDERS = DATA / "cloudformation" / "orders-sam.yaml"
CDK = DATA / "cdk.out"


def _import(tmp_path: Path, *args: str, name: str = "out.yaml") -> tuple[int, Path]:
    out = tmp_path / name
    return main(["import", "cloudformation", *args, "--out", str(out)]), out


def _capacity(path: Path) -> dict:
    return vs.capacity(vs.load_scenario(path))


def _one_error(capsys) -> str:
    text = capsys.readouterr().err.strip()
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    return text


# --------------------------------------------------------------------------------------------------- real templates


def test_sam_memorydb_template_imports_with_its_globals_and_the_host_bits_normalised(tmp_path, capsys):
    rc, out = _import(tmp_path, str(MEMORYDB))
    assert rc == 0
    printed = capsys.readouterr().out
    assert "host bits set" in printed and "privateSubnetA" in printed
    text = out.read_text()
    assert text.startswith(HEADER + " cloudformation` from ")
    data = yaml.safe_load(text)
    (fn,) = data["functions"]
    # Globals.Function: MemorySize 512, Timeout 900; VpcConfig by !GetAtt Subnet.SubnetId and !GetAtt SG.GroupId.
    assert fn == {"name": "HelloWorldFunction", "memory_mb": 512, "subnets": ["privateSubnetA", "privateSubnetB"],
                  "security_groups": ["lambdaSG"], "timeout": "15m"}
    subnets = {s["id"]: s for s in data["vpc"]["subnets"]}
    # 30.0.1.0/23 has host bits set (EC2 refuses it): read as the network it names, with a warning in the header.
    assert subnets["privateSubnetA"] == {"id": "privateSubnetA", "az": "us-east-1b", "cidr": "30.0.0.0/23",
                                         "route": "none"}
    assert subnets["privateSubnetB"]["cidr"] == "30.0.2.0/23" and subnets["privateSubnetB"]["az"] == "us-east-1a"
    assert "CidrBlock 30.0.1.0/23 has host bits set, which EC2 refuses; read as 30.0.0.0/23" in " ".join(
        line.lstrip("# ") for line in text.splitlines() if line.startswith("#"))
    # Where each item came from: the template's line of its logical ID.
    lines = MEMORYDB.read_text().splitlines()
    for comment, lid in ((f"{MEMORYDB}:25 Resources.privateSubnetA (AWS::EC2::Subnet)", "privateSubnetA"),
                         (f"{MEMORYDB}:110 Resources.HelloWorldFunction (AWS::Serverless::Function)",
                          "HelloWorldFunction")):
        assert f"# {comment}" in text
        assert lines[int(comment.split(":")[1].split()[0]) - 1].strip() == f"{lid}:"
    # By hand: 512 MB -> floor(3072/512) = 6 environments per ENI; /23 = 512 - 5 = 507 usable addresses each.
    f = _capacity(out)["functions"]["HelloWorldFunction"]
    assert f["slots_per_eni"] == 6
    assert f["ceilings"]["subnet_ips"] == 2 * 507 * 6 == 6084
    assert f["ceilings"]["eni_quota"] == 350 * 6
    assert f["ceilings"]["concurrency"] == 1000 and f["binding"] == "concurrency"
    assert f["projected_peak"] == 0  # no load: nothing arrives
    assert f["ceilings"]["n_minus_1"] == min(1000, 507 * 6, 2100)


def test_subnet_list_parameter_without_a_value_names_the_parameter_and_the_option(tmp_path, capsys):
    rc, out = _import(tmp_path, str(RDS_PROXY))
    assert rc == 2 and not out.exists()
    msg = _one_error(capsys)
    assert f"{RDS_PROXY}:12: Parameters.Subnets: parameter Subnets (List<AWS::EC2::Subnet::Id>)" in msg
    assert "--parameter Subnets=subnet-1,subnet-2" in msg and "--subnets FILE" in msg


def test_subnet_list_parameter_from_the_subnets_file(tmp_path, capsys):
    subnets = DATA / "rds-proxy-subnets.yaml"
    rc, out = _import(tmp_path, str(RDS_PROXY), "--subnets", str(subnets),
                      "--parameter", "Subnets=subnet-0a1b2c3d4e5f60001,subnet-0a1b2c3d4e5f60002")
    assert rc == 0, capsys.readouterr().err
    data = yaml.safe_load(out.read_text())
    (fn,) = data["functions"]
    assert fn["memory_mb"] == 128 and fn["timeout"] == "30s"  # Globals.Function
    assert fn["subnets"] == ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
    # The security group is a parameter without a value: the group is named after it (hyperplane shares by it).
    assert fn["security_groups"] == ["LambdaSecurityGroupId"]
    assert [s["id"] for s in data["vpc"]["subnets"]] == fn["subnets"]  # the third subnet of the file is not used
    assert f"# {subnets}:3 subnet subnet-0a1b2c3d4e5f60001" in out.read_text()
    # By hand: 128 MB -> 24 per ENI; /26 = 59 usable, minus 9 and 4 in use -> (50 + 55) * 24.
    f = _capacity(out)["functions"]["RdsProxyFunction"]
    assert f["ceilings"]["subnet_ips"] == (50 + 55) * 24 == 2520
    assert f["ceilings"]["n_minus_1"] == min(1000, 50 * 24, 350 * 24) == 1000  # losing us-east-1b leaves 1200
    # Without --parameter the one subnet parameter takes every subnet of the file, and the header says so.
    rc, out2 = _import(tmp_path, str(RDS_PROXY), "--subnets", str(subnets), name="all.yaml")
    assert rc == 0
    assert len(yaml.safe_load(out2.read_text())["functions"][0]["subnets"]) == 3
    assert "parameter Subnets has no value: it takes the subnets of the --subnets file" in out2.read_text().replace(
        "\n# ", " ")


def test_subnet_id_missing_from_the_subnets_file(tmp_path, capsys):
    rc, out = _import(tmp_path, str(RDS_PROXY), "--subnets", str(DATA / "rds-proxy-subnets.yaml"),
                      "--parameter", "Subnets=subnet-0a1b2c3d4e5f60001,subnet-0a1b2c3d4e5f6000x")
    assert rc == 2 and not out.exists()
    msg = _one_error(capsys)
    assert "subnet 'subnet-0a1b2c3d4e5f6000x' of RdsProxyFunction is neither in the template nor in" in msg
    assert "did you mean 'subnet-0a1b2c3d4e5f6000" in msg


# --------------------------------------------------------------------------------------------------- fixtures


def test_plain_cloudformation_with_nat_routes_getazs_mappings_and_a_version(tmp_path):
    rc, out = _import(tmp_path, str(PAYMENTS))
    assert rc == 0
    data = yaml.safe_load(out.read_text())
    subnets = {s["id"]: s for s in data["vpc"]["subnets"]}
    # !Select [i, !Cidr [VpcCidr, 6, 8]], !Select [i, !GetAZs ""], routes through a NAT gateway or none.
    assert subnets == {
        "PrivateSubnet1": {"id": "PrivateSubnet1", "az": "us-east-1a", "cidr": "10.40.0.0/24", "route": "nat"},
        "PrivateSubnet2": {"id": "PrivateSubnet2", "az": "us-east-1b", "cidr": "10.40.1.0/24", "route": "nat"},
        "PrivateSubnet3": {"id": "PrivateSubnet3", "az": "us-east-1c", "cidr": "10.40.2.0/24", "route": "none"},
    }  # PublicSubnet1 (routed to the internet gateway) is used by no function: left out, and the header says so
    fns = {f["name"]: f for f in data["functions"]}
    assert set(fns) == {"payments-authorize", "LedgerFunction"}  # AuditFunction's Condition is false in staging
    pay = fns["payments-authorize"]  # a literal FunctionName names the function; !Sub does not
    assert (pay["memory_mb"], pay["reserved_concurrency"], pay["provisioned_concurrency"], pay["timeout"]) == (
        512, 50, 10, "29s")  # FindInMap [Sizing, staging, ...]; the version's !If [IsProduction, 50, 10]
    assert fns["LedgerFunction"]["memory_mb"] == 128 and fns["LedgerFunction"]["timeout"] == "3s"  # the defaults
    cap = _capacity(out)["functions"]
    # By hand: 512 MB -> 6 per ENI; three /24 = 3 * 251 addresses; reserved 50 binds.
    p = cap["payments-authorize"]
    assert p["ceilings"] == {"concurrency": 50, "subnet_ips": 3 * 251 * 6, "eni_quota": 350 * 6,
                             "n_minus_1": 50, "scaling_s": 0.0}
    assert p["binding"] == "concurrency"
    # LedgerFunction: 128 MB -> 24 per ENI; the shared pool is 1000 - 50 (payments' reservation).
    led = cap["LedgerFunction"]
    assert led["ceilings"]["concurrency"] == 950 and led["ceilings"]["subnet_ips"] == 2 * 251 * 24
    assert led["ceilings"]["n_minus_1"] == min(950, 251 * 24, 350 * 24)
    # Production: the mapping's other row, the condition's other branch, and the conditional function.
    rc, prod = _import(tmp_path, str(PAYMENTS), "--parameter", "Environment=production", name="prod.yaml")
    assert rc == 0
    fns = {f["name"]: f for f in yaml.safe_load(prod.read_text())["functions"]}
    assert (fns["payments-authorize"]["memory_mb"], fns["payments-authorize"]["reserved_concurrency"],
            fns["payments-authorize"]["provisioned_concurrency"]) == (1536, 200, 50)
    assert fns["payments-audit"]["subnets"] == ["PrivateSubnet3"]
    assert _capacity(prod)["functions"]["payments-authorize"]["slots_per_eni"] == 2  # floor(3072 / 1536)


def test_sam_alias_provisioned_concurrency_globals_and_novalue(tmp_path):
    rc, out = _import(tmp_path, str(ORDERS))
    assert rc == 0
    text = out.read_text()
    data = yaml.safe_load(text)
    fns = {f["name"]: f for f in data["functions"]}
    api, worker = fns["orders-api"], fns["OrdersWorker"]
    assert api["provisioned_concurrency"] == 20 and api["memory_mb"] == 1024 and api["timeout"] == "30s"
    assert (worker["memory_mb"], worker["timeout"], worker["reserved_concurrency"]) == (2048, "2m", 100)
    assert api["subnets"] == worker["subnets"] == ["PrivateA", "PrivateB"]  # from Globals.Function.VpcConfig
    assert "(AWS::Serverless::Function), arm64" in text  # Globals.Function.Architectures, said in the comment
    cap = _capacity(out)["functions"]
    # By hand: orders-api 1024 MB -> 3 per ENI; two /26 = 2 * 59 addresses; pool 1000 - 100 - 20, plus its own 20.
    assert cap["orders-api"]["ceilings"] == {"concurrency": 900, "subnet_ips": 118 * 3, "eni_quota": 350 * 3,
                                             "n_minus_1": 59 * 3, "scaling_s": 0.0}
    assert cap["orders-api"]["binding"] == "subnet_ips"
    assert cap["OrdersWorker"]["ceilings"]["subnet_ips"] == 118 and cap["OrdersWorker"]["binding"] == "concurrency"
    # Env=dev: the !If gives AWS::NoValue, so there is no ProvisionedConcurrencyConfig at all.
    rc, dev = _import(tmp_path, str(ORDERS), "--parameter", "Env=dev", name="dev.yaml")
    assert rc == 0
    assert "provisioned_concurrency" not in yaml.safe_load(dev.read_text())["functions"][0]


def test_cdk_out_with_two_stacks_and_an_import_between_them(tmp_path):
    rc, out = _import(tmp_path, str(CDK))
    assert rc == 0
    text = out.read_text()
    data = yaml.safe_load(text)
    fns = {f["name"]: f for f in data["functions"]}
    handler = fns["Handler886CB40B"]  # no FunctionName: the logical ID
    assert handler["subnets"] == ["VpcPrivateSubnet1Subnet536B997A", "VpcPrivateSubnet2Subnet3788AAA1"]
    assert handler["memory_mb"] == 1769 and handler["timeout"] == "10s"
    assert "subnets" not in fns["service-notifier"]  # not in a VPC
    assert {s["id"]: (s["az"], s["cidr"], s["route"]) for s in data["vpc"]["subnets"]} == {
        "VpcPrivateSubnet1Subnet536B997A": ("us-east-1a", "10.50.2.0/25", "nat"),
        "VpcPrivateSubnet2Subnet3788AAA1": ("us-east-1b", "10.50.2.128/25", "nat")}
    # The subnets come from the exporting stack, with its line and the CDK construct path.
    assert ("NetworkStack.template.json:115 Resources.VpcPrivateSubnet1Subnet536B997A (AWS::EC2::Subnet, "
            "NetworkStack/Vpc/PrivateSubnet1/Subnet)") in text
    assert "ServiceStack.template.json:56 Resources.Handler886CB40B (AWS::Lambda::Function" in text
    # By hand: 1769 MB -> floor(3072/1769) = 1 per ENI; /25 = 123 usable each.
    cap = _capacity(out)["functions"]["Handler886CB40B"]
    assert cap["ceilings"]["subnet_ips"] == 246 and cap["ceilings"]["n_minus_1"] == 123
    assert cap["binding"] == "subnet_ips"
    # The one stack alone cannot resolve the import: one line naming it and the way out.
    with pytest.raises(SourceError) as info:
        import_cloudformation(CDK / "ServiceStack.template.json")
    assert "Fn::ImportValue 'NetworkStack:ExportsOutputRefVpcPrivateSubnet1Subnet536B997AFCB0F9A1': no stack here " \
           "exports it" in str(info.value)


def test_load_overlay_set_and_the_run(tmp_path, capsys):
    rc, out = _import(tmp_path, str(ORDERS), "--load", str(DATA / "orders-load.yaml"), "--set", "duration=12m")
    assert rc == 0
    assert "Next: vpcsim capacity" in capsys.readouterr().out
    text = out.read_text()
    assert "No load" not in text and f"# load from {DATA / 'orders-load.yaml'}:3" in text  # the function's entry
    sc = vs.load_scenario(out)
    api = sc.function("orders-api")
    assert len(api.arrivals) == 2 and api.provisioned_concurrency == 20 and sc.duration == 720
    # By hand: the spike peaks at 50 + 3000 per second; lognormal(median 120 ms, p99 800 ms) has mean
    # 0.12 * exp(s^2 / 2), s = ln(800/120) / 2.3263; Little: ceil(3050 * mean) executions.
    import math

    s = math.log(800 / 120) / 2.3263478740408408
    mean = 0.12 * math.exp(s * s / 2)
    cap = vs.capacity(sc)["functions"]["orders-api"]
    assert cap["projected_peak"] == math.ceil(3050 * mean)
    assert cap["projected_peak"] > cap["ceilings"]["subnet_ips"] == 354  # the template's /26 subnets are too small


def test_load_overlay_errors(tmp_path, capsys):
    bad = tmp_path / "load.yaml"
    bad.write_text("orders-apj:\n  arrivals: {process: poisson, rate: 5}\n  duration: 1s\n")
    rc, out = _import(tmp_path, str(ORDERS), "--load", str(bad))
    assert rc == 2 and not out.exists()
    assert f"{bad}:1: orders-apj: no imported function is named 'orders-apj'; did you mean 'orders-api'?" in \
        _one_error(capsys)
    bad.write_text("orders-api:\n  arrivals: {process: poisson, rate: 5}\n  duraton: 1s\n")
    assert _import(tmp_path, str(ORDERS), "--load", str(bad))[0] == 2
    assert f"{bad}:3: orders-api.duraton: 'duraton' is not a load key; did you mean 'duration'?" in _one_error(capsys)
    bad.write_text("orders-api:\n  memory_mb: 2048\n")
    assert _import(tmp_path, str(ORDERS), "--load", str(bad))[0] == 2
    msg = _one_error(capsys)
    assert "'memory_mb' is not a load key (load keys: arrivals, duration," in msg
    assert msg.endswith("(settings from the infrastructure change with --set)")
    # A bad value in the load is reported at the load file's line, not at the scenario (which is not written).
    bad.write_text("orders-api:\n  arrivals: {process: poisson, rate: 5}\n  duration: -1s\n")
    assert _import(tmp_path, str(ORDERS), "--load", str(bad))[0] == 2
    msg = _one_error(capsys)
    assert msg.startswith(f"{bad}:3: orders-api.duration (functions[0].duration):"), msg
    # arrivals without a duration: the load file is at fault, at the function's entry (not the template's line).
    bad.write_text("# the load\norders-api:\n  arrivals: {process: poisson, rate: 5}\n")
    assert _import(tmp_path, str(ORDERS), "--load", str(bad))[0] == 2
    assert _one_error(capsys) == (f"{bad}:2: orders-api (functions[0].duration): required when the function has "
                                  "arrivals")


def test_printed_without_out_and_set_errors(capsys):
    assert main(["import", "cloudformation", str(ORDERS)]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith(HEADER) and yaml.safe_load(printed.out)["name"] == "orders-sam"
    assert main(["import", "cloudformation", str(ORDERS), "--set", "functions.orders-apx.memory_mb=256"]) == 2
    # Named after the template, as `vpcsim run FILE --set` names FILE (not "<scenario>:" or "<import>:").
    assert _one_error(capsys) == (f"{ORDERS}: --set functions.orders-apx.memory_mb: no function named 'orders-apx'; "
                                  "did you mean 'orders-api'?")
    assert main(["import", "cloudformation", str(ORDERS), "--set", "duration=-5"]) == 2
    assert _one_error(capsys) == f"{ORDERS}: --set duration: must be > 0 (got -5)"


_CONSTRAINED = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
    AllowedValues: [dev, prod]
    Default: dev
  Name:
    Type: String
    AllowedPattern: "[a-z][a-z0-9-]*"
    ConstraintDescription: lower case letters, digits and dashes
    MinLength: 3
    MaxLength: 8
    Default: orders
  Memory:
    Type: Number
    MinValue: 128
    MaxValue: 10240
    Default: 1024
  Subnets:
    Type: CommaDelimitedList
    AllowedValues: [subnet-a, subnet-b]
    Default: subnet-a
  Tracing:
    Type: String
    AllowedValues: [true, false]
    Default: "false"
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Code: {ZipFile: "def handler(e, c): pass"}
      Role: arn:aws:iam::123456789012:role/r
      MemorySize: !Ref Memory
"""


@pytest.mark.parametrize(("given", "line", "message"), [
    ("Env=staging", 5, "Parameters.Env.AllowedValues: --parameter Env=staging: 'staging' is not one of its "
                       "AllowedValues (dev, prod)"),
    ("Name=Orders", 9, "Parameters.Name.AllowedPattern: --parameter Name=Orders: 'Orders' does not match its "
                        "AllowedPattern '[a-z][a-z0-9-]*' (lower case letters, digits and dashes)"),
    ("Name=ab", 11, "Parameters.Name.MinLength: --parameter Name=ab: 'ab' is shorter than its MinLength 3"),
    ("Name=orders-api", 12, "Parameters.Name.MaxLength: --parameter Name=orders-api: 'orders-api' is longer than "
                            "its MaxLength 8"),
    ("Memory=64", 16, "Parameters.Memory.MinValue: --parameter Memory=64: 64 breaks its MinValue 128"),
    ("Memory=20000", 17, "Parameters.Memory.MaxValue: --parameter Memory=20000: 20000 breaks its MaxValue 10240"),
    ("Memory=lots", 15, "Parameters.Memory.Type: --parameter Memory=lots: the parameter is a Number"),
    ("Subnets=subnet-a,subnet-c", 21, "Parameters.Subnets.AllowedValues: --parameter Subnets=subnet-a,subnet-c: "
                                      "'subnet-c' is not one of its AllowedValues (subnet-a, subnet-b)"),
    ("Tracing=True", 25, "Parameters.Tracing.AllowedValues: --parameter Tracing=True: 'True' is not one of its "
                         "AllowedValues (true, false)"),  # YAML's true is CloudFormation's "true", not "True"
])
def test_a_parameter_cloudformation_would_refuse_is_refused(tmp_path, capsys, given, line, message):
    """--parameter Env=staging on a template that allows dev and prod was imported silently: a stack CloudFormation
    would never create."""
    template = tmp_path / "t.yaml"
    template.write_text(_CONSTRAINED)
    rc, out = _import(tmp_path, str(template), "--parameter", given)
    assert rc == 2 and not out.exists()
    assert _one_error(capsys) == f"vpcsim: error: {template}:{line}: {message}"


def test_parameters_within_their_constraints_are_imported(tmp_path):
    template = tmp_path / "t.yaml"
    template.write_text(_CONSTRAINED)
    rc, out = _import(tmp_path, str(template), "--parameter", "Env=prod", "--parameter", "Name=pay-1",
                      "--parameter", "Memory=2048", "--parameter", "Subnets=subnet-b,subnet-a",
                      "--parameter", "Tracing=true")
    assert rc == 0 and yaml.safe_load(out.read_text())["functions"][0]["memory_mb"] == 2048


# --------------------------------------------------------------------------------------------------- architecture


def test_architecture_is_written_when_the_template_states_it_and_prices_the_function(tmp_path):
    # SAM Globals.Function.Architectures [arm64]: both functions, written and said in the comment.
    rc, out = _import(tmp_path, str(ORDERS))
    assert rc == 0
    fns = {f["name"]: f for f in yaml.safe_load(out.read_text())["functions"]}
    assert fns["orders-api"]["architecture"] == fns["OrdersWorker"]["architecture"] == "arm64"
    assert list(fns["OrdersWorker"])[:3] == ["name", "memory_mb", "architecture"]
    sc = vs.load_scenario(out)
    assert_priced_as(sc, "OrdersWorker", "arm64")
    # A plain template's explicit [x86_64] is written too; CDK's arm64 function beside one that states nothing.
    rc, plain = _import(tmp_path, str(PAYMENTS), name="plain.yaml")
    assert rc == 0
    stated = {f["name"]: f.get("architecture") for f in yaml.safe_load(plain.read_text())["functions"]}
    assert set(stated.values()) == {"x86_64", None} and stated["payments-authorize"] == "x86_64"
    rc, cdk = _import(tmp_path, str(CDK), name="cdk.yaml")
    assert rc == 0
    stated = {f["name"]: f.get("architecture") for f in yaml.safe_load(cdk.read_text())["functions"]}
    assert stated == {"Handler886CB40B": None, "service-notifier": "arm64"}
    assert vs.load_scenario(cdk).function("Handler886CB40B").architecture == "x86_64"  # Lambda's default
    # The real SAM template states none: no key, the default x86_64.
    rc, real = _import(tmp_path, str(MEMORYDB), name="real.yaml")
    assert rc == 0 and "architecture" not in yaml.safe_load(real.read_text())["functions"][0]


SAM_ARCH = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Arch:
    Type: String
    Default: x86_64
Globals:
  Function:
    Architectures: [x86_64]
Resources:
  Api:
    Type: AWS::Serverless::Function
    Properties:
      Architectures: [arm64]
  Jobs:
    Type: AWS::Serverless::Function
  Plain:
    Type: AWS::Lambda::Function
    Properties:
      Architectures: [!Ref Arch]
"""


def test_sam_function_architectures_replace_the_globals_and_intrinsics_resolve(tmp_path, capsys):
    tpl = tmp_path / "template.yaml"
    tpl.write_text(SAM_ARCH)
    # SAM replaces Globals.Function.Architectures with the function's own (a function runs on one architecture);
    # the Globals apply to SAM functions only.
    rc, out = _import(tmp_path, str(tpl), "--parameter", "Arch=arm64")
    assert rc == 0, capsys.readouterr().err
    arch = {f["name"]: f.get("architecture") for f in yaml.safe_load(out.read_text())["functions"]}
    assert arch == {"Api": "arm64", "Jobs": "x86_64", "Plain": "arm64"}
    sc = vs.load_scenario(out)
    assert_priced_as(sc, "Api", "arm64")
    assert_priced_as(sc, "Jobs", "x86_64")


@pytest.mark.parametrize("value, line, message", [
    ("[arm64, x86_64]", 13, "Lambda takes one architecture (got arm64, x86_64)"),
    ("[graviton]", 13, "Lambda's architectures are x86_64 and arm64 (got 'graviton')"),
])
def test_an_architecture_lambda_refuses_is_one_line_at_its_place(tmp_path, capsys, value, line, message):
    tpl = tmp_path / "template.yaml"
    tpl.write_text(SAM_ARCH.replace("Architectures: [arm64]", f"Architectures: {value}"))
    rc, out = _import(tmp_path, str(tpl))
    assert rc == 2 and not out.exists()
    msg = _one_error(capsys)
    assert msg.startswith(f"vpcsim: error: {tpl}:{line}: Resources.Api.Properties.Architectures"), msg
    assert message in msg, msg


# --------------------------------------------------------------------------------------------------- errors

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Memory:
    Type: Number
Conditions:
  A: !Condition B
  B: !Not [!Condition A]
Resources:
  Subnet:
    Type: AWS::EC2::Subnet
    Properties:
      CidrBlock: 10.0.1.0/24
      AvailabilityZone: us-east-1a
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      MemorySize: 256
      VpcConfig:
        SubnetIds: [!Ref Subnet]
"""


@pytest.mark.parametrize("change, line, message", [
    ({"      MemorySize: 256": "      MemorySize: !Ref Memory"}, 3,
     "Parameters.Memory: parameter Memory (Number) has no value and no Default: give --parameter Memory=VALUE"),
    ({"SubnetIds: [!Ref Subnet]": "SubnetIds: [!Ref Subnte]"}, 19,
     "Ref to unknown logical ID 'Subnte'; did you mean 'Subnet'?"),
    ({"      MemorySize: 256": "      MemorySize: !If [A, 256, 512]"}, 6, "circular conditions: A -> B -> A"),
    ({"      MemorySize: 256": "      MemorySize: !Length [1, 2]"}, 17,
     "unsupported intrinsic function Fn::Length"),
    ({"      MemorySize: 256": "      MemorySize: 64"}, 17,
     "Lambda accepts 128 to 10240 MB in whole MB (got 64)"),
    ({"      MemorySize: 256": "      MemorySize: 256\n      Timeout: 901"}, 18,
     "Lambda accepts 1 to 900 seconds (got 901)"),
    ({"10.0.1.0/24": "10.0.1.0/29"}, 12, "CidrBlock: EC2 subnets are /16 to /28 (got 10.0.1.0/29)"),
    ({"      AvailabilityZone: us-east-1a\n": ""}, 9, "the subnet names no AvailabilityZone: EC2 would choose one"),
    ({"      AvailabilityZone: us-east-1a": "      AvailabilityZone: !Select [7, !GetAZs '']"}, 13,
     "Fn::Select: index 7 is out of range: the list has 6 items"),
    ({"SubnetIds: [!Ref Subnet]": "SubnetIds: [!ImportValue shared-subnet]"}, 19,
     "Fn::ImportValue 'shared-subnet': no stack here exports it; give --parameter shared-subnet=VALUE"),
    ({"SubnetIds: [!Ref Subnet]": "SubnetIds: [subnet-0abc]"}, 14,
     "subnet 'subnet-0abc' of Fn is not in the template: give its CIDR and AZ with --subnets FILE"),
    ({"      MemorySize: 256": "      MemorySize: !FindInMap [Sizes, prod, Memory]"}, 17,
     "Fn::FindInMap: no map 'Sizes' in Mappings"),
    ({"  Fn:\n": "  Fn:\n    Condition: Nope\n"}, 15, "no condition named 'Nope' (conditions: A, B)"),
    ({"    Type: AWS::Lambda::Function": "    Type: AWS::SQS::Queue"}, None,
     "no AWS::Lambda::Function or AWS::Serverless::Function in the template"),
    ({"      CidrBlock: 10.0.1.0/24": "      CidrBlock: 10.0.1.0/24\n      CidrBlock: 10.0.2.0/24"}, 13,
     "duplicate key"),
    ({"    Properties:\n      CidrBlock": "    Properties:\n     CidrBlock"}, 13, "invalid YAML"),
])
def test_malformed_template_is_one_line_naming_file_line_and_place(tmp_path, capsys, change, line, message):
    text = TEMPLATE
    for old, new in change.items():
        assert old in text
        text = text.replace(old, new, 1)
    tpl = tmp_path / "template.yaml"
    tpl.write_text(text)
    rc, out = _import(tmp_path, str(tpl))
    assert rc == 2 and not out.exists()
    msg = _one_error(capsys)
    assert msg.startswith(f"vpcsim: error: {tpl}" + (f":{line}:" if line else ":")), msg
    assert message in msg, msg


def test_other_bad_inputs(tmp_path, capsys):
    tpl = tmp_path / "t.json"
    tpl.write_text('{"Resources": {\n  "Fn": {"Type": "AWS::Lambda::Function",}\n}}\n')
    assert _import(tmp_path, str(tpl))[0] == 2
    assert f"{tpl}:2: invalid JSON: Expecting property name enclosed in double quotes" in _one_error(capsys)
    tpl.write_text('{"AWSTemplateFormatVersion": "2010-09-09"}\n')
    assert _import(tmp_path, str(tpl))[0] == 2
    assert "not a CloudFormation template: it has no Resources section" in _one_error(capsys)
    assert _import(tmp_path, str(tmp_path / "nope.yaml"))[0] == 2
    assert "no such file or folder" in _one_error(capsys)
    assert _import(tmp_path, str(tmp_path))[0] == 2
    assert "no *.template.json (a cdk.out/ folder) and no template.yaml" in _one_error(capsys)
    assert _import(tmp_path, str(ORDERS), "--parameter", "Envv=dev")[0] == 2
    assert "--parameter Envv: no template parameter or Fn::ImportValue is named 'Envv'; did you mean 'Env'?" in \
        _one_error(capsys)
    assert _import(tmp_path, str(ORDERS), "--parameter", "Env")[0] == 2
    assert "expected KEY=VALUE" in _one_error(capsys)
    assert _import(tmp_path, str(ORDERS), "--region", "mars")[0] == 2
    assert "--region: not an AWS region name" in _one_error(capsys)
    subnets = tmp_path / "subnets.yaml"
    subnets.write_text("- {id: subnet-1, az: us-east-1a, cidr: 10.0.0.0/24}\n- {id: subnet-2, az: us-east-1b, "
                       "cidr: 10.0.1.0/33}\n")
    assert _import(tmp_path, str(RDS_PROXY), "--subnets", str(subnets))[0] == 2
    assert f"{subnets}:2: [1].cidr: not an IPv4 CIDR block" in _one_error(capsys)


def test_an_existing_scenario_is_replaced_only_by_a_complete_import(tmp_path, capsys):
    rc, out = _import(tmp_path, str(ORDERS))
    before = out.read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(ORDERS.read_text().replace("MemorySize: 2048", "MemorySize: 20480"))
    assert _import(tmp_path, str(broken))[0] == 2
    assert out.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.yaml", "out.yaml"]  # no temporary file left


def test_missing_extra_is_one_line_naming_the_install(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cfn_tools.yaml_loader", None)  # as if cfn-flip were not installed
    rc, _ = _import(tmp_path, str(ORDERS))
    assert rc == 2
    msg = _one_error(capsys)
    assert "needs the 'cloudformation' extra: pip install 'vpcsim[cloudformation]'" in msg
    # A JSON template (CDK) has no short-form tags and needs no extra.
    assert _import(tmp_path, str(CDK))[0] == 0


def test_a_500_resource_template_imports_in_under_5_seconds(tmp_path, capsys):
    """The issue's target. 100 subnets, 100 route tables and associations, 200 functions (a SAM-like layout)."""
    lines = ["Resources:", "  Vpc:", "    Type: AWS::EC2::VPC", "    Properties:", "      CidrBlock: 10.0.0.0/8",
             "  Routes:", "    Type: AWS::EC2::RouteTable", "    Properties:", "      VpcId: !Ref Vpc"]
    for i in range(100):  # YAML as people write it: block mappings and short-form tags
        lines += [f"  Subnet{i}:", "    Type: AWS::EC2::Subnet", "    Properties:", "      VpcId: !Ref Vpc",
                  f"      CidrBlock: 10.{i}.0.0/24", f"      AvailabilityZone: !Select [{i % 3}, !GetAZs '']",
                  f"  Assoc{i}:", "    Type: AWS::EC2::SubnetRouteTableAssociation", "    Properties:",
                  f"      SubnetId: !Ref Subnet{i}", "      RouteTableId: !Ref Routes"]
    for i in range(298):
        lines += [f"  Fn{i}:", "    Type: AWS::Lambda::Function", "    Properties:",
                  f"      FunctionName: !Sub '${{AWS::StackName}}-fn-{i}'", f"      MemorySize: {128 + 64 * (i % 20)}",
                  "      Timeout: 30", "      VpcConfig:", "        SecurityGroupIds: [sg-1]",
                  f"        SubnetIds: [!Ref Subnet{i % 100}, !GetAtt Subnet{(i + 1) % 100}.SubnetId]"]
    assert sum(1 for line in lines if line.startswith("    Type:")) == 500
    tpl = tmp_path / "big.yaml"
    tpl.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    infra = import_cloudformation(tpl)
    built = build(infra, tmp_path / "big-scenario.yaml")
    took = time.perf_counter() - start
    assert len(built.scenario.functions) == 298 and len(built.scenario.vpc.subnets) == 100
    print(f"500-resource template: imported and validated in {took:.2f} s")
    assert took < 5.0


def test_without_a_load_capacity_works_and_run_says_nothing_arrives(tmp_path, capsys):
    rc, out = _import(tmp_path, str(ORDERS))
    assert rc == 0
    text = out.read_text()
    assert "# No load: nothing arrives for any function." in text
    capsys.readouterr()
    assert main(["capacity", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "note [no-arrivals] orders-api: no arrivals: nothing arrives for this function" in printed
    assert main(["run", str(out), "--set", "duration=1m"]) == 0
    assert "vpcsim: note: no function has arrivals, so nothing arrives in this run" in capsys.readouterr().err
    # Arrivals need a duration: the scenario says which is missing.
    with pytest.raises(vs.ScenarioError) as info:
        vs.load_scenario(out).with_changes({"functions.orders-api.arrivals": {"process": "poisson", "rate": 1}})
    assert "functions[0].duration: required when the function has arrivals" in str(info.value)


@pytest.mark.parametrize("path", [MEMORYDB, RDS_PROXY, PAYMENTS, ORDERS], ids=lambda p: p.name)
def test_our_loader_reads_what_cfn_flips_own_load_yaml_reads(path):
    """The assumption behind using cfn-flip's tag constructor on our own (line-keeping, libyaml) loader."""
    from cfn_tools import load_yaml

    from simulator.sources.cloudformation import read_template

    assert read_template(path, str(path)).data == load_yaml(path.read_text())


def test_what_is_not_read_is_said(tmp_path):
    tpl = tmp_path / "t.yaml"
    tpl.write_text(TEMPLATE + "  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n"
                              "      TemplateURL: child.yaml\n")
    infra = import_cloudformation(tpl)
    assert any("Resources.Child (AWS::CloudFormation::Stack): a nested stack is not read" in n for n in infra.notes)

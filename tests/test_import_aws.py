"""`vpcsim import aws` against moto: the library in moto's in-process mock, the command end to end against a moto
server on 127.0.0.1 (started and stopped here). What it reads, the capacity figures checked by hand, the fallbacks
said in the header, one line for each failure, the 1,000-function figure, and that no mutating call is ever made
(a botocore hook in the library tests, the server's own request recording in the end-to-end test)."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

import boto3  # noqa: E402

import simulator as vs  # noqa: E402
from simulator.cli.core import main  # noqa: E402
from simulator.sources.aws import READ_ONLY_PREFIXES, import_aws, subnets_yaml  # noqa: E402
from simulator.sources.common import SourceError  # noqa: E402
from simulator.sources.writer import build  # noqa: E402

from .aws_account import build_account, put_metrics  # noqa: E402
from .import_pricing import assert_priced_as  # noqa: E402

IAC = Path(__file__).resolve().parents[2] / "shared" / "iac" / "cloudformation"


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Credentials of a test account and nothing from the machine's own AWS configuration."""
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


@pytest.fixture
def account(aws_env):
    with moto.mock_aws():
        session = boto3.Session(region_name="us-east-1")
        ids = build_account(session)
        yield session, ids


class Calls:
    """Every operation the importer's session sends (a botocore before-call hook)."""

    def __init__(self, session):
        self.names: list[str] = []
        session.events.register("before-call", self)

    def __call__(self, model=None, **_):
        self.names.append(model.name)

    def assert_read_only(self):
        assert self.names, "no call recorded"
        assert all(n.startswith(READ_ONLY_PREFIXES) for n in self.names), sorted(set(self.names))


def _importer_session(calls: bool = True):
    session = boto3.Session(region_name="us-east-1")
    return session, (Calls(session) if calls else None)


def test_account_imports_with_its_subnets_addresses_and_routes(account):
    _, ids = account
    session, calls = _importer_session()
    infra = import_aws(session=session)
    calls.assert_read_only()
    assert {"ListFunctions", "GetFunctionConcurrency", "DescribeSubnets", "DescribeNetworkInterfaces",
            "DescribeRouteTables", "GetServiceQuota", "GetCallerIdentity"} <= set(calls.names)
    built = build(infra)
    data = built.data
    fns = {f["name"]: f for f in data["functions"]}
    api = fns["orders-api"]
    assert (api["memory_mb"], api["timeout"], api["reserved_concurrency"], api["subnets"], api["security_groups"]) == (
        1024, "30s", 100, [ids["a"], ids["b"]], [ids["sg"]])
    assert "subnets" not in fns["billing-export"]
    subnets = {s["id"]: s for s in data["vpc"]["subnets"]}
    assert set(subnets) == {ids["a"], ids["b"]}  # the functions' subnets only
    # ips_in_use: usable - AvailableIpAddressCount, less Lambda's own ENIs. Subnet a: 251 usable, 3 taken, all by
    # Lambda's ENIs -> 0. Subnet b: 59 usable, 5 taken by the database -> 5. Both route through the NAT gateway.
    assert subnets[ids["a"]] == {"id": ids["a"], "az": "us-east-1a", "cidr": "10.0.1.0/24", "route": "nat"}
    assert subnets[ids["b"]] == {"id": ids["b"], "az": "us-east-1b", "cidr": "10.0.2.0/26", "ips_in_use": 5,
                                 "route": "nat"}
    # The region: moto has no GetAccountSettings (the default 1,000 with a note); Service Quotas answers 5,000;
    # ENIs that are not Lambda's: the database's 5 and the NAT gateway's 1.
    assert data["region"] == {"concurrency_limit": 1000, "eni_quota": 5000, "enis_in_use": 6}
    text = built.text.replace("\n# ", " ")
    assert "concurrency limit not read (lambda:GetAccountSettings: not available (404)): the default 1000" in text
    assert "provisioned concurrency not read (lambda:ListProvisionedConcurrencyConfigs: not available (404))" in text
    assert f"# aws us-east-1 ec2 subnet {ids['a']} ({ids['vpc']})" in built.text
    assert "# aws us-east-1 lambda function orders-api, arm64" in built.text
    # ListFunctions states every function's Architectures (x86_64 when created without): written, and priced.
    assert {n: f["architecture"] for n, f in fns.items()} == {"orders-api": "arm64", "orders-worker": "x86_64",
                                                              "billing-export": "x86_64"}
    assert_priced_as(built.scenario, "orders-api", "arm64")
    assert_priced_as(built.scenario, "billing-export", "x86_64")
    cap = vs.capacity(built.scenario)["functions"]
    # By hand: 1024 MB -> 3 per ENI; (251 + 54) free addresses; reserved 100 binds; ENI quota (5000 - 6) * 3.
    assert cap["orders-api"]["ceilings"] == {"concurrency": 100, "subnet_ips": 305 * 3, "eni_quota": 4994 * 3,
                                             "n_minus_1": 100, "scaling_s": 0.0}
    # orders-worker: 2048 MB -> 1 per ENI; the pool is 1000 - 100; losing us-east-1a leaves 54.
    assert cap["orders-worker"]["ceilings"]["concurrency"] == 900
    assert cap["orders-worker"]["ceilings"]["subnet_ips"] == 305 and cap["orders-worker"]["ceilings"]["n_minus_1"] \
        == 54


def test_provisioned_concurrency_and_the_account_limit_when_the_endpoint_answers(account):
    """moto implements neither call: answer them the way AWS does (a before-call hook short-cuts the request,
    botocore then parses the answer as it parses AWS's)."""
    session, calls = _importer_session()

    def answer(model=None, params=None, **_):
        if model.name == "ListProvisionedConcurrencyConfigs":
            n = 20 if "/functions/orders-api/" in params["url_path"] else 0
            configs = [{"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders-api:live",
                        "RequestedProvisionedConcurrentExecutions": n, "Status": "READY"}] if n else []
            return (type("R", (), {"status_code": 200})(), {"ProvisionedConcurrencyConfigs": configs})
        if model.name == "GetAccountSettings":
            return (type("R", (), {"status_code": 200})(), {"AccountLimit": {"ConcurrentExecutions": 3000},
                                                            "AccountUsage": {}})
        return None

    session.events.register("before-call.lambda", answer)
    infra = import_aws(session=session)
    calls.assert_read_only()
    assert infra.function("orders-api").provisioned == 20 and infra.function("orders-worker").provisioned == 0
    assert infra.region["concurrency_limit"] == 3000
    assert not any("not read" in n for n in infra.notes)


def test_functions_glob_and_subnets_only(account, tmp_path):
    _, ids = account
    session, calls = _importer_session()
    infra = import_aws(session=session, functions=["orders-w*"])
    assert [f.name for f in infra.functions] == ["orders-worker"]
    with pytest.raises(SourceError) as info:
        import_aws(session=session, functions=["order-api"])
    assert "--functions order-api: no function matches; did you mean 'orders-api'?" in str(info.value)
    text, n = subnets_yaml(session=session)
    calls.assert_read_only()
    assert n == 3 + 6  # the VPC's three and moto's default VPC's six
    assert text.startswith("# Imported by `vpcsim import aws --subnets-only`")
    # The file feeds the template importers: the real SAM template whose subnets are a parameter.
    path = tmp_path / "subnets.yaml"
    path.write_text(text)
    rc = main(["import", "cloudformation", str(IAC / "sam-rds-proxy-subnet-parameters.yaml"), "--subnets",
               str(path), "--parameter", f"Subnets={ids['a']},{ids['b']}", "--out", str(tmp_path / "sc.yaml")])
    assert rc == 0
    sc = vs.load_scenario(tmp_path / "sc.yaml")
    assert sc.subnet(ids["b"]).ips_in_use == 5 and sc.subnet(ids["a"]).route == "nat"


def test_the_guard_refuses_a_mutating_call(account):
    from simulator.sources.aws import read_only_guard

    session = boto3.Session(region_name="us-east-1")
    session.events.register("before-call", read_only_guard)
    with pytest.raises(RuntimeError, match="read-only calls only; refused DeleteFunction"):
        session.client("lambda").delete_function(FunctionName="orders-api")
    assert boto3.client("lambda").get_function(FunctionName="orders-api")  # still there


def _error_hook(operation: str, code: str, status: int, message: str = ""):
    def hook(model=None, **_):
        if model.name == operation:
            return (type("R", (), {"status_code": status})(),
                    {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}})
        return None

    return hook


@pytest.mark.parametrize("operation, code, status, message", [
    ("GetCallerIdentity", "ExpiredToken", 403,
     "the AWS credentials have expired (ExpiredToken, calling sts:GetCallerIdentity): refresh them"),
    ("ListFunctions", "ExpiredTokenException", 403, "the AWS credentials have expired (ExpiredTokenException"),
    ("GetCallerIdentity", "InvalidClientTokenId", 403, "AWS does not accept these credentials (InvalidClientTokenId"),
    ("ListFunctions", "TooManyRequestsException", 429,
     "AWS kept throttling lambda:ListFunctions after botocore's retries (TooManyRequestsException)"),
    ("DescribeRouteTables", "UnauthorizedOperation", 403,
     "not allowed to call ec2:DescribeRouteTables (UnauthorizedOperation): the identity needs the read-only actions"),
])
def test_credential_and_permission_failures_are_one_line(account, operation, code, status, message):
    session, _ = _importer_session(calls=False)
    session.events.register("before-call", _error_hook(operation, code, status))
    with pytest.raises(SourceError) as info:
        import_aws(session=session)
    assert message in str(info.value)


def test_access_denied_by_iam_names_the_action(account):
    """moto checks IAM policies inside enable_iam_authentication(): a user that may not describe subnets. (moto's
    Lambda answers every signed request with SignatureDoesNotMatch under IAM checks, so this goes through
    --subnets-only, whose first call is EC2's; the Lambda denials are answered by a hook above.)"""
    from moto.core.authorization import enable_iam_authentication

    iam = boto3.client("iam")
    iam.create_user(UserName="auditor")
    iam.put_user_policy(UserName="auditor", PolicyName="vpcs-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:DescribeVpcs"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    session = boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                            region_name="us-east-1")
    with enable_iam_authentication(), pytest.raises(SourceError) as info:
        subnets_yaml(session=session)
    assert str(info.value) == ("not allowed to call ec2:DescribeSubnets (AccessDenied): the identity needs the "
                               "read-only actions in docs/import.md (or the ReadOnlyAccess policy)")


def test_optional_calls_denied_fall_back_and_say_so(account):
    session, calls = _importer_session()
    session.events.register("before-call", _error_hook("GetServiceQuota", "AccessDeniedException", 400))
    infra = import_aws(session=session)
    assert infra.region["eni_quota"] == 5000
    assert any("ENI quota not read (servicequotas:GetServiceQuota: denied (AccessDeniedException)): the default "
               "5000" in n for n in infra.notes)


def test_no_credentials_and_regions_without_lambda(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role to look for
    with pytest.raises(SourceError) as info:
        import_aws(region="us-east-1")
    assert "no AWS credentials found" in str(info.value)
    with pytest.raises(SourceError) as info:
        import_aws(region="us-east-7")
    assert "--region us-east-7: Lambda is not available in that region; did you mean 'us-east-" in str(info.value)
    with pytest.raises(SourceError) as info:
        import_aws(region="us-east-1", profile="nope")
    assert "--profile nope: no such profile" in str(info.value)


def _pages_of_50(functions: list[dict]):
    """Lambda answers ListFunctions 50 at a time with a NextMarker; moto answers everything at once. This hook
    answers moto's own list the way Lambda does, so that following the marker is tested."""

    def hook(model=None, params=None, **_):
        if model.name != "ListFunctions":
            return None
        hook.pages += 1
        query = params.get("query_string") or {}
        start = int(query.get("Marker", 0))
        page = {"Functions": functions[start:start + int(query.get("MaxItems", 50))]}
        if start + 50 < len(functions):
            page["NextMarker"] = str(start + 50)
        return type("R", (), {"status_code": 200})(), page

    hook.pages = 0
    return hook


def test_a_1000_function_account_imports_in_under_5_seconds(aws_env):
    with moto.mock_aws():
        build_account(boto3.Session(region_name="us-east-1"), extra_functions=997)
        everything = boto3.client("lambda").list_functions()["Functions"]
        session, calls = _importer_session()
        pages = _pages_of_50(everything)
        session.events.register("before-call.lambda.ListFunctions", pages)
        wall, cpu = time.perf_counter(), time.process_time()
        infra = import_aws(session=session)
        built = build(infra)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    calls.assert_read_only()
    assert len(built.scenario.functions) == 1000
    assert pages.pages == 20  # 50 a page: the marker followed
    print(f"1,000-function account (moto in process): {wall:.2f} s wall, {cpu:.2f} s CPU")
    # The CPU time: the machine running the tests is shared, and moto answers in this process.
    assert cpu < 5.0


# --------------------------------------------------------------------------------------------------- end to end


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def moto_server(tmp_path, aws_env, monkeypatch):
    port = _free_port()
    recording = tmp_path / "moto-recording.jsonl"
    env = dict(os.environ, MOTO_RECORDER_FILEPATH=str(recording))
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("moto server did not start")
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _post(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b""), timeout=10).read()


def _operation(entry: dict) -> str:
    """The API operation of one recorded request: the JSON target, the query's Action, or a REST method + path."""
    headers = {k.lower(): v for k, v in entry["headers"].items()}
    if "x-amz-target" in headers:
        return headers["x-amz-target"].split(".")[-1]
    path = urllib.parse.urlsplit(entry["url"]).path
    if "/operation/" in path:  # the smithy RPC v2 protocol
        return path.rsplit("/", 1)[-1]
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    action = urllib.parse.parse_qs(body).get("Action") or urllib.parse.parse_qs(
        urllib.parse.urlsplit(entry["url"]).query).get("Action")
    if action:
        return action[0]
    return f"{entry['method']} {path}"


def test_cli_end_to_end_against_a_moto_server(moto_server, tmp_path):
    session = boto3.Session(region_name="us-east-1")
    ids = build_account(session)
    now = datetime.now(UTC)
    put_metrics(session.client("cloudwatch"), now)
    _post(f"{moto_server}/moto-api/recorder/reset-recording")
    _post(f"{moto_server}/moto-api/recorder/start-recording")
    out = tmp_path / "account.yaml"
    run = subprocess.run([sys.executable, "-m", "simulator", "import", "aws", "--since", "2h", "--out", str(out)],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ))
    _post(f"{moto_server}/moto-api/recorder/stop-recording")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Imported 3 functions and 2 subnets" in run.stdout
    # The server saw read-only calls only.
    recorded = [json.loads(line) for line in (tmp_path / "moto-recording.jsonl").read_text().splitlines()]
    operations = {_operation(e) for e in recorded}
    rest = {op for op in operations if " " in op}
    assert all(op.startswith("GET ") for op in rest), rest
    assert all(op.startswith(READ_ONLY_PREFIXES) for op in operations - rest), operations
    assert {"DescribeSubnets", "GetMetricData", "GetCallerIdentity"} <= operations
    # The scenario, its trace beside it, and the fallbacks in its header.
    text = out.read_text()
    assert "Duration percentiles not available" in text.replace("\n# ", " ")
    sc = vs.load_scenario(out)
    assert sc.duration == 7200
    api = sc.function("orders-api")
    (trace,) = api.arrivals
    assert trace.format == "per_minute" and trace.file.endswith("account.invocations.csv")
    rows = (tmp_path / "account.invocations.csv").read_text().splitlines()
    assert rows[0] == "function,minute,count"
    assert sum(int(r.split(",")[2]) for r in rows[1:] if r.startswith("orders-api,")) == 59 * 600 + 1200
    # Durations from Average, Minimum and Maximum: 80 ms .. 400 ms with the Average (5*80 + 4*120 + 400) / 10 =
    # 128 ms as the mean, exactly.
    assert api.duration.percentiles[0] == pytest.approx(0.080) and api.duration.percentiles[100] == pytest.approx(0.4)
    assert api.duration.mean == pytest.approx(0.128, rel=1e-4)
    assert sc.function("orders-worker").arrivals == ()  # no calls in the window
    assert (api.architecture, sc.function("orders-worker").architecture) == ("arm64", "x86_64")
    assert sc.subnet(ids["b"]).ips_in_use == 5
    # By hand: the peak minute, 1,200 calls = 20/s, times the mean 0.128 s -> ceil(2.56) = 3 executions.
    assert vs.capacity(sc)["functions"]["orders-api"]["projected_peak"] == 3
    # And it runs.
    assert main(["run", str(out), "--set", "duration=10m", "--json"]) == 0


def test_cli_errors_against_the_server(moto_server, tmp_path, capsys):
    build_account(boto3.Session(region_name="us-east-1"))
    assert main(["import", "aws", "--functions", "nothing-*", "--out", str(tmp_path / "x.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vpcsim: error: --functions nothing-*: no function matches") and "\n" not in err
    assert main(["import", "aws", "--since", "1h"]) == 2
    assert "--since writes the invocations beside the scenario: give --out FILE" in capsys.readouterr().err
    assert main(["import", "aws", "--since", "30d", "--out", str(tmp_path / "x.yaml")]) == 2
    assert "--since: between 1m and 15d" in capsys.readouterr().err
    assert not (tmp_path / "x.yaml").exists()


def test_missing_extra_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "boto3", None)
    assert main(["import", "aws", "--region", "us-east-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("vpcsim: error: vpcsim import aws needs the 'aws' extra: pip install 'vpcsim[aws]' "
                   "(or pip install boto3)")


def test_subnets_only_written_by_the_command(moto_server, tmp_path, capsys):
    build_account(boto3.Session(region_name="us-east-1"))
    out = tmp_path / "subnets.yaml"
    assert main(["import", "aws", "--subnets-only", "--functions", "orders-*", "--out", str(out)]) == 0
    entries = yaml.safe_load(out.read_text())
    assert [e["cidr"] for e in entries] == ["10.0.1.0/24", "10.0.2.0/26"]

"""A small account, built with boto3 against moto (in process, or a moto server), for the `import aws` tests."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

ROLE_POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": ' \
              '"lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'


def _code() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return buf.getvalue()


def build_account(session: Any, extra_functions: int = 0, metrics_at: datetime | None = None) -> dict[str, str]:
    """A VPC with two private subnets behind a NAT gateway and a public one; Lambda's ENIs and a database's ENIs in
    them; three functions (one with reserved concurrency, one outside the VPC); optionally CloudWatch data for the
    hour before ``metrics_at``. Returns the ids by role."""
    ec2, lam, iam = session.client("ec2"), session.client("lambda"), session.client("iam")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/26", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
    pub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.3.0/28", AvailabilityZone="us-east-1c")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=public_rt, SubnetId=pub)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=pub, AllocationId=eip)["NatGateway"]["NatGatewayId"]
    private_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    for s in (a, b):
        ec2.associate_route_table(RouteTableId=private_rt, SubnetId=s)
    sg = ec2.create_security_group(GroupName="orders", Description="orders functions", VpcId=vpc)["GroupId"]
    for _ in range(3):  # Hyperplane ENIs of the functions (what the simulation places itself)
        ec2.create_network_interface(SubnetId=a, Description="AWS Lambda VPC ENI-orders-api-7d1f", Groups=[sg])
    for _ in range(5):  # a database's ENIs: other workloads' addresses
        ec2.create_network_interface(SubnetId=b, Description="RDSNetworkInterface")
    role = iam.create_role(RoleName="orders-lambda", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    code = _code()
    common = {"Runtime": "python3.12", "Role": role, "Handler": "app.handler", "Code": {"ZipFile": code}}
    lam.create_function(FunctionName="orders-api", MemorySize=1024, Timeout=30, Architectures=["arm64"],
                        VpcConfig={"SubnetIds": [a, b], "SecurityGroupIds": [sg]}, **common)
    lam.put_function_concurrency(FunctionName="orders-api", ReservedConcurrentExecutions=100)
    lam.create_function(FunctionName="orders-worker", MemorySize=2048, Timeout=120,
                        VpcConfig={"SubnetIds": [a, b], "SecurityGroupIds": [sg]}, **common)
    lam.create_function(FunctionName="billing-export", MemorySize=256, Timeout=60, **common)
    for i in range(extra_functions):
        lam.create_function(FunctionName=f"batch-{i:04d}", MemorySize=128 + 64 * (i % 16), Timeout=60,
                            VpcConfig={"SubnetIds": [a, b], "SecurityGroupIds": [sg]}, **common)
    if metrics_at is not None:
        put_metrics(session.client("cloudwatch"), metrics_at)
    return {"vpc": vpc, "a": a, "b": b, "public": pub, "sg": sg}


def put_metrics(cw: Any, end: datetime) -> None:
    """An hour of orders-api: 600 calls a minute, 1,200 in minute 40; durations of 80, 120 and 400 ms."""
    end = end.replace(second=0, microsecond=0)
    dims = [{"Name": "FunctionName", "Value": "orders-api"}]
    for minute in range(60):
        t = end - timedelta(minutes=60 - minute)
        calls = 1200 if minute == 40 else 600
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[
            {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": t, "Value": calls, "Unit": "Count"},
            {"MetricName": "Duration", "Dimensions": dims, "Timestamp": t, "Values": [80.0, 120.0, 400.0],
             "Counts": [5.0, 4.0, 1.0], "Unit": "Milliseconds"}])


NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

"""Fixtures: stubs generated from proto/ with grpcio-tools, and a real smefin
release server on a free loopback port with a token file."""

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKENS = {
    "bureau": "py-bureau-token",
    "analyst": "py-analyst-token",
    "bank:JXB": "py-jxb-token",
    "bank:NCRCB": "py-ncrcb-token",
}


@pytest.fixture(scope="session")
def stubs():
    out = Path(tempfile.mkdtemp(prefix="smefin-stubs-"))
    protos = sorted(str(p) for p in (ROOT / "proto" / "smefin" / "v1").glob("*.proto"))
    from grpc_tools import protoc

    rc = protoc.main(["protoc", f"-I{ROOT / 'proto'}", f"--python_out={out}", f"--grpc_python_out={out}", *protos])
    assert rc == 0, "protoc failed"
    sys.path.insert(0, str(out))
    from smefin.v1 import (  # noqa: E402
        common_pb2,
        incentive_service_pb2,
        incentive_service_pb2_grpc,
        matching_service_pb2,
        matching_service_pb2_grpc,
        riskpool_service_pb2,
        riskpool_service_pb2_grpc,
    )

    class S:
        pass

    s = S()
    s.common = common_pb2
    s.matching = matching_service_pb2
    s.matching_grpc = matching_service_pb2_grpc
    s.riskpool = riskpool_service_pb2
    s.riskpool_grpc = riskpool_service_pb2_grpc
    s.incentive = incentive_service_pb2
    s.incentive_grpc = incentive_service_pb2_grpc
    return s


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    binary = os.environ.get("SMEFIN_BIN", str(ROOT / "target" / "release" / "smefin"))
    assert Path(binary).exists(), f"{binary} not built: run `cargo build --release` first"
    work = Path(tempfile.mkdtemp(prefix="smefin-py-"))
    tokens = work / "tokens.toml"
    tokens.write_text(
        "".join(
            f'[[token]]\nsha256 = "{hashlib.sha256(t.encode()).hexdigest()}"\nprincipal = "{p}"\n' for p, t in TOKENS.items()
        )
    )
    port = free_port()
    proc = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(work / "data"), "--tokens", str(tokens)],
        stdout=subprocess.DEVNULL,
        stderr=open(work / "server.log", "w"),
    )
    target = f"127.0.0.1:{port}"
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.time() + 30
    while True:
        try:
            with grpc.insecure_channel(target) as ch:
                r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1)
                if r.status == health_pb2.HealthCheckResponse.SERVING:
                    break
        except grpc.RpcError:
            pass
        assert proc.poll() is None, (work / "server.log").read_text()
        assert time.time() < deadline, "server did not become healthy"
        time.sleep(0.1)
    yield target
    proc.terminate()
    assert proc.wait(timeout=15) == 0, (work / "server.log").read_text()


@pytest.fixture(scope="session")
def channel(server):
    with grpc.insecure_channel(server) as ch:
        yield ch


def auth(role):
    return (("authorization", f"Bearer {TOKENS[role]}"),)

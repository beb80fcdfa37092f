"""MatchEnterprise and BatchMatch from Python grpcio, FULL against BASIC view.

Usage (a server running, e.g. `cargo run --release -- serve`):

    python benches/client_views.py [ADDR] [SECONDS] [BATCH]

Needs grpcio and grpcio-tools (stubs are generated from proto/ into a
temporary directory). Prints, per view, unary calls per second (16 threads
of blocking calls), the encoded response size, and a BatchMatch stream of
BATCH small profiles (default 100,000).
"""

import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
addr = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000

out = Path(tempfile.mkdtemp(prefix="smefin-stubs-"))
protos = sorted(str(p) for p in (ROOT / "proto" / "smefin" / "v1").glob("*.proto"))
assert protoc.main(["protoc", f"-I{ROOT / 'proto'}", f"--python_out={out}", f"--grpc_python_out={out}", *protos]) == 0
sys.path.insert(0, str(out))
from smefin.v1 import common_pb2, matching_service_pb2 as m, matching_service_pb2_grpc as mg  # noqa: E402

profile = common_pb2.EnterpriseProfile(
    name="南昌某新材料科技有限公司", region_code="360102", industry_code="C3562", employees=24,
    annual_revenue="1800万", new_eligible_hires=3, wage_or_social_insurance_arrears=False,
    request=common_pb2.FinancingRequest(amount="300万", term_months=12),
)
channel = grpc.insecure_channel(addr, options=[("grpc.max_receive_message_length", 64 << 20)])
stub = mg.MatchingServiceStub(channel)

for name, view in [("full", m.MATCH_VIEW_FULL), ("basic", m.MATCH_VIEW_BASIC)]:
    req = m.MatchEnterpriseRequest(profile=profile, as_of="2025-06-01", view=view)
    size = stub.MatchEnterprise(req).ByteSize()
    count = [0] * 16
    end = time.time() + seconds

    def work(k):
        while time.time() < end:
            stub.MatchEnterprise(req)
            count[k] += 1

    threads = [threading.Thread(target=work, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    calls = sum(count)

    def reqs():
        for i in range(batch):
            yield m.BatchMatchRequest(
                reference=str(i),
                profile=common_pb2.EnterpriseProfile(industry_code="C3562", employees=20 + i % 300, annual_revenue=f"{300 + i % 5000}万"),
                as_of="2025-06-01",
                view=view,
            )

    t0 = time.time()
    got = sum(1 for _ in stub.BatchMatch(reqs()))
    dt = time.time() - t0
    assert got == batch
    print(f"{name}: MatchEnterprise {calls / seconds:.0f} calls/s, {size} bytes per answer; BatchMatch {batch} profiles in {dt:.1f} s ({batch / dt:.0f}/s)")

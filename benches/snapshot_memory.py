"""Peak memory of the server while one loan snapshot streams in.

    python3 benches/snapshot_memory.py target/release/smefin 600000

Needs grpcio and grpcio-tools (pip). Starts the server (open, loopback, a
temporary data directory), registers JXB, streams N loans with 120-character
ids in messages of 5,000, and prints the server's peak RSS (VmHWM).
"""
import pathlib, re, socket, subprocess, sys, tempfile, time

import grpc
from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent
STUBS = tempfile.mkdtemp()
protos = [str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto")]
assert protoc.main(["protoc", f"-I{ROOT / 'proto'}", f"--python_out={STUBS}", f"--grpc_python_out={STUBS}", *protos]) == 0
sys.path.insert(0, STUBS)
from smefin.v1 import incentive_service_pb2 as pb, incentive_service_pb2_grpc as rpc
exe, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
d = tempfile.mkdtemp()
p = subprocess.Popen([exe, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", d], stderr=subprocess.DEVNULL)
time.sleep(1.5)
ch = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64<<20)])
c = rpc.IncentiveServiceStub(ch)
c.RegisterBank(pb.RegisterBankRequest(bank_id="JXB", name="江西银行", institution_type=2))
def hwm():
    return int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{p.pid}/status").read()).group(1)) // 1024
before = hwm()
def msgs():
    per = 5000
    for m in range(0, n, per):
        loans = [pb.LoanRecord(loan_id=f"{k:0>120}", borrower_id=f"B{k:0>119}", borrower_type=1, purpose=1, credit_line="5000000.00", balance="1000000.00") for k in range(m, min(n, m+per))]
        yield pb.SubmitLoanSnapshotRequest(request_id="big" if m == 0 else "", bank_id="JXB" if m == 0 else "", period="2025Q1" if m == 0 else "", loans=loans)
t = time.time()
try:
    r = c.SubmitLoanSnapshot(msgs())
    out = f"stored {r.loans_received}"
except grpc.RpcError as e:
    out = f"{e.code()} {e.details()[:120]}"
print(f"{exe} {n} loans: {out}; peak RSS {hwm()} MB (idle {before} MB), {time.time()-t:.1f} s")
p.terminate(); p.wait()

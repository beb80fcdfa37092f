"""smefin from a Python client, the way a bureau or a bank integration would
use it: generated stubs, tokens, decimal strings into decimal.Decimal."""

from decimal import Decimal

import grpc
import pytest
from conftest import auth


def profile(s, **kw):
    p = s.common.EnterpriseProfile(
        name="南昌某新材料科技有限公司",
        credit_code="91350100M000100Y43",
        region_code="360102",
        industry_code="C3562",
        employees=24,
        annual_revenue="1800万",
        total_assets="2600万",
        established="2016-03-18",
        certifications=[s.common.CERTIFICATION_ZJTX_PROVINCIAL, s.common.CERTIFICATION_TECH_SME],
        in_industrial_park=True,
        tax_credit_grade=s.common.TAX_CREDIT_GRADE_A,
        has_bank_loans=True,
        new_eligible_hires=3,
        wage_or_social_insurance_arrears=False,
        has_registered_ip=True,
        has_receivables=False,
        request=s.common.FinancingRequest(amount="300万", term_months=12, purpose=s.common.LOAN_PURPOSE_WORKING_CAPITAL),
    )
    for k, v in kw.items():
        setattr(p, k, v)
    return p


def test_health_and_reflection(channel):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    for service in ["", "smefin.v1.MatchingService", "smefin.v1.RiskPoolService", "smefin.v1.IncentiveService"]:
        r = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
        assert r.status == health_pb2.HealthCheckResponse.SERVING, service
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    resp = next(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
    names = {s.name for s in resp.list_services_response.service}
    assert {"smefin.v1.MatchingService", "smefin.v1.RiskPoolService", "smefin.v1.IncentiveService", "grpc.health.v1.Health"} <= names


def test_match_enterprise_decimals_round_trip(stubs, channel):
    s = stubs
    m = s.matching_grpc.MatchingServiceStub(channel)
    r = m.MatchEnterprise(s.matching.MatchEnterpriseRequest(profile=profile(s), as_of="2024-06-01"), metadata=auth("analyst")).result
    assert r.lpr_1y == "0.0345"
    first = r.eligible[0]
    assert first.product_id == "gongxintong"
    o = first.offer
    # exact decimal arithmetic agrees with the service, to the fen
    assert Decimal(o.amount) * Decimal(o.rate) == Decimal(o.annual_interest) == Decimal("103500.00")
    for p in r.eligible:
        if p.offer.annual_cost:
            o = p.offer
            assert Decimal(o.annual_interest) - Decimal(o.annual_subsidy) + Decimal(o.annual_guarantee_fee) == Decimal(o.annual_cost)
    miss = next(p for p in r.ineligible if p.product_id == "chuangye_danbao_xiaowei_jiangxi")
    assert miss.suggestions[0].action == "HIRE_MORE"
    assert miss.suggestions[0].target == "4"


def test_match_rejects_bad_input_naming_fields(stubs, channel):
    s = stubs
    m = s.matching_grpc.MatchingServiceStub(channel)
    with pytest.raises(grpc.RpcError) as e:
        m.MatchEnterprise(s.matching.MatchEnterpriseRequest(profile=profile(s, annual_revenue="NaN")), metadata=auth("bureau"))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "profile.annual_revenue" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        m.MatchEnterprise(s.matching.MatchEnterpriseRequest(profile=profile(s)))
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_flood_of_problems_still_reaches_the_client(stubs, channel):
    """A loan snapshot of 20,000 loans with bad balances (one 1 MB message):
    the bank gets INVALID_ARGUMENT listing the first problems and counting
    all of them. A list that long overflows the trailers grpc-core accepts
    (16 KiB; from 8 KiB it refuses at random), which used to reach the client
    as RESOURCE_EXHAUSTED."""
    s = stubs
    inc = s.incentive_grpc.IncentiveServiceStub(channel)
    inc.RegisterBank(
        s.incentive.RegisterBankRequest(bank_id="JXB", name="江西银行", institution_type=s.incentive.INSTITUTION_TYPE_CITY_COMMERCIAL),
        metadata=auth("bureau"),
    )
    L = s.incentive.LoanRecord
    loans = [L(loan_id=str(i), borrower_id="b", borrower_type=1, purpose=1, credit_line="50万", balance="-1") for i in range(20_000)]
    from google.rpc import error_details_pb2, status_pb2

    # grpc-core refuses trailers over 8 KiB at random: ask 10 times
    for k in range(10):
        req = s.incentive.SubmitLoanSnapshotRequest(request_id=f"py-flood-{k}", bank_id="JXB", period="2023Q3", loans=loans)
        with pytest.raises(grpc.RpcError) as e:
            inc.SubmitLoanSnapshot(iter([req]), metadata=auth("bank:JXB"))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    assert "20000 problems; the first" in e.value.details(), e.value.details()
    status = status_pb2.Status.FromString(dict(e.value.trailing_metadata())["grpc-status-details-bin"])
    listed, info = [], None
    for d in status.details:
        if d.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            d.Unpack(br)
            listed = [v.field for v in br.field_violations]
        if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            d.Unpack(info)
    assert listed[:2] == ["loans[0].balance", "loans[1].balance"] and len(listed) >= 5, listed[:3]
    assert info.metadata["violations"] == "20000"
    assert info.metadata["violations_listed"] == str(len(listed))


def test_an_oversized_list_is_one_problem(stubs, channel):
    """500,000 certifications in one profile (a 1 MB message) are one
    problem, not 500,000 (they made 150 MB of problems)."""
    s = stubs
    m = s.matching_grpc.MatchingServiceStub(channel)
    p = profile(s)
    p.certifications.extend([0] * 500_000)
    with pytest.raises(grpc.RpcError) as e:
        m.MatchEnterprise(s.matching.MatchEnterpriseRequest(profile=p), metadata=auth("bureau"))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details() == "invalid request: profile.certifications: 500002 entries; at most 64 (there are 15 kinds)"
    # and the server goes on serving
    r = m.MatchEnterprise(s.matching.MatchEnterpriseRequest(profile=profile(s)), metadata=auth("bureau"))
    assert r.result.classification.size_class == s.common.SIZE_CLASS_SMALL


def test_batch_match_and_classify(stubs, channel):
    s = stubs
    m = s.matching_grpc.MatchingServiceStub(channel)
    reqs = (s.matching.BatchMatchRequest(reference=f"firm-{i}", profile=profile(s, employees=10 + i), as_of="2024-06-01") for i in range(50))
    out = list(m.BatchMatch(reqs, metadata=auth("bureau")))
    assert [r.index for r in out] == list(range(50))
    assert [r.reference for r in out] == [f"firm-{i}" for i in range(50)]
    assert out[0].result.classification.size_class == s.common.SIZE_CLASS_MICRO
    assert out[40].result.classification.size_class == s.common.SIZE_CLASS_SMALL
    c = m.ClassifyEnterprise(s.matching.ClassifyEnterpriseRequest(profile=profile(s)), metadata=auth("analyst"))
    assert c.classification.size_industry == "工业"
    assert c.credit_code.check_character_valid


def test_simulation_streams_progress_then_result(stubs, channel):
    s = stubs
    rp = s.riskpool_grpc.RiskPoolServiceStub(channel)
    spec = '{"scenarios": 20000, "pool": {"capital": "3000万"}, "portfolio": {"segments": [{"count": 2000, "total": "6亿", "pd": 0.02, "lgd": 0.6}]}}'
    events = list(rp.SimulatePool(s.riskpool.SimulatePoolRequest(spec=s.riskpool.PoolSpec(json=spec)), metadata=auth("analyst")))
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[-1] == "result" and kinds.count("result") == 1 and "progress" in kinds
    r = events[-1].result
    assert r.scenarios == 20000
    assert Decimal(r.capital) == Decimal("30000000.00")
    assert 0.0 <= r.exhaustion_probability.estimate <= 0.02
    assert Decimal(r.loss.mean) > 0
    presets = rp.ListScenarioPresets(s.riskpool.ListScenarioPresetsRequest(), metadata=auth("bureau")).presets
    assert [p.name for p in presets] == ["baseline", "adverse", "severe", "sector_shock"]
    with pytest.raises(grpc.RpcError) as e:
        rp.ListScenarioPresets(s.riskpool.ListScenarioPresetsRequest(), metadata=auth("bank:JXB"))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_incentives_as_bureau_and_banks(stubs, channel):
    s = stubs
    inc = s.incentive_grpc.IncentiveServiceStub(channel)
    for bank_id, name, t in [
        ("JXB", "江西银行", s.incentive.INSTITUTION_TYPE_CITY_COMMERCIAL),
        ("NCRCB", "南昌农商银行", s.incentive.INSTITUTION_TYPE_RURAL_COMMERCIAL),
    ]:
        inc.RegisterBank(s.incentive.RegisterBankRequest(bank_id=bank_id, name=name, institution_type=t), metadata=auth("bureau"))

    def submit(rid, bank, period, balance, role):
        return inc.SubmitBalanceReport(
            s.incentive.SubmitBalanceReportRequest(request_id=rid, bank_id=bank, period=period, balance=balance), metadata=auth(role)
        )

    submit("py-jxb-q1", "JXB", "2023Q1", "1200000000.00", "bank:JXB")
    submit("py-jxb-q2", "JXB", "2023Q2", "1350000000.00", "bank:JXB")
    submit("py-nc-q1", "NCRCB", "2023Q1", "800000000.00", "bank:NCRCB")
    # NCRCB's Q2 as a loan snapshot stream
    L = s.incentive.LoanRecord
    msgs = iter(
        [
            s.incentive.SubmitLoanSnapshotRequest(
                request_id="py-nc-q2",
                bank_id="NCRCB",
                period="2023Q2",
                loans=[L(loan_id="1", borrower_id="a", borrower_type=1, purpose=1, credit_line="800万", balance="800000000.00")],
            ),
            s.incentive.SubmitLoanSnapshotRequest(
                loans=[L(loan_id="2", borrower_id="b", borrower_type=2, purpose=1, credit_line="50万", balance="12345678.91")]
            ),
        ]
    )
    snap = inc.SubmitLoanSnapshot(msgs, metadata=auth("bank:NCRCB"))
    assert snap.loans_received == 2 and snap.report.balance == "812345678.91"
    # a bank may not write another bank's data
    with pytest.raises(grpc.RpcError) as e:
        submit("py-evil", "NCRCB", "2023Q2", "1", "bank:JXB")
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # idempotent resubmission
    again = submit("py-jxb-q2", "JXB", "2023Q2", "1350000000.00", "bank:JXB")
    assert again.report.version == 1
    st = inc.ComputeIncentives(s.incentive.ComputeIncentivesRequest(period="2023Q2", budget="300万"), metadata=auth("bureau")).statement
    lines = {l.bank_id: l for l in st.lines}
    assert st.scaled
    assert Decimal(st.total) == Decimal("3000000.00") == sum(Decimal(l.incentive) for l in st.lines)
    assert Decimal(lines["JXB"].incentive_before_budget) == Decimal("150000000.00") * Decimal(st.rate)
    mine = inc.GetStatement(s.incentive.GetStatementRequest(period="2023Q2"), metadata=auth("bank:JXB")).statement
    assert [l.bank_id for l in mine.lines] == ["JXB"]
    reports = inc.ListReports(s.incentive.ListReportsRequest(), metadata=auth("bank:NCRCB")).reports
    assert {r.bank_id for r in reports} == {"NCRCB"}


def test_malformed_and_truncated_requests(channel, stubs):
    raw = lambda b: b  # noqa: E731
    get = channel.unary_unary("/smefin.v1.MatchingService/GetProduct", request_serializer=raw, response_deserializer=raw)
    md = auth("bureau")
    # a string field that is not UTF-8, and a truncated message
    for payload in [b"\x0a\x02\xff\xfe", b"\x0a\x10abc"]:
        with pytest.raises(grpc.RpcError) as e:
            get(payload, metadata=md)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    # a client whose stream dies mid-way: the call fails, the server keeps serving
    batch = channel.stream_stream("/smefin.v1.MatchingService/BatchMatch", request_serializer=raw, response_deserializer=raw)

    def dying():
        yield stubs.matching.BatchMatchRequest(reference="x", profile=profile(stubs)).SerializeToString()
        raise RuntimeError("client dies mid-stream")

    with pytest.raises(grpc.RpcError):
        for _ in batch(dying(), metadata=md):
            pass
    m = stubs.matching_grpc.MatchingServiceStub(channel)
    assert len(m.ListProducts(stubs.matching.ListProductsRequest(), metadata=md).products) > 0


def test_malformed_message_inside_a_running_stream(channel, stubs):
    """The response has begun (headers and a first answer sent) when the
    second request message turns out not to be protobuf: the call still
    ends INVALID_ARGUMENT naming that message, not INTERNAL."""
    import threading

    raw = lambda b: b  # noqa: E731
    batch = channel.stream_stream("/smefin.v1.MatchingService/BatchMatch", request_serializer=raw, response_deserializer=raw)
    first_answered = threading.Event()

    def requests():
        yield stubs.matching.BatchMatchRequest(reference="ok", profile=profile(stubs), as_of="2024-06-01").SerializeToString()
        assert first_answered.wait(30)
        yield b"\x0a\x02\xff\xfe"  # reference: two bytes that are not UTF-8

    answers = []
    with pytest.raises(grpc.RpcError) as e:
        for r in batch(requests(), metadata=auth("bureau")):
            answers.append(stubs.matching.BatchMatchResponse.FromString(r))
            first_answered.set()
    assert [a.reference for a in answers] == ["ok"]
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    assert "requests[1]" in e.value.details()


def _error_info_reason(err):
    from google.rpc import error_details_pb2, status_pb2

    for k, v in err.trailing_metadata() or ():
        if k == "grpc-status-details-bin":
            st = status_pb2.Status.FromString(v)
            for d in st.details:
                if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    d.Unpack(info)
                    return info.reason
    return None


def test_a_long_batch_match_stream_completes(stubs, channel):
    """A client streaming small profiles as fast as grpcio lets it, reading
    answers as they come: the connection is never closed for its pace.
    SMEFIN_PY_BATCH sets the length (the README's figure is 1,000,000)."""
    import os
    import time

    s = stubs
    n = int(os.environ.get("SMEFIN_PY_BATCH", "100000"))
    m = s.matching_grpc.MatchingServiceStub(channel)
    view = s.matching.MATCH_VIEW_BASIC

    def reqs():
        for i in range(n):
            yield s.matching.BatchMatchRequest(
                reference=str(i),
                profile=s.common.EnterpriseProfile(industry_code="C3562", employees=20 + i % 300, annual_revenue=f"{300 + i % 5000}万"),
                as_of="2025-06-01",
                view=view,
            )

    t = time.time()
    got = 0
    for r in m.BatchMatch(reqs(), metadata=auth("bureau")):
        assert r.index == got
        got += 1
    assert got == n
    print(f"\nPython grpcio BatchMatch: {n} profiles in {time.time() - t:.1f} s ({n / (time.time() - t):.0f}/s)")


def test_views_and_auth_edge_cases(stubs, channel):
    s = stubs
    m = s.matching_grpc.MatchingServiceStub(channel)
    full = m.MatchEnterprise(s.matching.MatchEnterpriseRequest(profile=profile(s), as_of="2025-06-01"), metadata=auth("bureau"))
    basic = m.MatchEnterprise(
        s.matching.MatchEnterpriseRequest(profile=profile(s), as_of="2025-06-01", view=s.matching.MATCH_VIEW_BASIC), metadata=auth("bureau")
    )
    assert [p.product_id for p in full.result.eligible] == [p.product_id for p in basic.result.eligible]
    assert all(not c.message for p in basic.result.ineligible for c in p.criteria)
    assert basic.ByteSize() * 3 < full.ByteSize()
    # The scheme is case-insensitive; two authorization headers are refused.
    m.ClassifyEnterprise(s.matching.ClassifyEnterpriseRequest(profile=profile(s)), metadata=(("authorization", "BEARER py-analyst-token"),))
    with pytest.raises(grpc.RpcError) as e:
        m.ClassifyEnterprise(
            s.matching.ClassifyEnterpriseRequest(profile=profile(s)),
            metadata=(("authorization", "Bearer py-analyst-token"), ("authorization", "Bearer py-bureau-token")),
        )
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert _error_info_reason(e.value) == "AMBIGUOUS_CREDENTIALS"
    with pytest.raises(grpc.RpcError) as e:
        m.ClassifyEnterprise(s.matching.ClassifyEnterpriseRequest(profile=profile(s)), metadata=auth("bank:JXB"))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert _error_info_reason(e.value) == "ROLE_NOT_ALLOWED"


def test_grpc_js_batch_match_stream_completes(server):
    """The same long stream from Node's grpc-js, writing with backpressure
    (it was closed with ENHANCE_YOUR_CALM after 6-12k answers). Needs node
    and `npm ci` in tests/node_client (.ci/run does both)."""
    import os
    import shutil
    import subprocess

    from conftest import ROOT, TOKENS

    client = ROOT / "tests" / "node_client"
    if shutil.which("node") is None or not (client / "node_modules" / "@grpc" / "grpc-js").exists():
        pytest.skip("node or tests/node_client/node_modules missing (run `npm ci` there)")
    n = os.environ.get("SMEFIN_NODE_BATCH", "100000")
    for view in ("full", "basic"):
        out = subprocess.run(
            ["node", str(client / "batch.js"), server, n, view],
            env={**os.environ, "SMEFIN_TOKEN": TOKENS["bureau"]},
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        print(f"\ngrpc-js BatchMatch ({view}): {out.stdout.strip()}")
    # 5,000 calls in flight on one connection (it used to be killed): every
    # call is answered, the client queueing beyond max_concurrent_streams.
    out = subprocess.run(
        ["node", str(client / "unary.js"), server, "2", "5000"],
        env={**os.environ, "SMEFIN_TOKEN": TOKENS["bureau"]},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert '"calls"' in out.stdout, out.stdout
    print(f"\ngrpc-js MatchEnterprise, 5000 in flight: {out.stdout.strip()}")

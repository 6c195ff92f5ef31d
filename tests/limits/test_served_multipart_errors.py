"""Against the real served process: a multipart body without a usable boundary is a JSON 400
(the server hands the body to Django, which the JSON error handling answers)."""

from __future__ import annotations

from tests.limits.conftest import register


def test_multipart_without_boundary_is_a_json_400(served):
    session = register(served["host"], "mallory")
    for ctype in ("multipart/form-data", "multipart/form-data; boundary="):
        resp = session.post(
            f"http://{served['host']}/api/recordings/import/",
            data=b"--x\r\nContent-Disposition: form-data; name=file\r\n\r\nabc\r\n--x--\r\n",
            headers={"Content-Type": ctype},
            timeout=10,
        )
        assert resp.status_code == 400, resp.text
        assert resp.headers["Content-Type"] == "application/json"
        assert resp.json()["error"]

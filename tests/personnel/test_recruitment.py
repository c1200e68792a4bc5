"""Art. 6 exam recruitment through the API: the written weight, ranking, offers at 1:1 and the
back-fill after a withdrawal or a failed check."""

from __future__ import annotations

import uuid

import pytest

from tests.personnel.helpers import make_hr, make_person

pytestmark = pytest.mark.db


async def open_recruitment(client, headers, **over):
    body = {"agency_code": "210100", "posts": 2, "written_weight": 0.6}
    body.update(over)
    r = await client.post("/api/v1/recruitments", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_written_weight_below_60_percent_refused(client, token_for):
    hr = token_for("sy.hr")
    for weight in (0.5, 0.59, 1.5, -1):
        r = await client.post("/api/v1/recruitments", json={"agency_code": "210100", "posts": 1,
                                                             "written_weight": weight}, headers=hr)
        assert r.status_code == 422, weight
        assert r.json()["code"] == "ART6_WRITTEN_WEIGHT" and r.json()["article"] == "6"
    ok = await open_recruitment(client, hr, written_weight=1)
    assert ok["written_weight"] == 1.0 and ok["candidates"] == 0


async def test_recruitment_refusals(client, token_for):
    hr = token_for("sy.hr")
    for who in ("sy.admin", "sy.officer1", "dl.officer1"):
        r = await client.post("/api/v1/recruitments", json={"agency_code": "210100", "posts": 1,
                                                             "written_weight": 0.7}, headers=token_for(who))
        assert r.status_code == 403, who
    other = await client.post("/api/v1/recruitments", json={"agency_code": "210200", "posts": 1,
                                                             "written_weight": 0.7}, headers=hr)
    assert other.status_code == 403
    for bad in ({"agency_code": "210100", "posts": 0, "written_weight": 0.7},
                {"agency_code": "999999", "posts": 1, "written_weight": 0.7},
                {"agency_code": "210100", "posts": 1, "written_weight": "heavy"},
                {"agency_code": "210100", "posts": 1}):
        assert (await client.post("/api/v1/recruitments", json=bad, headers=hr)).status_code == 422, bad
    rec = await open_recruitment(client, hr)
    url = f"/api/v1/recruitments/{rec['id']}/candidates"
    for bad in ({"name": "甲", "written": 101, "interview": 80}, {"name": "甲", "written": -1, "interview": 80},
                {"name": "", "written": 60, "interview": 80}, {"name": "甲", "written": 60}):
        assert (await client.post(url, json=bad, headers=hr)).status_code == 422, bad
    stranger = await client.post(url, json={"name": "甲", "person_id": str(uuid.uuid4()), "written": 60,
                                            "interview": 60}, headers=hr)
    assert stranger.status_code == 422
    dl_hr = await make_hr(client, token_for, "210200")
    assert (await client.get(f"/api/v1/recruitments/{rec['id']}/ranking", headers=dl_hr)).status_code == 404
    assert (await client.post(url, json={"name": "甲", "written": 60, "interview": 60},
                              headers=dl_hr)).status_code == 404
    assert (await client.get(f"/api/v1/recruitments/{rec['id']}/ranking",
                             headers=token_for("sy.officer1"))).status_code == 403
    assert (await client.get(f"/api/v1/recruitments/{uuid.uuid4()}/ranking", headers=hr)).status_code == 404


async def test_ranking_offers_and_back_fill(client, token_for):
    hr = token_for("sy.hr")
    rec = await open_recruitment(client, hr, posts=2, written_weight=0.6)
    url = f"/api/v1/recruitments/{rec['id']}/candidates"
    person = await make_person(client, hr, employment="full_time")
    scores = {"甲": (90, 60), "乙": (80, 95), "丙": (85, 70), "丁": (70, 70)}
    # totals: 甲 78.0, 乙 86.0, 丙 79.0, 丁 70.0
    ids = {}
    for name, (written, interview) in scores.items():
        body = {"name": name, "written": written, "interview": interview}
        if name == "丙":
            body["person_id"] = person["id"]
        r = await client.post(url, json=body, headers=hr)
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    dup = await client.post(url, json={"name": "丙", "person_id": person["id"], "written": 1, "interview": 1},
                            headers=hr)
    assert dup.status_code == 409 and dup.json()["code"] == "CANDIDATE_EXISTS"
    ranking = (await client.get(f"/api/v1/recruitments/{rec['id']}/ranking", headers=token_for("sy.admin"))).json()
    assert [c["name"] for c in ranking["items"]] == ["乙", "丙", "甲", "丁"]
    assert [c["total"] for c in ranking["items"]] == [86.0, 79.0, 78.0, 70.0]
    assert [c["offered"] for c in ranking["items"]] == [True, True, False, False]
    assert ranking["items"][1]["person_id"] == person["id"]

    # 乙 fails the medical: 甲, next in score order, is offered.
    r = await client.post(f"{url}/{ids['乙']}/withdraw", json={"reason": "failed_medical"}, headers=hr)
    assert r.status_code == 200, r.text
    after = {c["name"]: c for c in r.json()["items"]}
    assert after["乙"]["withdrawn"] is True and after["乙"]["withdrawal_reason"] == "failed_medical"
    assert after["乙"]["offered"] is False
    assert [n for n, c in after.items() if c["offered"]] == ["丙", "甲"]
    # 丙 withdraws: 丁 moves up.
    r = await client.post(f"{url}/{ids['丙']}/withdraw", json={"reason": "withdrawal", "note": "另有工作"}, headers=hr)
    assert {c["name"] for c in r.json()["items"] if c["offered"]} == {"甲", "丁"}
    again = await client.post(f"{url}/{ids['丙']}/withdraw", json={"reason": "withdrawal"}, headers=hr)
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_WITHDRAWN"
    # `reason` is free text (API.md); the category, when given, must be one of the three.
    bad_reason = await client.post(f"{url}/{ids['丁']}/withdraw", json={"reason": "bored", "category": "bored"},
                                   headers=hr)
    assert bad_reason.status_code == 422
    missing = await client.post(f"{url}/{uuid.uuid4()}/withdraw", json={"reason": "withdrawal"}, headers=hr)
    assert missing.status_code == 404
    officer = await client.post(f"{url}/{ids['丁']}/withdraw", json={"reason": "withdrawal"},
                                headers=token_for("sy.officer1"))
    assert officer.status_code == 403
    info = (await client.get(f"/api/v1/recruitments/{rec['id']}", headers=hr)).json()
    assert info["candidates"] == 4 and info["posts"] == 2

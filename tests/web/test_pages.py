"""The public verification page and error pages (server-rendered HTML, no JS, no external assets)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from backend.web.pages import GREEN, RED, RESULT_LABELS, render_error_page, render_verification_page

CHECKED_AT = datetime(2026, 3, 5, 6, 30, 15, tzinfo=UTC)  # 14:30:15 in Beijing

EXPECTED_LABELS = {
    "valid": "有效",
    "revoked": "已吊销",
    "suspended": "已暂停",
    "expired": "已过期",
    "forged": "伪造或被篡改",
    "unknown": "查无此证",
    "malformed": "无法识别",
}

XSS = "<script>alert(1)</script>"


def credential(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "number": "LNJ-2026-000017-X",
        "kind": "technical_inspector",
        "holder_name": "张伟",
        "agency_code": "210100",
        "agency_name": "沈阳市应急管理综合行政执法队",
        "issued_at": "2026-01-05T02:00:00Z",
        "expires_at": "2029-01-04",
        "status": "valid",
    }
    data.update(overrides)
    return data


def response(result: str, **credential_overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "result": result,
        "checked_at": "2026-03-05T06:30:15Z",
        "credential": None if result in ("unknown", "malformed") else credential(**credential_overrides),
    }
    if result == "revoked":
        body["reason"] = "已解聘（履职不力）"
    return body


class Page(HTMLParser):
    """Just enough of a DOM for assertions: every start tag, the text of each element with an id or
    class, the doctype."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr", "source", "area", "base", "col", "wbr"})

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.doctype = ""
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text_by_key: dict[str, str] = {}
        self.all_text: list[str] = []
        self._open: list[tuple[str, list[str]]] = []
        self.feed(markup)
        self.close()

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag in self.VOID:
            return
        keys = []
        if "id" in attributes:
            keys.append("#" + attributes["id"])
        keys.extend("." + c for c in attributes.get("class", "").split())
        keys.append(tag)
        self._open.append((tag, keys))
        for key in keys:
            self.text_by_key.setdefault(key, "")

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self.all_text.append(data)
        for _, keys in self._open:
            for key in keys:
                self.text_by_key[key] = self.text_by_key.get(key, "") + data

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def text(self, key: str) -> str:
        return self.text_by_key[key]

    @property
    def body_text(self) -> str:
        return "".join(self.all_text)


def style_color(attributes: dict[str, str]) -> str:
    match = re.search(r"(?:^|;)\s*color\s*:\s*(#[0-9a-fA-F]{6})", attributes.get("style", ""))
    assert match, attributes
    return match.group(1).lower()


def assert_self_contained_html5(markup: str) -> Page:
    page = Page(markup)
    assert markup.startswith("<!DOCTYPE html>")
    assert page.doctype.lower() == "doctype html"
    html_tags = page.find("html")
    assert len(html_tags) == 1
    assert html_tags[0]["lang"] == "zh-CN"
    assert page.find("meta", charset="utf-8")
    viewport = page.find("meta", name="viewport")
    assert len(viewport) == 1
    assert "width=device-width" in viewport[0]["content"]
    assert "initial-scale=1" in viewport[0]["content"]
    tags = {t for t, _ in page.tags}
    # no JavaScript, no external assets of any kind
    assert not tags & {
        "script",
        "link",
        "img",
        "iframe",
        "object",
        "embed",
        "svg",
        "form",
        "base",
        "noscript",
    }
    for tag, attributes in page.tags:
        assert not {"src", "href", "action", "srcset"} & attributes.keys(), (tag, attributes)
        assert not any(name.startswith("on") for name in attributes), (tag, attributes)
    styles = re.findall(r"<style>(.*?)</style>", markup, re.DOTALL)
    assert len(styles) == 1
    assert "url(" not in markup
    assert "@import" not in markup
    assert "javascript:" not in markup.lower()
    csp = page.find("meta", **{"http-equiv": "Content-Security-Policy"})
    assert len(csp) == 1
    assert "default-src 'none'" in csp[0]["content"]
    assert "script-src" not in csp[0]["content"]
    assert page.find("meta", name="robots", content="noindex, nofollow")
    return page


# --- results ---------------------------------------------------------------------------------


def test_labels_are_the_chinese_ones() -> None:
    assert {k: v[0] for k, v in RESULT_LABELS.items()} == EXPECTED_LABELS


@pytest.mark.parametrize("result", sorted(EXPECTED_LABELS))
def test_each_result_has_its_label_and_colour(result: str) -> None:
    body = None if result == "malformed" else response(result)
    markup = render_verification_page(body, checked_at=CHECKED_AT)
    page = assert_self_contained_html5(markup)
    verdicts = page.find("p", id="result")
    assert len(verdicts) == 1
    verdict = verdicts[0]
    assert verdict["data-result"] == result
    assert page.text("#result").strip().endswith(EXPECTED_LABELS[result])
    expected_colour = GREEN if result == "valid" else RED
    assert style_color(verdict) == expected_colour.lower()
    assert f"--accent:{expected_colour}" in page.find("body")[0]["style"]
    mark = "✓" if result == "valid" else "✕"
    assert page.text("#result").strip().startswith(mark)
    # the label is also in the title
    assert EXPECTED_LABELS[result] in page.text("title")
    # every label other than this result's is absent from the verdict
    for other, label in EXPECTED_LABELS.items():
        if other != result and label not in EXPECTED_LABELS[result]:
            assert label not in page.text("#result")


def test_green_and_red_are_green_and_red() -> None:
    def rgb(colour: str) -> tuple[int, int, int]:
        return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)

    r, g, b = rgb(GREEN)
    assert g > r
    assert g > b
    r, g, b = rgb(RED)
    assert r > g
    assert r > b


def test_valid_page_shows_the_credential() -> None:
    markup = render_verification_page(response("valid"), checked_at=CHECKED_AT)
    page = assert_self_contained_html5(markup)
    assert page.text(".holder") == "张伟"
    assert page.text(".number") == "LNJ-2026-000017-X"
    assert page.text(".kind") == "技术检查员"
    assert page.text(".agency") == "沈阳市应急管理综合行政执法队"
    # issued_at 02:00Z is 10:00 on the same day in Beijing
    assert page.text(".validity") == "2026-01-05 至 2029-01-04"
    for label in ("持证人姓名", "证件编号", "所属单位", "有效期", "核验时间"):
        assert label in page.body_text
    assert "仅限本人使用" in page.text(".explain")  # compare the name with the person (Art. 26)


def test_validity_dates_are_beijing_dates() -> None:
    body = response("valid", issued_at="2026-01-05T18:30:00Z", expires_at="2029-01-04T16:00:00+00:00")
    page = Page(render_verification_page(body, checked_at=CHECKED_AT))
    assert page.text(".validity") == "2026-01-06 至 2029-01-05"
    body = response("valid", issued_at=date(2026, 1, 5), expires_at=datetime(2029, 1, 4, 1, tzinfo=UTC))
    assert Page(render_verification_page(body, checked_at=CHECKED_AT)).text(".validity") == (
        "2026-01-05 至 2029-01-04"
    )


def test_social_supervisor_kind() -> None:
    body = response("valid", kind="social_supervisor", number="LNS-2026-000017-X")
    page = Page(render_verification_page(body, checked_at=CHECKED_AT))
    assert page.text(".kind") == "社会监督员"


@pytest.mark.parametrize("result", ["revoked", "suspended", "expired", "forged"])
def test_red_results_still_show_who_it_is(result: str) -> None:
    page = Page(render_verification_page(response(result), checked_at=CHECKED_AT))
    assert page.text(".holder") == "张伟"
    assert page.text(".number") == "LNJ-2026-000017-X"
    assert page.text(".agency") == "沈阳市应急管理综合行政执法队"


def test_revocation_reason_is_shown() -> None:
    page = Page(render_verification_page(response("revoked"), checked_at=CHECKED_AT))
    assert page.text(".reason") == "已解聘（履职不力）"


@pytest.mark.parametrize("body", [None, {"result": "malformed", "checked_at": "x", "credential": None}])
def test_garbage_token_page(body: dict[str, object] | None) -> None:
    markup = render_verification_page(body, checked_at=CHECKED_AT)
    page = assert_self_contained_html5(markup)
    assert page.text("#result").strip() == "✕无法识别"
    assert style_color(page.find("p", id="result")[0]) == RED.lower()
    assert not page.find("dl")  # no credential details at all
    assert "二维码" in page.text(".explain")


def test_unknown_has_no_details_but_says_so() -> None:
    page = Page(render_verification_page(response("unknown"), checked_at=CHECKED_AT))
    assert page.text("#result").strip() == "✕查无此证"
    assert not page.find("dl")


@pytest.mark.parametrize("weird", ["VALID", "ok", "", "<b>valid</b>", 1])
def test_unexpected_result_values_are_never_green(weird: object) -> None:
    body = {"result": weird, "checked_at": "2026-03-05T06:30:15Z", "credential": credential()}
    markup = render_verification_page(body, checked_at=CHECKED_AT)
    page = assert_self_contained_html5(markup)
    assert style_color(page.find("p", id="result")[0]) == RED.lower()
    assert "<b>" not in markup


# --- time of check ---------------------------------------------------------------------------


def test_checked_at_in_beijing_time_and_said_so() -> None:
    page = Page(render_verification_page(response("valid"), checked_at=CHECKED_AT))
    checked = page.text(".checked")
    assert "2026-03-05 14:30:15" in checked
    assert "北京时间" in checked
    assert "UTC+8" in checked
    assert page.find("time", datetime="2026-03-05T06:30:15Z")


def test_checked_at_crossing_midnight_and_other_offsets() -> None:
    late = datetime(2026, 3, 5, 20, 5, 0, tzinfo=UTC)
    assert "2026-03-06 04:05:00" in Page(render_verification_page(None, checked_at=late)).text(".checked")
    tokyo = datetime(2026, 3, 5, 23, 0, 0, tzinfo=timezone(timedelta(hours=9)))
    assert "2026-03-05 22:00:00" in Page(render_verification_page(None, checked_at=tokyo)).text(".checked")


def test_naive_checked_at_is_utc() -> None:
    naive = datetime(2026, 3, 5, 6, 30, 15)
    assert "2026-03-05 14:30:15" in Page(render_verification_page(None, checked_at=naive)).text(".checked")


# --- escaping --------------------------------------------------------------------------------


def test_holder_name_script_is_escaped() -> None:
    markup = render_verification_page(response("valid", holder_name=XSS), checked_at=CHECKED_AT)
    assert "<script" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    page = assert_self_contained_html5(markup)
    assert page.text(".holder") == XSS  # shown literally, as text


@pytest.mark.parametrize(
    "field", ["holder_name", "number", "agency_name", "kind", "issued_at", "expires_at", "agency_code"]
)
def test_every_credential_field_is_escaped(field: str) -> None:
    hostile = '"><script>alert(1)</script><b onmouseover="x">&amp;'
    overrides: dict[str, object] = {field: hostile}
    if field == "agency_code":
        overrides["agency_name"] = None  # falls back to the code
    markup = render_verification_page(response("valid", **overrides), checked_at=CHECKED_AT)
    assert "<script" not in markup
    assert "<b " not in markup
    assert "&amp;amp;" in markup  # the literal "&amp;" was escaped, not passed through
    page = assert_self_contained_html5(markup)
    assert hostile in page.body_text


def test_reason_and_result_are_escaped() -> None:
    body = response("revoked")
    body["reason"] = XSS
    markup = render_verification_page(body, checked_at=CHECKED_AT)
    assert "<script" not in markup
    assert Page(markup).text(".reason") == XSS
    body = {"result": '"><script>alert(1)</script>', "checked_at": "", "credential": None}
    markup = render_verification_page(body, checked_at=CHECKED_AT)
    assert "<script" not in markup
    assert Page(markup).find("p", id="result")[0]["data-result"] == '"><script>alert(1)</script>'


# --- error pages -----------------------------------------------------------------------------


def test_404_page() -> None:
    markup = render_error_page(404, "未找到该页面。", "No such page.")
    page = assert_self_contained_html5(markup)
    assert page.text("#result").strip() == "页面不存在"
    assert "404" in page.text(".verdict-en")
    assert page.text(".explain") == "未找到该页面。"
    assert page.text(".explain-en") == "No such page."
    assert "404" in page.text("title")


def test_429_page() -> None:
    markup = render_error_page(429, "请求过于频繁，请稍后再试。", "Too many requests; try again later.")
    page = assert_self_contained_html5(markup)
    assert page.text("#result").strip() == "请求过于频繁"
    assert "429" in page.text(".verdict-en")
    assert page.text(".explain") == "请求过于频繁，请稍后再试。"


def test_error_page_escapes_messages() -> None:
    markup = render_error_page(404, XSS, f'"{XSS}')
    assert "<script" not in markup
    page = assert_self_contained_html5(markup)
    assert page.text(".explain") == XSS
    assert page.text(".explain-en") == f'"{XSS}'


def test_other_status_gets_a_generic_title() -> None:
    page = Page(render_error_page(500, "服务器错误。", "Server error."))
    assert page.text("#result").strip() == "出错了"

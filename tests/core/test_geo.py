"""WGS84 ⇄ GCJ-02 and the haversine helper."""

from __future__ import annotations

import math

import pytest

from backend.core.errors import Unprocessable
from backend.core.geo import gcj02_to_wgs84, haversine_m, out_of_china, to_wgs84, wgs84_to_gcj02

# Published pairs from the test suite of googollee/eviltransform (python/test.py):
# (wgs lon, wgs lat, gcj lon, gcj lat).
EVILTRANSFORM_PAIRS = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]
# wandergis/coordtransform's README example, wgs84togcj02(116.404, 39.915): Beijing, Tiananmen.
COORDTRANSFORM_BEIJING = ((116.404, 39.915), (116.41024449916938, 39.91640428150164))

# Places the app is actually used: Shenyang (the demo's 210100), Dalian, Dandong on the border,
# Mohe in the far north and Sanya in the far south.
CHINA_POINTS = [
    (123.4315, 41.8057),
    (121.6147, 38.9140),
    (124.3545, 40.0005),
    (122.5380, 52.9720),
    (109.5119, 18.2528),
    (87.6168, 43.8256),  # Ürümqi, far west
]


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM_PAIRS)
def test_forward_matches_published_pairs(wlon: float, wlat: float, glon: float, glat: float) -> None:
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-7)
    assert lat == pytest.approx(glat, abs=1e-7)


def test_forward_matches_coordtransform_example() -> None:
    (wlon, wlat), (glon, glat) = COORDTRANSFORM_BEIJING
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM_PAIRS)
def test_inverse_recovers_published_wgs84_within_half_a_metre(
    wlon: float, wlat: float, glon: float, glat: float
) -> None:
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert haversine_m(lon, lat, wlon, wlat) < 0.5


def test_inverse_beats_the_one_step_approximation() -> None:
    # coordtransform's one-step gcj02towgs84(116.404, 39.915) = (116.39775550083061, 39.91359571849836);
    # the iterative inverse lands within a few metres of it but maps back exactly onto the input.
    lon, lat = gcj02_to_wgs84(116.404, 39.915)
    assert haversine_m(lon, lat, 116.39775550083061, 39.91359571849836) < 5
    flon, flat = wgs84_to_gcj02(lon, lat)
    assert haversine_m(flon, flat, 116.404, 39.915) < 0.01


@pytest.mark.parametrize(("lon", "lat"), CHINA_POINTS)
def test_round_trip_within_half_a_metre(lon: float, lat: float) -> None:
    glon, glat = wgs84_to_gcj02(lon, lat)
    # The offset is real (tens to hundreds of metres) ...
    assert 10 < haversine_m(lon, lat, glon, glat) < 1000
    # ... and undone by the inverse, both ways round.
    back = gcj02_to_wgs84(glon, glat)
    assert haversine_m(*back, lon, lat) < 0.5
    again = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert haversine_m(*again, lon, lat) < 0.5


def test_round_trip_on_a_grid_over_liaoning() -> None:
    worst = 0.0
    for i in range(11):
        for j in range(11):
            lon, lat = 118.8 + i * 0.6, 38.7 + j * 0.45
            back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
            worst = max(worst, haversine_m(*back, lon, lat))
    assert worst < 0.5


def test_shenyang_offset_direction() -> None:
    # In Liaoning GCJ-02 is shifted north-east of WGS84 by several hundred metres.
    glon, glat = wgs84_to_gcj02(123.4315, 41.8057)
    assert glon > 123.4315
    assert glat > 41.8057
    assert 400 < haversine_m(123.4315, 41.8057, glon, glat) < 800


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (139.6917, 35.6895),  # Tokyo
        (-0.1276, 51.5072),  # London
        (151.2093, -33.8688),  # Sydney
        (37.6173, 55.9),  # north of the box
        (71.9, 39.0),  # west of the box
    ],
)
def test_outside_china_untouched(lon: float, lat: float) -> None:
    assert out_of_china(lon, lat)
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)
    assert to_wgs84(lon, lat, "gcj02") == (lon, lat)


def test_bounding_box_edges() -> None:
    assert not out_of_china(72.004, 0.8293)
    assert not out_of_china(137.8347, 55.8271)
    assert out_of_china(72.0039, 30.0)
    assert out_of_china(137.8348, 30.0)
    assert out_of_china(100.0, 0.8292)
    assert out_of_china(100.0, 55.8272)
    for lon, lat in CHINA_POINTS:
        assert not out_of_china(lon, lat)


def test_to_wgs84() -> None:
    glon, glat = wgs84_to_gcj02(123.4315, 41.8057)
    assert to_wgs84(123.4315, 41.8057, "wgs84") == (123.4315, 41.8057)
    assert to_wgs84(123.4315, 41.8057) == (123.4315, 41.8057)
    lon, lat = to_wgs84(glon, glat, "GCJ02")
    assert haversine_m(lon, lat, 123.4315, 41.8057) < 0.5


@pytest.mark.parametrize(
    ("lon", "lat", "crs", "field"),
    [
        (123.4, 41.8, "bd09", "crs"),
        (123.4, 41.8, "", "crs"),
        (math.nan, 41.8, "wgs84", "lon"),
        (181.0, 41.8, "wgs84", "lon"),
        (123.4, math.inf, "gcj02", "lat"),
        (123.4, -90.5, "wgs84", "lat"),
    ],
)
def test_to_wgs84_rejects_bad_input(lon: float, lat: float, crs: str, field: str) -> None:
    with pytest.raises(Unprocessable) as exc:
        to_wgs84(lon, lat, crs)
    assert exc.value.code == "VALIDATION_ERROR"
    assert exc.value.detail["errors"][0]["field"] == field


def test_haversine() -> None:
    assert haversine_m(123.4315, 41.8057, 123.4315, 41.8057) == 0.0
    # One degree of latitude on the mean sphere.
    assert haversine_m(123.0, 41.0, 123.0, 42.0) == pytest.approx(111_195.08, abs=0.05)
    # Shenyang to Dalian is about 350 km as the crow flies.
    assert haversine_m(123.4315, 41.8057, 121.6147, 38.9140) == pytest.approx(355_000, rel=0.02)
    # Symmetric, and antipodes do not blow up.
    assert haversine_m(1.0, 2.0, 3.0, 4.0) == haversine_m(3.0, 4.0, 1.0, 2.0)
    assert haversine_m(0.0, 0.0, 180.0, 0.0) == pytest.approx(math.pi * 6371008.8)

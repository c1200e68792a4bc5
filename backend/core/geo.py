"""Coordinate reference handling: WGS84 ⇄ GCJ-02 and a spherical distance for sanity checks.

Owns the conversion of positions reported by phones into the WGS84 that Fieldcheck stores
(DOMAIN.md §Positions, API.md "Positions"). Real distances and radius checks are the spatial
database's job; `haversine_m` is here for tests and quick sanity checks only.

GCJ-02 is the "offset" datum that mainland-China map SDKs (AMap, Tencent) report. The transform is
the public one found in eviltransform and coordtransform (Krasovsky 1940 ellipsoid constants); it
reproduces the official offset to a few metres. Outside the rough China bounding box the offset is
not applied, so positions there pass through unchanged.
"""

from __future__ import annotations

import math
from typing import Literal

from backend.core.errors import validation_error

__all__ = [
    "SUPPORTED_CRS",
    "gcj02_to_wgs84",
    "haversine_m",
    "out_of_china",
    "to_wgs84",
    "wgs84_to_gcj02",
]

Crs = Literal["wgs84", "gcj02"]
SUPPORTED_CRS: frozenset[str] = frozenset({"wgs84", "gcj02"})

# Krasovsky 1940: semi-major axis and first eccentricity squared, as in the published transform.
_A = 6378245.0
_EE = 0.00669342162296594323

# The bounding box eviltransform / coordtransform use; it is deliberately rough (it includes parts of
# neighbouring countries and misses nothing of China's mainland), and it must match theirs so that
# our output agrees with what the phones' SDKs did.
_MIN_LON, _MAX_LON = 72.004, 137.8347
_MIN_LAT, _MAX_LAT = 0.8293, 55.8271

# Inverse iteration stops when a step moves less than this many degrees (~1 mm); the forward
# offset changes by well under 1e-5 per metre, so the fixed point is reached in 3-5 steps.
_INVERSE_TOLERANCE_DEG = 1e-8
_INVERSE_MAX_STEPS = 20

#: Mean Earth radius (IUGG), metres.
EARTH_MEAN_RADIUS_M = 6371008.8


def out_of_china(lon: float, lat: float) -> bool:
    """True outside the rough China bounding box (where no GCJ-02 offset applies)."""
    return not (_MIN_LON <= lon <= _MAX_LON and _MIN_LAT <= lat <= _MAX_LAT)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _offset(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 minus WGS84 (degrees of lon, lat) at a WGS84 position."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = math.radians(lat)
    magic = 1.0 - _EE * math.sin(radlat) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(radlat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 → GCJ-02 as (lon, lat); unchanged outside China."""
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 → WGS84 as (lon, lat); unchanged outside China.

    The forward transform has no closed-form inverse. Subtracting the offset computed at the GCJ
    point (what most libraries do) is off by 1-2 m, because the offset is evaluated at the wrong
    place; iterating w ← g − offset(w) converges to the point whose forward image is g, to about a
    millimetre, which keeps the round-trip far inside the 0.5 m we promise.
    """
    if out_of_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(_INVERSE_MAX_STEPS):
        dlon, dlat = _offset(wlon, wlat)
        nlon, nlat = lon - dlon, lat - dlat
        done = abs(nlon - wlon) < _INVERSE_TOLERANCE_DEG and abs(nlat - wlat) < _INVERSE_TOLERANCE_DEG
        wlon, wlat = nlon, nlat
        if done:
            break
    return wlon, wlat


def to_wgs84(lon: float, lat: float, crs: str = "wgs84") -> tuple[float, float]:
    """The WGS84 (lon, lat) of a position reported in `crs` ("wgs84" or "gcj02", any case).

    Raises a 422 VALIDATION_ERROR for an unknown CRS or a coordinate that is not a finite longitude
    / latitude: a NaN stored as a position would poison every later distance check.
    """
    key = crs.strip().lower() if isinstance(crs, str) else ""
    if key not in SUPPORTED_CRS:
        raise validation_error("crs", "CRS_UNSUPPORTED", "must be wgs84 or gcj02", "应为 wgs84 或 gcj02")
    if not (isinstance(lon, int | float) and math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise validation_error(
            "lon", "OUT_OF_RANGE", "must be a longitude in [-180, 180]", "经度应在-180至180之间"
        )
    if not (isinstance(lat, int | float) and math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise validation_error(
            "lat", "OUT_OF_RANGE", "must be a latitude in [-90, 90]", "纬度应在-90至90之间"
        )
    if key == "gcj02":
        return gcj02_to_wgs84(float(lon), float(lat))
    return float(lon), float(lat)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres on a sphere of the mean Earth radius.

    Differs from the WGS84 ellipsoidal distance the database computes by up to ~0.5 %; good for
    tests and sanity checks, not for deciding whether a check-in is inside a site.
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2.0) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2.0) ** 2
    # Rounding can push h a hair above 1 for antipodal points; asin would then raise.
    return 2.0 * EARTH_MEAN_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))

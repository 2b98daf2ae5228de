"""Travel times and distances between points: estimated from coordinates, or asked of OSRM.

The estimate is the great-circle distance stretched by a detour factor (Andean roads wind),
driven at an average speed. When an OSRM server is configured, its table service gives real
road figures; any failure there is one exception, ``RoutingUnavailable``, so the caller can
fall back to the estimate or answer 503.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from app.core.problems import Problem
from app.fulfilment.routing import Point

__all__ = [
    "EARTH_RADIUS_KM",
    "Matrix",
    "Point",
    "RoutingUnavailable",
    "direct_delivery_km",
    "estimate_matrix",
    "haversine_km",
    "osrm_matrix",
]

# The IUGG mean Earth radius.
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Matrix:
    """Square matrices over a list of points: ``durations_s[i][j]`` is the time from i to j.

    Whole seconds and whole metres (the solver counts in integers). In a routing problem
    index 0 is the depot (the collection centre).
    """

    durations_s: list[list[int]]
    distances_m: list[list[int]]

    @property
    def size(self) -> int:
        return len(self.durations_s)


class RoutingUnavailable(Problem):
    """The road-distance service could not answer (down, timed out, or an unusable answer)."""

    status: ClassVar[int] = 503
    code: ClassVar[str] = "routing_unavailable"
    title: ClassVar[str] = "Road distances are unavailable"


def haversine_km(a: Point, b: Point) -> float:
    """The great-circle distance between two points, in kilometres."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def estimate_matrix(
    points: Sequence[Point], *, detour_factor: float = 1.3, speed_kmh: float = 35.0
) -> Matrix:
    """Great-circle distance x ``detour_factor``; duration at ``speed_kmh`` on average.

    Metres and seconds are rounded to the nearest whole unit; the diagonal is zero.
    """
    if not (math.isfinite(detour_factor) and detour_factor >= 1.0):
        raise ValueError("detour_factor must be a finite number >= 1")
    if not (math.isfinite(speed_kmh) and speed_kmh > 0):
        raise ValueError("speed_kmh must be a finite number > 0")
    n = len(points)
    distances = [[0] * n for _ in range(n)]
    durations = [[0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            km = haversine_km(points[i], points[j]) * detour_factor
            metres = round(km * 1000)
            seconds = round(km / speed_kmh * 3600)
            distances[i][j] = distances[j][i] = metres
            durations[i][j] = durations[j][i] = seconds
    return Matrix(durations_s=durations, distances_m=distances)


async def osrm_matrix(
    points: Sequence[Point],
    *,
    base_url: str,
    client: httpx.AsyncClient | None = None,
    timeout_s: float = 10.0,
) -> Matrix:
    """Road durations and distances from an OSRM server's table service.

    ``GET {base_url}/table/v1/driving/{lon,lat;...}?annotations=duration,distance``. Seconds
    and metres are rounded to whole units. Raises ``RoutingUnavailable`` on a transport error,
    an HTTP error status, an answer whose ``code`` is not ``"Ok"``, a malformed body, or a
    pair of points with no road between them (``null`` in the table).
    """
    if len(points) < 2:
        return Matrix(durations_s=[[0]] * len(points), distances_m=[[0]] * len(points))
    coordinates = ";".join(f"{p.longitude:.6f},{p.latitude:.6f}" for p in points)
    url = f"{base_url.rstrip('/')}/table/v1/driving/{coordinates}"
    params = {"annotations": "duration,distance"}
    try:
        if client is None:
            async with httpx.AsyncClient(timeout=timeout_s) as own:
                response = await own.get(url, params=params)
        else:
            response = await client.get(url, params=params, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise RoutingUnavailable(f"OSRM did not answer: {type(exc).__name__}: {exc}") from exc
    body = _json_or_none(response)
    if response.status_code != 200:
        code = body.get("code") if isinstance(body, dict) else None
        raise RoutingUnavailable(
            f"OSRM answered HTTP {response.status_code}" + (f" ({code})" if code else "")
        )
    if not isinstance(body, dict):
        raise RoutingUnavailable("OSRM answered something that is not a JSON object")
    if body.get("code") != "Ok":
        message = body.get("message") or ""
        raise RoutingUnavailable(f"OSRM answered code {body.get('code')!r} {message}".rstrip())
    n = len(points)
    return Matrix(
        durations_s=_whole_table(body.get("durations"), n, "durations"),
        distances_m=_whole_table(body.get("distances"), n, "distances"),
    )


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _whole_table(table: Any, n: int, name: str) -> list[list[int]]:
    if not isinstance(table, list) or len(table) != n:
        raise RoutingUnavailable(f"OSRM answered no {n}x{n} {name} table")
    rows: list[list[int]] = []
    for i, row in enumerate(table):
        if not isinstance(row, list) or len(row) != n:
            raise RoutingUnavailable(f"OSRM answered no {n}x{n} {name} table")
        out: list[int] = []
        for j, value in enumerate(row):
            if value is None:
                raise RoutingUnavailable(f"OSRM finds no road from point {i} to point {j}")
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise RoutingUnavailable(f"OSRM answered {value!r} in {name}[{i}][{j}]")
            out.append(round(value))
        rows.append(out)
    return rows


def direct_delivery_km(
    legs: Sequence[tuple[Point, Point]],
    matrix_fn: Callable[[Sequence[Point]], Matrix] = estimate_matrix,
) -> float:
    """Kilometres if each association drove to each of its buyers and back.

    ``legs`` are (association point, buyer point) pairs, one per association and buyer it
    supplies; each costs the way there plus the way back, measured on one matrix that
    ``matrix_fn`` builds over the distinct points (the estimate by default).
    """
    if not legs:
        return 0.0
    index: dict[Point, int] = {}
    for a, b in legs:
        index.setdefault(a, len(index))
        index.setdefault(b, len(index))
    matrix = matrix_fn(list(index))
    metres = 0
    for a, b in legs:
        i, j = index[a], index[b]
        metres += matrix.distances_m[i][j] + matrix.distances_m[j][i]
    return metres / 1000

"""Distances: the great-circle estimate, the OSRM table client (against a fake server on
loopback) and the kilometres of direct delivery."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.fulfilment.distances import (
    Matrix,
    RoutingUnavailable,
    direct_delivery_km,
    estimate_matrix,
    haversine_km,
    osrm_matrix,
)
from app.fulfilment.routing import Point
from tests.fulfilment.fake_osrm import FakeOsrm, Mode, road_m, road_s

LATACUNGA = Point(-0.9330, -78.6150)
SALCEDO = Point(-1.0450, -78.5900)
PUJILI = Point(-0.9570, -78.6960)
SAQUISILI = Point(-0.8400, -78.6670)
COTOPAXI = [LATACUNGA, SALCEDO, PUJILI, SAQUISILI]

points = st.builds(
    Point,
    latitude=st.floats(min_value=-2.0, max_value=0.5),
    longitude=st.floats(min_value=-79.5, max_value=-78.0),
)


@pytest.fixture
def osrm() -> Iterator[FakeOsrm]:
    with FakeOsrm() as server:
        yield server


# -- the estimate ---------------------------------------------------------------------------


def test_haversine_of_one_degree_of_latitude_is_111_km() -> None:
    assert haversine_km(Point(0.0, -78.0), Point(1.0, -78.0)) == pytest.approx(111.195, abs=1e-3)


def test_haversine_latacunga_to_salcedo() -> None:
    # 0.112 degrees south and 0.025 east: about 12.8 km as the condor flies
    assert haversine_km(LATACUNGA, SALCEDO) == pytest.approx(12.76, abs=0.02)
    assert haversine_km(SALCEDO, LATACUNGA) == haversine_km(LATACUNGA, SALCEDO)
    assert haversine_km(LATACUNGA, LATACUNGA) == 0.0


def test_estimate_is_great_circle_times_detour_at_average_speed() -> None:
    matrix = estimate_matrix(COTOPAXI, detour_factor=1.3, speed_kmh=35.0)
    km = haversine_km(LATACUNGA, SALCEDO) * 1.3
    assert matrix.distances_m[0][1] == round(km * 1000)
    assert matrix.durations_s[0][1] == round(km / 35.0 * 3600)
    assert 1_000 < matrix.durations_s[0][1] < 1_800  # 16.6 km at 35 km/h: about 28 minutes


def test_estimate_follows_its_parameters() -> None:
    base = estimate_matrix(COTOPAXI)
    slow = estimate_matrix(COTOPAXI, detour_factor=1.5, speed_kmh=20.0)
    assert slow.distances_m[1][2] == pytest.approx(base.distances_m[1][2] * 1.5 / 1.3, abs=1)
    assert slow.durations_s[1][2] > base.durations_s[1][2]


@pytest.mark.parametrize(("detour", "speed"), [(0.9, 35.0), (1.3, 0.0), (float("nan"), 35.0)])
def test_estimate_refuses_impossible_parameters(detour: float, speed: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        estimate_matrix(COTOPAXI, detour_factor=detour, speed_kmh=speed)


@given(st.lists(points, min_size=0, max_size=8))
def test_estimate_is_square_symmetric_and_zero_on_the_diagonal(pts: list[Point]) -> None:
    matrix = estimate_matrix(pts)
    n = len(pts)
    for table in (matrix.durations_s, matrix.distances_m):
        assert len(table) == n
        assert all(len(row) == n for row in table)
        for i in range(n):
            assert table[i][i] == 0
            for j in range(n):
                assert table[i][j] == table[j][i] >= 0


# -- OSRM -----------------------------------------------------------------------------------


async def test_osrm_matrix_parses_the_table(osrm: FakeOsrm) -> None:
    matrix = await osrm_matrix(COTOPAXI, base_url=osrm.base_url + "/")

    lonlat = [(p.longitude, p.latitude) for p in COTOPAXI]
    for i, a in enumerate(lonlat):
        for j, b in enumerate(lonlat):
            metres = road_m(a, b)
            assert matrix.distances_m[i][j] == pytest.approx(metres, abs=1)
            assert matrix.durations_s[i][j] == pytest.approx(road_s(metres), abs=1)
            assert isinstance(matrix.distances_m[i][j], int)
    assert matrix.distances_m[0][0] == 0

    [request] = osrm.requests
    url = urlsplit(request)
    assert url.path == (
        "/table/v1/driving/-78.615000,-0.933000;-78.590000,-1.045000;"
        "-78.696000,-0.957000;-78.667000,-0.840000"
    )
    assert parse_qs(url.query) == {"annotations": ["duration,distance"]}


async def test_osrm_matrix_uses_the_given_client(osrm: FakeOsrm) -> None:
    async with httpx.AsyncClient() as client:
        matrix = await osrm_matrix(COTOPAXI[:2], base_url=osrm.base_url, client=client)
        assert not client.is_closed
    assert matrix.size == 2
    assert len(osrm.requests) == 1


async def test_osrm_matrix_of_fewer_than_two_points_asks_nothing(osrm: FakeOsrm) -> None:
    assert await osrm_matrix([], base_url=osrm.base_url) == Matrix([], [])
    assert await osrm_matrix([LATACUNGA], base_url=osrm.base_url) == Matrix([[0]], [[0]])
    assert osrm.requests == []


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("http_500", "HTTP 500"),
        ("invalid_query", "HTTP 400 \\(InvalidQuery\\)"),
        ("no_table", "code 'NoTable'"),
        ("nulls", "no road from point 0 to point 3"),
        ("not_json", "not a JSON object"),
    ],
)
async def test_osrm_errors_are_routing_unavailable(
    osrm: FakeOsrm, mode: Mode, message: str
) -> None:
    osrm.mode = mode
    with pytest.raises(RoutingUnavailable, match=message) as caught:
        await osrm_matrix(COTOPAXI, base_url=osrm.base_url)
    assert caught.value.status == 503
    assert caught.value.code == "routing_unavailable"


async def test_osrm_timeout_is_routing_unavailable(osrm: FakeOsrm) -> None:
    osrm.mode = "slow"
    osrm.slow_seconds = 1.0
    with pytest.raises(RoutingUnavailable, match="ReadTimeout"):
        await osrm_matrix(COTOPAXI, base_url=osrm.base_url, timeout_s=0.1)


async def test_osrm_down_is_routing_unavailable() -> None:
    with socket.socket() as sock:  # a free port that nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RoutingUnavailable, match="ConnectError"):
        await osrm_matrix(COTOPAXI, base_url=f"http://127.0.0.1:{port}", timeout_s=2.0)


# -- direct delivery ------------------------------------------------------------------------


def test_direct_delivery_is_there_and_back_for_every_pair() -> None:
    association_a, association_b = SALCEDO, SAQUISILI
    legs = [(association_a, LATACUNGA), (association_a, PUJILI), (association_b, LATACUNGA)]
    expected_m = sum(
        2 * estimate_matrix([a, b]).distances_m[0][1] for a, b in legs
    )  # each pair on its own
    assert direct_delivery_km(legs) == pytest.approx(expected_m / 1000)
    assert direct_delivery_km(legs) == pytest.approx(
        2 * 1.3 * sum(haversine_km(a, b) for a, b in legs), abs=0.01
    )


def test_direct_delivery_counts_a_repeated_pair_each_time_and_nothing_for_none() -> None:
    once = direct_delivery_km([(SALCEDO, LATACUNGA)])
    assert direct_delivery_km([(SALCEDO, LATACUNGA)] * 3) == pytest.approx(3 * once)
    assert direct_delivery_km([]) == 0.0


def test_direct_delivery_takes_another_matrix() -> None:
    def flat_ten_km(pts: Sequence[Point]) -> Matrix:
        n = len(pts)
        table = [[0 if i == j else 10_000 for j in range(n)] for i in range(n)]
        return Matrix(durations_s=table, distances_m=table)

    legs = [(SALCEDO, LATACUNGA), (PUJILI, LATACUNGA)]
    assert direct_delivery_km(legs, matrix_fn=flat_ten_km) == 40.0

"""Geometry beyond boxes, checked against closed forms: where sampled points lie (inside, uniform in
area and in arc length per boundary part), outward normals, distance functions and conditions on
named parts. Every check compares with an independent formula (a radius, an edge's equation, a
length), never with the geometry's own answer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pinnlab as pl
from pinnlab.conditions import Dirichlet, Initial, Neumann, Robin
from pinnlab.fields import Fields
from pinnlab.geometry import Box, Disk, Ellipse, PointCloud, Polygon, SpaceTime, distance_constraint
from pinnlab.problem import Problem

L_VERTICES = [(-1, -1), (0, -1), (0, 0), (1, 0), (1, 1), (-1, 1)]
HOLES = [(0.3, 0.3), (-0.3, 0.3), (0.3, -0.3), (-0.3, -0.3)]


def plate():
    g = Box(x=(-0.5, 0.5), y=(-0.5, 0.5)).rename("outer")
    for c in HOLES:
        g = g - Disk(c, 0.1, name="hole")
    return g


def in_plate(p):
    square = (np.abs(p) <= 0.5).all(axis=1)
    return square & np.all([np.hypot(*(p - c).T) >= 0.1 for c in HOLES], axis=0)


def in_lshape(p):
    return (np.abs(p) <= 1).all(axis=1) & ~((p[:, 0] > 0) & (p[:, 1] < 0))


SHAPES = {  # name: (geometry, independent inside test, area)
    "disk": (lambda: Disk((0.5, -0.2), 0.7), lambda p: np.hypot(p[:, 0] - 0.5, p[:, 1] + 0.2) <= 0.7,
             math.pi * 0.49),
    "ellipse": (lambda: Ellipse((0, 0), (2, 0.5)), lambda p: (p[:, 0] / 2) ** 2 + (p[:, 1] / 0.5) ** 2 <= 1,
                math.pi),
    "lshape": (lambda: Polygon(L_VERTICES), in_lshape, 3.0),
    "plate": (plate, in_plate, 1 - 4 * math.pi * 0.01),
    "union": (lambda: Disk((0, 0), 1) | Disk((1, 0), 1),
              lambda p: (np.hypot(*p.T) <= 1) | (np.hypot(p[:, 0] - 1, p[:, 1]) <= 1),
              2 * math.pi - (2 * math.acos(0.5) - 0.5 * math.sqrt(3))),
    "intersection": (lambda: Disk((0, 0), 1) & Box(x=(0, 2), y=(-2, 2)), lambda p: (np.hypot(*p.T) <= 1) & (p[:, 0] >= 0),
                     math.pi / 2),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_a_million_interior_points_are_inside_and_uniform_in_area(name):
    make, inside, area = SHAPES[name]
    g = make()
    pts = g.sample(1_000_000, "sobol", np.random.default_rng(0))
    assert pts.shape == (1_000_000, 2)
    assert inside(pts).all()
    assert abs(g.area() - area) < 1e-3 * area
    # uniform in area: the share in the left half of the bounding box is that half's area share
    mid = 0.5 * (g.lo[0] + g.hi[0])
    box = g.lo + (g.hi - g.lo) * np.random.default_rng(1).random((400_000, 2))
    box = box[inside(box)]
    assert abs((pts[:, 0] < mid).mean() - (box[:, 0] < mid).mean()) < 5e-3


def _even(counts: np.ndarray, lengths: np.ndarray, n: int, sigmas: float = 5.0) -> None:
    expected = n * lengths / lengths.sum()
    assert np.all(np.abs(counts - expected) <= sigmas * np.sqrt(expected) + 1), (counts, expected)


@pytest.mark.parametrize("method", ["sobol", "uniform"])
def test_disk_boundary_is_uniform_in_angle_with_outward_normals(method):
    g = Disk((0.5, -0.2), 0.7)
    n = 20000
    b = g.sample_boundary(n, method, np.random.default_rng(0))
    r = b - np.array([0.5, -0.2])
    assert np.allclose(np.hypot(*r.T), 0.7, atol=1e-12)
    counts, _ = np.histogram(np.arctan2(r[:, 1], r[:, 0]), bins=36, range=(-math.pi, math.pi))
    _even(counts, np.ones(36), n)
    nrm = g.normals(b)
    assert np.allclose(nrm, r / 0.7, atol=1e-12)


def test_ellipse_boundary_is_uniform_in_arc_length():
    a, b_ = 2.0, 0.5
    g = Ellipse((0, 0), (a, b_))
    n = 20000
    b = g.sample_boundary(n, "sobol", np.random.default_rng(0))
    assert np.allclose((b[:, 0] / a) ** 2 + (b[:, 1] / b_) ** 2, 1, atol=1e-9)
    # arc-length bins from a fine independent polyline of the ellipse
    th = np.linspace(0, 2 * math.pi, 200_001)
    ring = np.stack([a * np.cos(th), b_ * np.sin(th)], axis=1)
    s = np.concatenate([[0], np.cumsum(np.hypot(*np.diff(ring, axis=0).T))])
    assert abs(g.boundary_measure() - s[-1]) < 1e-6
    angle = np.mod(np.arctan2(b[:, 1] / b_, b[:, 0] / a), 2 * math.pi)
    counts, _ = np.histogram(np.interp(angle, th, s), bins=40, range=(0, s[-1]))
    _even(counts, np.ones(40), n)
    # outward normals: the gradient of x²/a² + y²/b²
    grad = np.stack([b[:, 0] / a**2, b[:, 1] / b_**2], axis=1)
    assert np.allclose(g.normals(b), grad / np.linalg.norm(grad, axis=1, keepdims=True), atol=1e-9)


def test_polygon_boundary_points_per_edge_follow_edge_lengths_and_normals_are_the_edges():
    g = Polygon(L_VERTICES)
    n = 12000
    b = g.sample_boundary(n, "sobol", np.random.default_rng(0))
    v = np.array(L_VERTICES, dtype=float)
    w = np.roll(v, -1, axis=0)
    length = np.hypot(*(w - v).T)
    # the edge each point lies on, from each edge's line equation
    cross = lambda a, b: a[0] * b[1] - a[1] * b[0]
    on = np.array([[abs(cross(w[k] - v[k], p - v[k])) < 1e-9 and
                    -1e-9 <= np.dot(p - v[k], w[k] - v[k]) <= length[k] ** 2 + 1e-9 for k in range(len(v))]
                   for p in b])
    assert on.any(axis=1).all()
    edge = on.argmax(axis=1)
    _even(np.bincount(edge, minlength=len(v)), length, n)
    # uniform along an edge too: the long top edge in 10 bins
    top = b[edge == 4]
    counts, _ = np.histogram(top[:, 0], bins=10, range=(-1, 1))
    _even(counts, np.ones(10), len(top))
    # outward: the counter-clockwise edge direction turned clockwise
    d = (w - v) / length[:, None]
    expected = np.stack([d[:, 1], -d[:, 0]], axis=1)[edge]
    nrm = g.normals(b)
    interior = np.all([np.linalg.norm(b - q, axis=1) > 1e-6 for q in v], axis=0)  # a corner has no one normal
    assert np.allclose(nrm[interior], expected[interior], atol=1e-12)
    assert np.allclose(np.linalg.norm(nrm, axis=1), 1)


def test_a_clockwise_polygon_has_the_same_outward_normals():
    ccw, cw = Polygon(L_VERTICES), Polygon(L_VERTICES[::-1])
    b = ccw.sample_boundary(500, "uniform", np.random.default_rng(2))
    keep = np.all([np.linalg.norm(b - q, axis=1) > 1e-6 for q in np.array(L_VERTICES, float)], axis=0)
    assert np.allclose(ccw.normals(b[keep]), cw.normals(b[keep]))


def test_plate_parts_lengths_normals_into_the_holes():
    g = plate()
    assert g.parts == ("outer", "hole")
    assert g.boundary_measure(["outer"]) == pytest.approx(4.0)
    assert g.boundary_measure(["hole"]) == pytest.approx(4 * 2 * math.pi * 0.1, rel=1e-4)
    n = 20000
    b = g.sample_boundary(n, "sobol", np.random.default_rng(0))
    on_hole = np.array([min(abs(np.hypot(*(p - np.array(c))) - 0.1) for c in HOLES) < 1e-12 for p in b])
    on_outer = np.isclose(np.abs(b).max(axis=1), 0.5)
    assert (on_hole ^ on_outer).all()
    _even(np.array([on_outer.sum(), on_hole.sum()]), np.array([4.0, 0.8 * math.pi]), n)
    centre = np.array(HOLES)[np.argmin([[np.hypot(*(p - np.array(c))) for c in HOLES] for p in b[on_hole]], axis=1)]
    nrm = g.normals(b)
    assert np.allclose(nrm[on_hole], -(b[on_hole] - centre) / 0.1, atol=1e-12)  # out of the plate: into the hole
    side = np.abs(b[on_outer]).argmax(axis=1)
    expected = np.zeros((on_outer.sum(), 2))
    expected[np.arange(len(side)), side] = np.sign(b[on_outer][np.arange(len(side)), side])
    assert np.allclose(nrm[on_outer], expected)
    # a part's own sampler stays on it
    hole = g.sample_boundary(1000, "sobol", np.random.default_rng(1), parts=["hole"])
    assert all(min(abs(np.hypot(*(p - np.array(c))) - 0.1) for c in HOLES) < 1e-12 for p in hole)


def test_union_boundary_leaves_out_the_arcs_inside():
    g = Disk((0, 0), 1) | Disk((1, 0), 1)
    b = g.sample_boundary(5000, "sobol", np.random.default_rng(0))
    d0, d1 = np.hypot(*b.T), np.hypot(b[:, 0] - 1, b[:, 1])
    assert ((np.isclose(d0, 1) & (d1 >= 1 - 1e-9)) | (np.isclose(d1, 1) & (d0 >= 1 - 1e-9))).all()
    assert g.boundary_measure() == pytest.approx(2 * (2 * math.pi - 2 * math.pi / 3), rel=1e-3)


def test_adf_is_zero_on_the_boundary_and_positive_inside():
    for g in (Polygon(L_VERTICES), plate(), Disk((0, 0), 1.0)):
        phi = g.adf()
        inner = torch.as_tensor(g.sample(2000, "sobol", np.random.default_rng(0)))
        edge = torch.as_tensor(g.sample_boundary(2000, "sobol", np.random.default_rng(1)))
        assert (phi(inner[:, :1], inner[:, 1:]) > 0).all()
        assert phi(edge[:, :1], edge[:, 1:]).abs().max() < 1e-12
    # a part's ADF vanishes on that part only
    phi = plate().adf(["hole"])
    outer = torch.as_tensor(plate().sample_boundary(500, "sobol", np.random.default_rng(2), ["outer"]))
    assert (phi(outer[:, :1], outer[:, 1:]) > 1e-3).all()


def test_adf_is_refused_where_its_curve_crosses_the_domain():
    g = Disk((0, 0), 1) | Disk((1, 0), 1)
    with pytest.raises(pl.ProblemError, match="passes through the domain"):
        g.adf()


def test_distance_constraint_meets_two_dirichlet_values_and_an_initial_value():
    g = plate()
    conds = [Dirichlet(u=1.0, on="outer"), Dirichlet(u=lambda x, y: x * y, on="hole")]
    hc = distance_constraint(g, "u", conds)
    assert hc.enforces == (0, 1)
    for part, value in (("outer", lambda p: np.ones(len(p))), ("hole", lambda p: p[:, 0] * p[:, 1])):
        b = g.sample_boundary(300, "sobol", np.random.default_rng(0), [part])
        c = type("C", (), {"x": torch.as_tensor(b[:, :1]), "y": torch.as_tensor(b[:, 1:])})
        out = hc.transform(c, torch.randn(len(b), 1, dtype=torch.float64))[0]
        assert np.abs(out.numpy().ravel() - value(b)).max() < 1e-10
    st = SpaceTime(Disk((0, 0), 1), (0, 1))
    conds = [Initial(u=lambda x, y: 1 - x * x - y * y), Dirichlet(u=0.0)]
    hc = distance_constraint(st, "u", conds)
    start = st.sample_face("t", "lo", 200, "sobol", np.random.default_rng(0))
    wall = st.sample_boundary(200, "sobol", np.random.default_rng(1))
    for pts, want in ((start, lambda p: 1 - (p[:, :2] ** 2).sum(1)), (wall, lambda p: 0 * p[:, 0])):
        c = type("C", (), {k: torch.as_tensor(pts[:, i:i + 1]) for i, k in enumerate("xyt")})
        out = hc.transform(c, torch.randn(len(pts), 1, dtype=torch.float64))[0]
        assert np.abs(out.numpy().ravel() - want(pts)).max() < 1e-10


def test_distance_constraint_is_finite_and_exact_where_two_dirichlet_parts_meet():
    """At a corner shared by two parts every transfinite weight vanishes: the value there is the data's."""
    sq = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)], parts={"bottom": [0], "left": [3]})
    data = lambda x, y: 1 + x + 2 * y  # noqa: E731
    hc = distance_constraint(sq, "u", [Dirichlet(u=data, on="bottom"), Dirichlet(u=data, on="left")])
    pts = np.array([[0.0, 0.0], [0.0, 0.5], [0.3, 0.0], [0.5, 0.5]])
    c = type("C", (), {"x": torch.as_tensor(pts[:, :1]), "y": torch.as_tensor(pts[:, 1:])})
    out = hc.transform(c, torch.full((4, 1), 7.0, dtype=torch.float64))[0].numpy().ravel()
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[:3], 1 + pts[:3, 0] + 2 * pts[:3, 1], atol=1e-12)
    assert abs(out[3] - 2.5) > 1e-3  # inside, the network's output counts


def _fields_of(fn, problem, pts, request):
    """Fields of the function ``fn`` (points -> u) with autograd partials, as a condition sees them."""
    from pinnlab.derivatives import compute_fields

    class M(torch.nn.Module):
        def forward(self, x):
            return fn(x)[:, None]
    x = torch.as_tensor(pts, dtype=torch.float64)
    return compute_fields(M(), x, request, problem.domain.names, problem.fields, engine="autograd")


def _disk_problem(conditions):
    return Problem(name="disk-test", domain=Disk((0, 0), 1.0), fields=("u",), residual=lambda f, p: f.u.xx + f.u.yy,
                   conditions=conditions, exact=lambda x, y: x * x - y * y)


def test_neumann_and_robin_use_the_true_normal_on_a_disk():
    g = 1.5
    # u = x^2 - y^2 + 0.5 x: on the unit circle du/dn = x u_x + y u_y = 2x^2 - 2y^2 + 0.5 x
    prob = _disk_problem([Neumann(u=lambda x, y: 2 * x * x - 2 * y * y + 0.5 * x),
                          Robin(u=lambda x, y: g * (x * x - y * y + 0.5 * x) + 2 * x * x - 2 * y * y + 0.5 * x, a=g, b=1.0)])
    fn = lambda x: x[:, 0] ** 2 - x[:, 1] ** 2 + 0.5 * x[:, 0]
    for i, cond in enumerate(prob.conditions):
        pts = cond.sample(prob.domain, 200, "sobol", np.random.default_rng(i))
        f = _fields_of(fn, prob, pts, prob.requests[f"cond{i}"])
        for r in cond.residuals(f, prob.p):
            assert r.abs().max() < 1e-12
        # and a wrong normal derivative is seen
        wrong = _fields_of(lambda x: fn(x) + x[:, 1], prob, pts, prob.requests[f"cond{i}"])
        assert max(float(r.detach().abs().max()) for r in cond.residuals(wrong, prob.p)) > 0.1


def test_one_condition_in_two_problems_keeps_each_domain():
    cond = Neumann(u=1.0, on="x")  # u = x on [0, 1] meets it at x = 1 only; u = -x at x = -3 only
    a = Problem(name="a", domain=Box(x=(0.0, 1.0)), fields=("u",), residual=lambda f, p: f.u.xx, conditions=[cond],
                exact=lambda x: x)
    b = Problem(name="b", domain=Box(x=(-3.0, -2.0)), fields=("u",), residual=lambda f, p: f.u.xx, conditions=[cond],
                exact=lambda x: x)
    for prob, pt, slope in ((a, 1.0, 1.0), (b, -3.0, -1.0)):
        f = _fields_of(lambda x: slope * x[:, 0], prob, np.array([[pt]]), prob.requests["cond0"])
        assert prob.conditions[0].residuals(f, prob.p)[0].abs().max() < 1e-12
    assert not hasattr(cond, "_bounds") and cond.domain is None


def test_a_condition_on_a_predicate_samples_only_where_it_holds():
    g = Polygon(L_VERTICES)
    cond = Dirichlet(u=0.0, on=lambda x, y: x < -0.5)
    prob = Problem(name="pred", domain=g, fields=("u",), residual=lambda f, p: f.u.xx + f.u.yy,
                   conditions=[cond], exact=lambda x, y: 0 * x)
    pts = prob.conditions[0].sample(g, 300, "sobol", np.random.default_rng(0))
    assert len(pts) == 300 and (pts[:, 0] < -0.5).all()
    assert (np.isclose(pts[:, 0], -1) | np.isclose(np.abs(pts[:, 1]), 1)).all()
    assert "the boundary where" in cond.describe(g)


def test_box_faces_keep_working_with_names():
    box = Box(x=(0.0, 2.0), y=(0.0, 1.0))
    assert box.parts == ("x_lo", "x_hi", "y_lo", "y_hi")
    pts = Dirichlet(u=0.0, on="x_hi").sample(box, 50, "sobol", np.random.default_rng(0))
    assert np.allclose(pts[:, 0], 2.0)
    whole = Dirichlet(u=0.0).sample(box, 6000, "sobol", np.random.default_rng(0))
    on_x = np.isclose(whole[:, 0], 0) | np.isclose(whole[:, 0], 2)
    _even(np.array([on_x.sum(), (~on_x).sum()]), np.array([2.0, 4.0]), 6000)
    assert Dirichlet(u=0.0, on="x").describe(box) == "Dirichlet on x=0 and x=2: u = 0"
    assert Neumann(u=0.0, on="x_hi").describe(box) == "Neumann on x_hi: du/dn = 0"


def test_point_cloud_from_a_file(tmp_path):
    th = np.linspace(0, 2 * math.pi, 400, endpoint=False)
    b = np.stack([np.cos(th), np.sin(th)], axis=1)
    np.savez(tmp_path / "circle.npz", boundary=b, normals=b * 3.0, interior=0.5 * b)
    cloud = PointCloud.load(tmp_path / "circle.npz")
    assert cloud.contains(np.array([[0.0, 0.0], [0.9, 0.0], [1.1, 0.0]])).tolist() == [True, True, False]
    pts = cloud.sample_boundary(100, "sobol", np.random.default_rng(0))
    assert np.allclose(np.hypot(*pts.T), 1)
    assert np.allclose(cloud.normals(pts), pts, atol=1e-12)
    assert np.allclose(np.hypot(*cloud.sample(50, "uniform", np.random.default_rng(0)).T), 0.5)
    (tmp_path / "c.csv").write_text("x,y,nx,ny\n" + "\n".join(f"{x},{y},{x},{y}" for x, y in b[::4]) + "\n")
    assert len(PointCloud.load(tmp_path / "c.csv").boundary) == 100


def test_space_time_of_a_disk():
    st = SpaceTime(Disk((0, 0), 1), (0.0, 2.0))
    assert st.names == ("x", "y", "t") and st.is_time_dependent
    inner = st.sample(5000, "sobol", np.random.default_rng(0))
    assert (np.hypot(inner[:, 0], inner[:, 1]) <= 1).all() and (inner[:, 2] >= 0).all() and (inner[:, 2] <= 2).all()
    b = st.sample_boundary(500, "sobol", np.random.default_rng(0))
    assert np.allclose(np.hypot(b[:, 0], b[:, 1]), 1)
    nrm = st.normals(b)
    assert np.allclose(nrm[:, :2], b[:, :2]) and np.allclose(nrm[:, 2], 0)
    start = Initial(u=0.0).sample(st, 100, "sobol", np.random.default_rng(0))
    assert np.allclose(start[:, 2], 0.0)
    assert isinstance(SpaceTime(Box(x=(0, 1)), (0, 1)), Box)


def test_evaluation_of_a_non_box_problem_is_scattered_points():
    prob = _disk_problem([Dirichlet(u=lambda x, y: x * x - y * y)])
    ev = prob.evaluation()
    a = ev.arrays()
    assert ev.kind == "points" and str(a["kind"]) == "points"
    assert set(a) == {"kind", "coords", "fields", "points", "ref", "shape", "triangles", "outline"}
    assert (np.hypot(*ev.points.T) <= 1 + 1e-9).all()
    assert np.allclose(ev.values[:, 0], ev.points[:, 0] ** 2 - ev.points[:, 1] ** 2)
    assert a["triangles"].max() < len(ev.points)
    box = pl.get_problem("poisson2d").evaluation().arrays()
    assert set(box) == {"kind", "coords", "fields", "points", "ref", "shape", "axis_x", "axis_y"}


BAD = [
    ("self-crossing polygon", lambda: Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), "Self-intersection"),
    ("repeated vertex", lambda: Polygon([(0, 0), (1, 0), (1, 1), (1, 1), (0, 1)]), "vertices 2 and 3 are the same"),
    ("empty difference", lambda: Disk((0, 0), 1) - Disk((0, 0), 2), "is empty"),
    ("box minus itself", lambda: Box(x=(0, 1), y=(0, 1)) - Box(x=(0, 1), y=(0, 1)), "is empty"),
    ("predicate holding nowhere", lambda: _disk_problem([Dirichlet(u=0.0, on=lambda x, y: x > 5)]).conditions[0]
     .sample(Disk((0, 0), 1), 10, "sobol", np.random.default_rng(0)), "holds nowhere"),
    ("one of several parts unknown", lambda: _disk_problem([Dirichlet(u=0.0, on=("circle", "hole"))]),
     "unknown boundary part 'hole'"),
    ("disjoint intersection", lambda: Disk((0, 0), 1) & Disk((5, 0), 1), "is empty"),
    ("part that does not exist", lambda: _disk_problem([Dirichlet(u=0.0, on="hole")]), "unknown boundary part 'hole'"),
    ("negative radius", lambda: Disk((0, 0), -1), "radius"),
    ("mixed coordinates", lambda: Disk((0, 0), 1) | Box(x=(0, 1), t=(0, 1)), "cannot combine"),
    ("side on a part", lambda: _disk_problem([Dirichlet(u=0.0, on="circle", side="lo")]), "side="),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_geometry_is_a_problem_error(case):
    _, make, needle = case
    with pytest.raises(pl.ProblemError, match=needle):
        make()


@pytest.mark.parametrize("body, needle", [
    ("domain=Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])", "Polygon is not simple"),
    ("domain=Disk((0, 0), 1) - Disk((0, 0), 2)", "is empty"),
    ("domain=Disk((0, 0), 1), conditions=[Dirichlet(u=0.0, on='hole')]", "unknown boundary part 'hole'"),
    ("domain=Polygon([(0, 0), (1, 0), (1, 1), (1, 1), (0, 1)])", "an edge of zero length"),
])
def test_bad_geometry_in_a_problem_file_is_one_line_exit_2(body, needle, tmp_path, run_cli):
    path = tmp_path / "bad.py"
    path.write_text("from pinnlab import Dirichlet, Problem\nfrom pinnlab.geometry import Disk, Polygon\n"
                    f"problem = Problem(name='bad', fields=('u',), residual=lambda f, p: f.u.xx + f.u.yy,\n"
                    f"                  exact=lambda x, y: x, {body})\n")
    rc, _, err = run_cli(["show", str(path)])
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert rc == 2 and len(lines) == 1 and needle in lines[0] and "Traceback" not in err, err


def test_named_parts_are_identifiers_and_rename_keeps_geometry():
    g = plate().rename(outer="wall")
    assert g.parts == ("wall", "hole")
    with pytest.raises(pl.ProblemError, match="unknown boundary part"):
        g.rename(outer="x2")
    with pytest.raises(pl.ProblemError, match="coordinate"):
        g.rename(wall="x")


def test_fields_normal_derivative_in_space_time_ignores_time():
    st = SpaceTime(Disk((0, 0), 1), (0.0, 1.0))
    prob = Problem(name="st", domain=st, fields=("u",), residual=lambda f, p: f.u.t - f.u.xx - f.u.yy,
                   conditions=[Neumann(u=lambda x, y, t: 2 * (x * x + y * y) * (1 + t))],
                   exact=lambda x, y, t: (x * x + y * y) * (1 + t))
    cond = prob.conditions[0]
    pts = cond.sample(st, 100, "sobol", np.random.default_rng(0))
    f = _fields_of(lambda x: (x[:, 0] ** 2 + x[:, 1] ** 2) * (1 + x[:, 2]), prob, pts, prob.requests["cond0"])
    assert isinstance(f, Fields) and cond.residuals(f, prob.p)[0].abs().max() < 1e-12


def test_refined_domain_crowds_its_points_near_the_spot_and_keeps_the_rest():
    from pinnlab.geometry.refine import Refined
    base = Polygon(L_VERTICES)
    g = Refined(base, at=(0, 0), radius=0.25, share=0.2)
    n = 20000
    pts = g.sample(n, "sobol", np.random.default_rng(0))
    assert pts.shape == (n, 2) and in_lshape(pts).all()
    r = np.hypot(*pts.T)
    # the near share plus the uniform rest's: the 3/4 disk of radius 0.25 is 3π/4·0.0625 of the L's area 3
    expected = 0.2 + 0.8 * (0.75 * math.pi * 0.25**2) / 3
    assert abs((r < 0.25).mean() - expected) < 0.01
    # uniform in area within the spot: a quarter of its points within half its radius
    near = r[r < 0.25]
    assert abs((near < 0.125).mean() - 0.25) < 0.03
    assert g.parts == base.parts and abs(g.area() - 3.0) < 1e-9 and g.names == base.names
    b = g.sample_boundary(600, "sobol", np.random.default_rng(0))
    assert np.allclose(g.normals(b), base.normals(b))


@pytest.mark.parametrize("kwargs, needle", [(dict(at=(0, 0), radius=0.2, share=1.0), "share"),
                                            (dict(at=(0, 0), radius=0.0, share=0.2), "radius"),
                                            (dict(at=(5, 5), radius=0.2, share=0.2), "is empty")])
def test_refined_domain_refuses_bad_settings(kwargs, needle):
    from pinnlab.geometry.refine import Refined
    with pytest.raises(pl.ProblemError, match=needle):
        Refined(Polygon(L_VERTICES), **kwargs)

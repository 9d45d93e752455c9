"""Domains: boxes, disks, ellipses, polygons, their unions, differences and intersections, point clouds,
and space × time of any of them; seeded sampling of their insides and boundaries, outward normals,
named boundary parts and approximate distance functions for hard constraints.

``Box(x=(0, 1), y=(0, 1)) - Disk((0.5, 0.5), 0.2, name="hole")`` is a plate with a hole whose
boundary parts are ``x_lo``, ``x_hi``, ``y_lo``, ``y_hi`` and ``hole``.
"""

from .base import Geometry, Piece
from .box import Box, Interval
from .cloud import PointCloud
from .csg import Difference, Intersection, Union
from .distance import distance_constraint
from .mesh import PointSet, evaluation_points
from .refine import Refined
from .sampling import SAMPLERS, TIME, unit_sample
from .shapes import Disk, Ellipse, Polygon
from .spacetime import SpaceTime, SpaceTimeGeometry


def Rectangle(lo: tuple[float, float], hi: tuple[float, float]) -> Box:
    """The box [lo[0], hi[0]] × [lo[1], hi[1]] in coordinates x, y."""
    return Box(x=(lo[0], hi[0]), y=(lo[1], hi[1]))


__all__ = ["Geometry", "Piece", "Box", "Interval", "Rectangle", "Disk", "Ellipse", "Polygon", "PointCloud",
           "Union", "Difference", "Intersection", "SpaceTime", "SpaceTimeGeometry", "distance_constraint",
           "PointSet", "evaluation_points", "Refined", "SAMPLERS", "TIME", "unit_sample"]

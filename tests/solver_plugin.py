"""A solver registered from outside pinnlab's files: a PINN whose run also trains a scalar and a
per-point table. Its extra terms have known minima (scale = 2, each table row = its point's x / 2),
so a test can tell whether every training path really optimised them."""

from __future__ import annotations

import torch

from pinnlab.solvers.pinn import PinnTask, build_net
from pinnlab.solvers.registry import SolverSpec, register_solver

SCALE_TARGET = 2.0


class TabledTask(PinnTask):
    chunkable = False  # the table's term needs the residual batch
    shards = False     # a per-point table

    def build_model(self, net):
        model = super().build_model(net)
        model.add("scale", torch.zeros((), dtype=self.dtype, device=self.config.device))
        model.add("table", torch.zeros(self.points.residual.n, 1, dtype=self.dtype, device=self.config.device))
        return model

    def extra_terms(self, batches):
        terms = super().extra_terms(batches)
        terms["scale"] = (self.model.scale - SCALE_TARGET) ** 2
        if "residual" in batches:
            pts, _ = batches["residual"]
            terms["table"] = ((self.model.table[pts.ids] - 0.5 * pts.x[:, :1]) ** 2).sum()  # rows apart: well scaled
        return terms

    def gaps(self) -> tuple[float, float]:
        """How far the scalar and the table are from their minima."""
        with torch.no_grad():
            target = 0.5 * self.points.residual.x[:, :1]
            return abs(float(self.model.scale) - SCALE_TARGET), float((self.model.table - target).abs().max())

    def final_report(self):
        scale_gap, table_gap = self.gaps()
        return {**super().final_report(), "scale_gap": scale_gap, "table_gap": table_gap}


def make_task(problem, config):
    return TabledTask(problem, config, build_net(problem, config).to(config.torch_dtype).to(config.device))


SPEC = register_solver(SolverSpec(name="tabled", make_task=make_task,
                                  description="a PINN that also trains a scalar and a per-point table (tests)",
                                  report_keys=("scale_gap", "table_gap")), replace=True)

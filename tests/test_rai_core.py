"""RAI core: state tables by point id on tensors and jets, the consistency loss, row-local optimiser state."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from pinnlab.errors import ConfigError
from pinnlab.jets import Jet, plan_for
from pinnlab.nets import Net
from pinnlab.rai import RAI, FlatRprop, RowAdam, Schedule, StateTables, aux_forward, net_chain, sync_states


def _mlp(seed=0, sizes=(2, 7, 7, 1), act=nn.Sigmoid):
    torch.manual_seed(seed)
    mods = []
    for a, b in zip(sizes, sizes[1:]):
        mods += [nn.Linear(a, b), act()]
    return nn.Sequential(*mods).double()


def test_synced_states_reproduce_the_plain_network():
    m = _mlp()
    x = torch.randn(11, 2, dtype=torch.float64)
    rai = RAI(m, 11)
    rai.sync(x)
    aux = rai.aux(x)
    assert torch.equal(aux.output, m(x)) and aux.consistency.item() == 0.0
    assert torch.equal(rai(x), m(x))  # the wrapper's forward is the plain network


def test_consistency_is_the_mean_square_mismatch_per_layer_summed():
    m = _mlp(sizes=(2, 5, 4, 1))
    x = torch.randn(6, 2, dtype=torch.float64)
    rai = RAI(m, 6)
    gen = torch.Generator().manual_seed(1)
    for t in rai.states.tables:  # arbitrary states, not synced
        t.data = torch.randn(t.shape, generator=gen, dtype=torch.float64)
    z = [t.detach() for t in rai.states.tables]
    lin = [mod for mod in m if isinstance(mod, nn.Linear)]
    expect = [((z[0] - lin[0](x)) ** 2).mean()]
    for t in (1, 2):
        expect.append(((z[t] - lin[t](torch.sigmoid(z[t - 1]))) ** 2).mean())
    aux = rai.aux(x)
    assert torch.allclose(torch.stack(aux.mismatches), torch.stack(expect), rtol=1e-12, atol=0)
    assert torch.allclose(aux.output, torch.sigmoid(z[2]))  # the task loss sees the last state
    # "sum": the mean over points of the sum over features
    rai_sum = RAI(m, 6, reduction="sum")
    rai_sum.states.load_state_dict(rai.states.state_dict())
    assert torch.allclose(rai_sum.aux(x).mismatches[0], expect[0] * 5, rtol=1e-12)


def test_wrapped_layers_choice():
    m = _mlp(sizes=(2, 5, 4, 3, 1))
    assert RAI(m, 3).states.widths == [5, 4, 3, 1]           # every Linear, the output layer included
    assert RAI(m, 3, layers="hidden").states.widths == [5, 4, 3]
    assert RAI(m, 3, layers=[0, -1]).states.widths == [5, 1]
    for bad in ("some", [7], [], [1.5]):
        with pytest.raises(ConfigError):
            RAI(m, 3, layers=bad)
    x = torch.randn(3, 2, dtype=torch.float64)
    r = RAI(m, 3, layers=[1])
    r.sync(x)
    assert torch.equal(r.aux(x).output, m(x))


def test_jet_states_carry_values_and_partials_against_autograd():
    torch.manual_seed(3)
    net = Net(2, 1, width=6, depth=3, layer="tanh", bounds=([0.0, -1.0], [2.0, 1.0]),
              transform=lambda x, out: x[:, :1] * out).double()
    plan = plan_for(2, [(0, 0), (1,), (0, 1)])
    x = torch.rand(9, 2, dtype=torch.float64) * torch.tensor([2.0, 2.0], dtype=torch.float64) - torch.tensor([0.0, 1.0])
    for cut in ("linear", "layer"):
        chain = net_chain(net, "all", cut)
        tables = StateTables(9, chain.widths, plan.size, dtype=torch.float64)
        sync_states(chain, tables, Jet.input(x, plan))
        aux = aux_forward(chain, tables, Jet.input(x, plan))
        assert aux.consistency.item() == 0.0
        xr = x.clone().requires_grad_(True)
        u = net(xr)
        g, = torch.autograd.grad(u.sum(), xr, create_graph=True)
        gxx, gxy = torch.autograd.grad(g[:, 0].sum(), xr, retain_graph=True)[0].unbind(1)
        want = {(): u[:, 0], (1,): g[:, 1], (0, 0): gxx, (0, 1): gxy}
        for idx, ref in want.items():
            got = aux.output.partial(idx)[:, 0]
            assert torch.allclose(got, ref, rtol=1e-10, atol=1e-12), (cut, idx)


def test_jet_state_mismatch_covers_every_component():
    torch.manual_seed(0)
    net = Net(1, 1, width=4, depth=2, layer="tanh").double()
    plan = plan_for(1, [(0, 0)])
    x = torch.linspace(-1, 1, 5, dtype=torch.float64)[:, None]
    chain = net_chain(net)
    tables = StateTables(5, chain.widths, plan.size, dtype=torch.float64)
    sync_states(chain, tables, Jet.input(x, plan))
    with torch.no_grad():  # shift the second derivative of the first cut's state at row 2 by 0.3
        tables.tables[0][2, 2 * 4 + 1] += 0.3
    aux = aux_forward(chain, tables, Jet.input(x, plan))
    assert aux.mismatches[0].item() == pytest.approx(0.3 ** 2 / (5 * 4), rel=1e-12)


def test_a_mini_batch_step_changes_only_its_rows_and_their_adam_state():
    m = _mlp(sizes=(2, 6, 1))
    n = 10
    x = torch.randn(n, 2, dtype=torch.float64)
    y = (x[:, :1] > 0).double()
    rai = RAI(m, n, sparse=True)
    rai.sync(x)
    opt = RowAdam(rai.parameters(), lr=0.05)
    bce = nn.BCELoss()
    w_before = m[2].weight.detach().clone()
    for rows in ([0, 1, 2, 3], [2, 3, 4], [0, 5]):
        ids = torch.tensor(rows)
        before = [t.detach().clone() for t in rai.states.tables]
        st_before = [{k: v.clone() for k, v in opt.state[t].items()} if opt.state[t] else None
                     for t in rai.states.tables]
        opt.zero_grad()
        aux = rai.aux(x[ids], ids)
        (bce(aux.output, y[ids]) + aux.consistency).backward()
        assert rai.states.tables[0].grad.is_sparse
        opt.step()
        others = torch.tensor([i for i in range(n) if i not in rows])
        for t, b, sb in zip(rai.states.tables, before, st_before):
            assert torch.equal(t.detach()[others], b[others])
            st = opt.state[t]
            if sb is not None:
                for k in ("exp_avg", "exp_avg_sq", "step"):
                    assert torch.equal(st[k][others], sb[k][others]), k
            assert torch.all(st["exp_avg"][others] == (0 if sb is None else sb["exp_avg"][others]))
        assert not torch.equal(rai.states.tables[-1].detach()[ids], before[-1][ids])  # the batch's rows do move
    assert not torch.equal(m[2].weight.detach(), w_before)  # and the shared weights (a layer a step: the last first)
    assert opt.state[rai.states.tables[0]]["step"].tolist() == [2, 1, 2, 2, 1, 1, 0, 0, 0, 0]


def test_plain_adam_would_move_rows_outside_the_batch():
    """Why RowAdam: with torch's Adam, a row read in one step keeps moving after it (its momentum)."""
    m = _mlp(sizes=(2, 4, 1))
    x = torch.randn(4, 2, dtype=torch.float64)
    rai = RAI(m, 4)
    rai.sync(x)
    opt = torch.optim.Adam(rai.parameters(), lr=0.05)
    for rows in ([0, 1], [2, 3]):
        ids = torch.tensor(rows)
        opt.zero_grad()
        aux = rai.aux(x[ids], ids)
        (aux.output.sum() + aux.consistency).backward()
        before = rai.states.tables[-1].detach().clone()
        opt.step()
    assert not torch.equal(rai.states.tables[-1].detach()[:2], before[:2])


def test_row_adam_matches_torch_adam():
    torch.manual_seed(0)
    a = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    o1, o2 = torch.optim.Adam([a], lr=0.01), RowAdam([b], lr=0.01)
    for k in range(6):  # dense: as torch's Adam
        for p, o in ((a, o1), (b, o2)):
            o.zero_grad()
            ((p - k) ** 3).sum().backward()
            o.step()
    assert torch.allclose(a, b, rtol=1e-13, atol=1e-15)
    # sparse, first step of the rows read: as torch's Adam on those rows alone
    table = torch.nn.Parameter(torch.randn(6, 3, dtype=torch.float64))
    sub = torch.nn.Parameter(table.detach()[[1, 4]].clone())
    o3, o4 = RowAdam([table], lr=0.1), torch.optim.Adam([sub], lr=0.1)
    ids = torch.tensor([1, 4])
    torch.nn.functional.embedding(ids, table, sparse=True).pow(2).sum().backward()
    sub.pow(2).sum().backward()
    o3.step()
    o4.step()
    assert torch.allclose(table.detach()[ids], sub.detach(), rtol=1e-14)


def test_flat_rprop_is_torch_rprop_bit_for_bit():
    m1 = _mlp(sizes=(2, 9, 9, 1), act=nn.Tanh)
    m2 = copy.deepcopy(m1)
    x = torch.randn(20, 2, dtype=torch.float64)
    y = torch.sin(x[:, :1])
    o1, o2 = torch.optim.Rprop(m1.parameters(), lr=0.05), FlatRprop(m2.parameters(), lr=0.05)
    for _ in range(25):
        for m, o in ((m1, o1), (m2, o2)):
            o.zero_grad()
            ((m(x) - y) ** 2).mean().backward()
            o.step()
    assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters()))


def test_state_memory_is_cuts_width_points_components():
    net = Net(2, 1, width=8, depth=3, layer="tanh")
    chain = net_chain(net)
    tables = StateTables(50, chain.widths, 6)
    mem = tables.memory()
    assert mem["cuts"] == 4 and mem["widths"] == [8, 8, 8, 1]
    assert mem["numbers"] == (3 * 8 + 1) * 50 * 6 and mem["bytes"] == mem["numbers"] * 4
    assert RAI(_mlp(sizes=(2, 7, 7, 1)), 10).state_memory()["numbers"] == (7 + 7 + 1) * 10


def test_a_deep_copy_runs_its_own_network():
    m = _mlp()
    x = torch.randn(4, 2, dtype=torch.float64)
    rai = RAI(m, 4)
    rai.sync(x)
    rai.aux(x)  # builds the original's chain
    twin = copy.deepcopy(rai)
    with torch.no_grad():
        twin.model[0].weight.add_(1.0)
    assert twin.aux(x).consistency.item() > 0 and rai.aux(x).consistency.item() == 0.0


def test_lambda_schedule():
    s = Schedule(1.0, 1e4, 100)
    assert s(0) == 1.0 and s(50) == pytest.approx(100.0) and s(100) == pytest.approx(1e4) and s(500) == s(100)
    assert Schedule(2.0)(7) == 2.0
    with pytest.raises(ConfigError):
        Schedule(0.0)


def test_value_only_states_push_partials_through_the_layers_against_autograd():
    # free="value": a state's value is free, its partials are the stage's from the previous state's jet.
    # Reference: autograd through pred + (value - pred).detach() (that value, the stage's derivatives)
    torch.manual_seed(5)
    net = Net(1, 1, width=5, depth=3, layer="tanh").double()
    plan = plan_for(1, [(0, 0)])
    x = torch.linspace(-1, 1, 7, dtype=torch.float64)[:, None]
    chain = net_chain(net)
    tables = StateTables(7, chain.widths, 1, dtype=torch.float64)
    sync_states(chain, tables, Jet.input(x, plan))
    assert aux_forward(chain, tables, Jet.input(x, plan), free="value").consistency.item() == 0.0
    with torch.no_grad():
        for t in tables.tables:
            t.add_(0.2 * torch.randn_like(t))
    aux = aux_forward(chain, tables, Jet.input(x, plan), free="value")
    xr = x.clone().requires_grad_(True)
    h, mism = xr, []
    for t, stage in enumerate(chain.stages):
        pred = stage(h, xr)
        mism.append((tables.tables[t] - pred).square().mean())
        h = pred + (tables.tables[t] - pred).detach()
    u = chain.tail(h, xr)
    ux, = torch.autograd.grad(u.sum(), xr, create_graph=True)
    uxx, = torch.autograd.grad(ux.sum(), xr)
    for idx, ref in {(): u, (0,): ux, (0, 0): uxx}.items():
        assert torch.allclose(aux.output.partial(idx), ref, rtol=1e-10, atol=1e-12), idx
    assert aux.consistency.item() == pytest.approx(sum(m.item() for m in mism), rel=1e-12)  # values only


def test_alternating_blocks_and_the_wrappers_groups():
    from pinnlab.rai import trained_block
    assert [trained_block("joint", s) for s in (1, 2)] == ["all", "all"]
    assert [trained_block("alternating", s) for s in (1, 2, 3)] == ["states", "weights", "states"]
    with pytest.raises(ConfigError, match="alternating"):
        trained_block("both", 1)
    rai = RAI(_mlp(), 5)
    g = rai.parameter_groups()
    assert {id(p) for p in g["weights"]} | {id(p) for p in g["states"]} == {id(p) for p in rai.parameters()}
    assert not {id(p) for p in g["weights"]} & {id(p) for p in g["states"]}

"""The sweep's tables: working points and ECQx vs ECQ at equal sparsity, on made-up rows."""

import pytest

from ecqx.sweep_tables import against_curve, main_p, matched_sparsity, working_points


def test_working_points_pick_the_sparsest_within_the_allowed_loss():
    def pt(method, lam, sparsity, top1, n=3):
        return {"method": method, "bits": 4, "lam": lam, "p": 0.1, "n": n,
                "sparsity_mean": sparsity, "top1_quantized_mean": top1,
                "top1_float_mean": 0.80}  # fmt: skip

    summary = [pt("ecqx", 1, 0.3, 0.82), pt("ecqx", 2, 0.5, 0.80), pt("ecqx", 3, 0.7, 0.795),
               pt("ecqx", 4, 0.9, 0.70), pt("ecqx", 5, 0.8, 0.85, n=1),
               pt("ecq", 1, 0.4, 0.78)]  # fmt: skip
    picks = working_points(summary)
    assert picks["ecqx"]["no_loss"]["lam"] == 2  # one seed at lam 5 does not count
    assert picks["ecqx"]["small_and_fast"]["lam"] == 3
    assert picks["ecq"]["no_loss"] is None and picks["ecq"]["small_and_fast"] is None


def test_matched_sparsity_interpolates_each_seed_and_spreads_over_seeds():
    def run(method, seed, sparsity, top1):
        return {"method": method, "bits": 4, "p": 0.1 if method == "ecqx" else 0.0,
                "seed": seed, "sparsity": sparsity, "top1_quantized": top1}  # fmt: skip

    rows = [run("ecq", 0, 0.2, 0.80), run("ecq", 0, 0.6, 0.76),
            run("ecqx", 0, 0.3, 0.82), run("ecqx", 0, 0.5, 0.80),
            run("ecq", 1, 0.2, 0.80), run("ecq", 1, 0.6, 0.72),
            run("ecqx", 1, 0.3, 0.80), run("ecqx", 1, 0.5, 0.78)]  # fmt: skip
    (c,) = matched_sparsity(rows, levels=(0.4,))
    # seed 0: ECQ 0.78, ECQx 0.81 (+3 pp); seed 1: ECQ 0.76, ECQx 0.79 (+3 pp)
    assert c["seeds"] == 2 and c["diff_mean"] == pytest.approx(0.03)
    assert c["diff_std"] == pytest.approx(0.0, abs=1e-12)
    assert matched_sparsity(rows, levels=(0.55,)) == []  # beyond ECQx's range: no extrapolation


def test_main_p_counts_runs_and_seeds_and_prefers_the_smaller_on_a_tie():
    rows = [{"method": "ecqx", "bits": 4, "p": p} for p in (0.1, 0.5, 0.5)]
    rows.append({"method": "ecq", "bits": 4, "p": 0.0})
    assert main_p(rows, 4) == 0.5 and main_p(rows, 2) is None
    summary = [{"method": "ecqx", "bits": 4, "p": 0.1, "n": 3},
               {"method": "ecqx", "bits": 4, "p": 0.3, "n": 1},
               {"method": "ecqx", "bits": 4, "p": 0.05, "n": 3}]  # fmt: skip
    assert main_p(summary, 4) == 0.05


def test_a_point_is_compared_with_the_curve_of_its_own_seed_at_its_own_sparsity():
    def run(method, seed, lam, sparsity, top1, p=0.0):
        return {"method": method, "bits": 4, "lam": lam, "p": p, "seed": seed,
                "sparsity": sparsity, "top1_quantized": top1}  # fmt: skip

    curve = [run("ecq", 0, 1, 0.2, 0.80), run("ecq", 0, 2, 0.8, 0.74),
             run("ecq", 1, 1, 0.2, 0.70), run("ecq", 1, 2, 0.8, 0.64)]  # fmt: skip
    points = [
        run("ecqx", 0, 4, 0.5, 0.80, p=0.9),
        run("ecqx", 1, 4, 0.7, 0.70, p=0.9),
        run("ecqx", 2, 4, 0.5, 0.99, p=0.9),  # no curve for seed 2: left out
        run("ecqx", 0, 8, 0.9, 0.90, p=0.9),  # beyond the curve: no extrapolation
    ]
    (c,) = against_curve(points, curve)
    # seed 0: curve 0.77 at 0.5 -> +3 pp; seed 1: curve 0.65 at 0.7 -> +5 pp
    assert (c["lam"], c["seeds"]) == (4.0, 2)
    assert c["sparsity"] == pytest.approx(0.6) and c["curve_top1"] == pytest.approx(0.71)
    assert c["diff_mean"] == pytest.approx(0.04)
    assert c["diff_std"] == pytest.approx(0.0141421, rel=1e-4)

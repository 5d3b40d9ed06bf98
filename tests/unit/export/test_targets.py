"""Every export target the CLI offers has a manager; report merging."""


def test_every_target_the_cli_offers_has_a_manager():
    from ecqx.export.choices import TARGETS
    from ecqx.export.targets import MANAGERS, merge

    assert tuple(MANAGERS) == TARGETS
    report = {"c_bytes": {"sparse": 1}, "layers": [{"name": "0"}, {"name": "2"}]}
    merge(report, {"c_bytes": {"chosen": 5}, "layers": [{"c_format": "a"}, {"c_format": "b"}],
                   "nnc": {"bytes": 3}})  # fmt: skip
    rows = [{"name": "0", "c_format": "a"}, {"name": "2", "c_format": "b"}]
    assert report == {"c_bytes": {"sparse": 1, "chosen": 5}, "nnc": {"bytes": 3}, "layers": rows}

"""Tables as users have them (issue 28): numbers as people write them, dates, an identifier column,
many categories pooled into `other`, --columns / --drop, encodings too large refused, short value
lists in messages, and the memory a table takes (the 50,000-row id table; a numeric table's peak)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import minidl
from minidl.app.cli import main
from minidl.data.tables import load_table, read_rows
from minidl.errors import ConfigError, DatasetError

CPU = ("--device", "cpu", "--no-plots", "--quiet")
SRC = Path(minidl.__file__).resolve().parents[1]  # the minidl under test, for the measured child processes


def written(path: Path, header: str, rows) -> Path:
    path.write_text(header + "\n" + "".join(line + "\n" for line in rows))
    return path


def formats_table(path: Path, n: int = 40) -> Path:
    """A table mixing 1,234 / 1 234, 12%, $3.50, 3.50 EUR, yes/no, TRUE/FALSE and a date column."""
    rows = []
    for i in range(n):
        count = f'"{1000 + 37 * i:,}"' if i % 2 else f"{1000 + 37 * i:,}".replace(",", " ")
        rows.append(f"{count},{i % 20}%,${i}.50,{i}.50 EUR,{('yes', 'no')[i % 2]},{('TRUE', 'FALSE')[i % 3 == 0]},"
                    f"2020-{1 + i % 12:02d}-{1 + i % 28:02d},{('a', 'b')[i % 2]}")
    return written(path, "count,share,price,fee,member,active,joined,kind", rows)


def test_numbers_as_people_write_them_read_as_numbers_with_one_notice_each(tmp_path, capsys):
    table = load_table(formats_table(tmp_path / "t.csv"), "kind", classify=True)
    assert table.feature_names == ("count", "share", "price", "fee", "member", "active",
                                   "joined (days)", "joined (year)", "joined (month)")
    raw = table.raw_X
    assert raw[:3, 0].tolist() == [1000, 1037, 1074]  # "1 000", "1,037", "1 074"
    assert raw[:3, 1].tolist() == pytest.approx([0.0, 0.01, 0.02])  # 0%, 1%, 2%
    assert raw[:2, 2].tolist() == [0.5, 1.5] and raw[:2, 3].tolist() == [0.5, 1.5]  # $0.50, 1.50 EUR
    assert raw[:2, 4].tolist() == [1, 0] and raw[:4, 5].tolist() == [0, 1, 1, 0]  # yes/no, TRUE/FALSE
    assert raw[0, 6:].tolist() == [0, 2020, 1] and raw[1, 6:].tolist() == [32, 2020, 2]  # days, year, month
    notices = capsys.readouterr().err.splitlines()
    for name in ("count", "share", "price", "fee", "member", "active", "joined"):
        assert sum(f"column '{name}'" in line for line in notices) == 1, (name, notices)


def test_a_decimal_comma_stays_text_and_mixed_units_are_refused(tmp_path):
    table = load_table(written(tmp_path / "t.csv", "a,y", ['"1,5",1', '"2,25",2', '"3,5",3']), "y")
    assert "a=1,5" in table.feature_names  # never a guess at its numbers
    with pytest.raises(DatasetError, match="row 2, column 'b': '3%' is not a number"):  # 3% beside 4: no one unit
        load_table(written(tmp_path / "u.csv", "b,y", ["3%,1", "4,2", "5%,3"]), "y")


def ids_table(path: Path, n: int = 60) -> Path:
    return written(path, "sample,site,size,kind", [f"N{i}A{i % 2},{('north', 'south')[i % 2]},{i % 7},"
                                                   f"{('x', 'y')[(i % 7) > 3]}" for i in range(n)])


def test_an_identifier_column_is_left_out_with_a_notice_and_kept_by_keep_ids(tmp_path, capsys):
    path = ids_table(tmp_path / "ids.csv")
    table = load_table(path, "kind", classify=True)
    assert table.feature_names == ("site=north", "site=south", "size")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "column 'sample' left out" in err and "--keep-ids" in err
    kept = load_table(path, "kind", classify=True, keep_ids=True)
    assert sum(name.startswith("sample=") for name in kept.feature_names) == 60
    (tmp_path / "new.csv").write_text("sample,site,size\nZ9,north,3\n")  # predict ignores the left-out column
    assert read_rows(tmp_path / "new.csv", table.encoder, "kind").shape == (1, 3)


def many_table(path: Path, n: int = 120) -> Path:
    """A `shop` column of 33 categories: 3 frequent, 30 seen once (not an identifier: most values repeat)."""
    rows = [f"{'small' + str(i) if i % 4 == 0 else 'big' + str(i % 3)},{i % 5},{('x', 'y')[i % 5 > 1]}"
            for i in range(n)]
    return written(path, "shop,size,kind", rows)


def test_many_categories_keep_the_frequent_and_pool_the_rest_into_other(tmp_path, capsys):
    path = many_table(tmp_path / "shops.csv")
    table = load_table(path, "kind", classify=True)
    assert table.feature_names == ("shop=big0", "shop=big1", "shop=big2", "shop=other", "size")
    facts = table.facts()["columns"]["columns"][0]
    assert facts["pooled"] == 30  # the 30 shops seen once, counted in the run's facts (its summary of the table)
    assert "'shop' has many categories" in capsys.readouterr().err
    _, test = table.fold(1, 5)  # a fold's unseen shops count as other: the run goes on
    assert bool((test.raw_X[:, 3] == 1).any())
    assert "never had count as 'other'" in capsys.readouterr().err


def test_a_fold_run_of_an_unseen_category_column_trains_and_predicts(tmp_path, capsys):
    path = many_table(tmp_path / "shops.csv")
    code = main(["train", "softmax", "--csv", str(path), "--target", "kind", "--folds", "3", "--epochs", "2",
                 "--out", str(tmp_path / "cv"), *CPU])
    summary = json.loads((tmp_path / "cv" / "fold-1" / "summary.json").read_text())
    assert code == 0 and summary["pooled_categories"]["shop"] > 0  # counted in the summary
    (tmp_path / "new.csv").write_text("shop,size\nnever-seen,3\nbig1,1\n")
    assert main(["predict", str(tmp_path / "cv" / "fold-1"), str(tmp_path / "new.csv")]) == 0
    out, err = capsys.readouterr()
    assert out.count("kind = ") == 2 and "column 'shop': categories the training rows never had count as 'other'" in err


def test_columns_and_drop_choose_the_inputs(tmp_path, capsys):
    path = formats_table(tmp_path / "t.csv")
    assert load_table(path, "kind", classify=True, columns=("price", "member")).feature_names == ("price", "member")
    assert "count" not in load_table(path, "kind", classify=True, drop=("count", "joined")).feature_names
    with pytest.raises(DatasetError, match="has no column 'nope' \\(--columns\\)"):
        load_table(path, "kind", classify=True, columns=("nope",))
    code = main(["train", "softmax", "--csv", str(path), "--target", "kind", "--columns", "price", "member",
                 "--epochs", "1", "--out", str(tmp_path / "run"), *CPU])
    facts = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["data"]["table"]
    assert code == 0 and facts["features"] == ["price", "member"]
    assert main(["predict", str(tmp_path / "run"), str(path)]) == 0  # the other columns ignored, as trained


def test_an_encoding_too_large_is_refused_before_allocating_naming_the_column(tmp_path, monkeypatch):
    path = ids_table(tmp_path / "ids.csv", n=400)
    monkeypatch.setattr("minidl.errors.available_memory", lambda: 100_000)  # 100 kB free
    table = load_table(path, "kind", classify=True, keep_ids=True)
    with pytest.raises(ConfigError, match="the widest column, 'sample', is 400 inputs") as raised:
        _ = table.X
    assert "\n" not in str(raised.value)


def test_an_error_listing_values_lists_five_and_the_count(tmp_path):
    rows = [f"{i},c{i % 8},{('x', 'y')[i % 2]}" for i in range(16)]
    table = load_table(written(tmp_path / "t.csv", "size,colour,kind", rows), "kind", classify=True)
    test = written(tmp_path / "test.csv", "size,colour,kind", ["1,purple,x"])
    with pytest.raises(DatasetError) as raised:
        table.rows_of(test)
    assert "(it had c0, c1, c2, c3, c4, ... (8 in all))" in str(raised.value)


def run_measured(tmp_path: Path, argv: list[str]) -> dict:
    """Run minidl in a fresh process, with an address-space cap; return its exit code, seconds, and peak
    resident memory beyond what it held before reading the table (Python, torch, minidl imported)."""
    script = (
        "import json, sys, time\n"
        "def hwm(key):\n"
        "    return next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith(key))\n"
        "import torch, pandas, pyarrow.csv, minidl.training.fit\n"
        "from minidl.app.cli import main\n"
        "base, start = hwm('VmRSS'), time.perf_counter()\n"
        "code = main(sys.argv[1:])\n"
        "print(json.dumps({'code': code, 'seconds': time.perf_counter() - start, 'peak': hwm('VmHWM') - base}))\n")

    def cap():
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # the old encoding grew past 10 GB

    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, env=env, check=False,
                          preexec_fn=cap, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_50000_row_table_of_10000_ids_trains_quickly_in_bounded_memory(tmp_path):
    rng = np.random.default_rng(0)
    ids, x = rng.integers(0, 10_000, 50_000), rng.normal(size=50_000)
    lines = [f"u{i:05d},{v:.4f},{2 * v + 0.1 * (i % 3):.4f}" for i, v in zip(ids, x)]
    written(tmp_path / "ids.csv", "id,x,y", lines)
    got = run_measured(tmp_path, ["train", "linreg", "--csv", "ids.csv", "--target", "y", "--out", "run", *CPU])
    assert got["code"] == 0
    assert got["seconds"] < 60 and got["peak"] < 1e9  # issue 28: < 10 s, < 1 GB; generous on a busy machine
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["test_r2"] > 0.9


def test_a_numeric_tables_peak_memory_is_at_most_three_times_its_float64_size(tmp_path):
    rows, columns = 400_000, 21
    values = np.random.default_rng(0).normal(size=(1000, columns))
    block = "".join(",".join(f"{v:.5g}" for v in row) + "\n" for row in values)  # 1,000 rows, written 400 times
    header = ",".join(f"x{j}" for j in range(columns - 1)) + ",y\n"
    (tmp_path / "big.csv").write_text(header + block * (rows // 1000))
    got = run_measured(tmp_path, ["train", "linreg", "--csv", "big.csv", "--target", "y", "--epochs", "1",
                                  "--out", "run", *CPU])
    assert got["code"] == 0 and got["peak"] <= 3 * rows * columns * 8, got

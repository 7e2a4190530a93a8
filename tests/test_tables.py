"""Numeric CSV tables: the house-price example, standardisation, and every kind of bad input."""
import json

import pytest
import torch

from minidl.data.tables import Standardizer, load_table, read_rows
from minidl.errors import ConfigError, DatasetError

HOUSES = "area,age,price\n" + "".join(
    f"{60 + 7 * i},{(3 * i) % 40},{100 + 2.5 * (60 + 7 * i) - 1.5 * ((3 * i) % 40)}\n"
    for i in range(20))


def csv_file(tmp_path, text, name="houses.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_house_prices(tmp_path):
    table = load_table(csv_file(tmp_path, HOUSES), "price")
    assert table.feature_names == ("area", "age") and table.target == "price"
    assert table.X.shape == (20, 2) and table.y.shape == (20, 1)
    assert table.X.dtype == table.y.dtype == torch.float32
    torch.testing.assert_close(table.X.mean(0), torch.zeros(2), atol=1e-6, rtol=0)
    torch.testing.assert_close(table.X.std(0, correction=0), torch.ones(2), atol=1e-6, rtol=0)
    assert table.y[0, 0].item() == pytest.approx(100 + 2.5 * 60)  # y stays in its own units
    assert table.target_standardizer.mean[0] == pytest.approx(table.y.double().mean().item())


def test_without_standardisation(tmp_path):
    table = load_table(csv_file(tmp_path, HOUSES), "price", standardize=False)
    assert table.X[0].tolist() == [60.0, 0.0]
    assert table.standardizer == Standardizer.identity(2)


def test_target_may_be_any_column(tmp_path):
    table = load_table(csv_file(tmp_path, HOUSES), "area")
    assert table.feature_names == ("age", "price") and table.y[1, 0].item() == 67


def test_constant_column_is_centred_not_divided_by_zero(tmp_path):
    table = load_table(csv_file(tmp_path, "a,b,y\n1,5,0\n2,5,1\n3,5,2\n"), "y")
    assert table.standardizer.std[1] == 1.0
    assert table.X[:, 1].tolist() == [0.0, 0.0, 0.0]


def test_standardizer_json_round_trip_and_new_rows(tmp_path):
    table = load_table(csv_file(tmp_path, HOUSES), "price")
    saved = json.dumps(table.standardizer.to_dict())
    restored = Standardizer.from_dict(json.loads(saved))
    assert restored == table.standardizer
    new = read_rows(csv_file(tmp_path, "age,area\n0,60\n39,151\n", "new.csv"), table.feature_names)
    assert new.tolist() == [[60.0, 0.0], [151.0, 39.0]]  # picked by name, in the model's order
    torch.testing.assert_close(restored.transform(new), table.X[[0, 13]])
    torch.testing.assert_close(restored.inverse(restored.transform(new)), new)


def test_bad_saved_standardizer():
    with pytest.raises(DatasetError, match="standardizer"):
        Standardizer.from_dict({"mean": [1.0]})
    with pytest.raises(DatasetError, match="std"):
        Standardizer.from_dict({"mean": [1.0], "std": [0.0]})


def test_split_is_seeded_and_fits_on_train_only(tmp_path):
    table = load_table(csv_file(tmp_path, HOUSES), "price")
    train, test = table.split(0.25, seed=1)
    assert len(train.y) == 15 and len(test.y) == 5
    rows = torch.cat([train.raw_X, test.raw_X])
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, table.raw_X.tolist()))
    assert test.standardizer == train.standardizer == Standardizer.fit(train.raw_X)
    torch.testing.assert_close(train.X.mean(0), torch.zeros(2), atol=1e-6, rtol=0)
    again, _ = table.split(0.25, seed=1)
    assert torch.equal(again.y, train.y)
    assert not torch.equal(table.split(0.25, seed=2)[0].y, train.y)
    with pytest.raises(ConfigError, match="test_fraction"):
        table.split(1.0)


def error(tmp_path, text, target="price"):
    """The DatasetError message load_table gives for a CSV holding `text`."""
    with pytest.raises(DatasetError) as info:
        load_table(csv_file(tmp_path, text), target)
    assert "houses.csv" in str(info.value), "the message names the file"
    return str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="nothing.csv does not exist"):
        load_table(tmp_path / "nothing.csv", "price")


def test_empty_file(tmp_path):
    assert "is empty" in error(tmp_path, "")


def test_unknown_target_lists_the_columns(tmp_path):
    assert "no column 'cost'; its columns are: area, age, price" in error(tmp_path, HOUSES, "cost")


def test_non_numeric_value_names_row_and_column(tmp_path):
    text = "area,age,price\n100,5,300\n80,twenty,200\n"
    assert "row 3, column 'age': 'twenty' is not a number" in error(tmp_path, text)


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity"])
def test_nan_and_inf_are_invalid(tmp_path, value):
    text = f"area,age,price\n100,5,300\n80,20,{value}\n"
    assert f"row 3, column 'price': '{value}' is not a number" in error(tmp_path, text)


def test_empty_value_names_row_and_column(tmp_path):
    assert "row 2, column 'age' is empty" in error(tmp_path, "area,age,price\n100,,300\n80,2,1\n")


def test_ragged_row(tmp_path):
    text = "area,age,price\n100,5,300\n80,20\n70,1,1\n"
    assert "row 3 has 2 values but the header names 3 columns" in error(tmp_path, text)


def test_fewer_than_two_rows(tmp_path):
    assert "1 data row(s)" in error(tmp_path, "area,age,price\n100,5,300\n")


def test_duplicate_and_empty_column_names(tmp_path):
    assert "column 3 of the header is a second 'area'" in error(tmp_path, "area,age,area\n1,2,3\n")
    assert "column 2 of the header is empty" in error(tmp_path, "area,,price\n1,2,3\n4,5,6\n")


def test_blank_lines_and_spreadsheet_bom_are_fine(tmp_path):
    path = tmp_path / "houses.csv"
    path.write_bytes(b"\xef\xbb\xbfarea,age,price\r\n1,2,3\r\n\r\n4,5,6\r\n")
    table = load_table(path, "price")
    assert table.feature_names == ("area", "age") and table.y.flatten().tolist() == [3.0, 6.0]


def test_read_rows_missing_feature_column(tmp_path):
    with pytest.raises(DatasetError, match="lacks the column.*'age'.*its columns are: area"):
        read_rows(csv_file(tmp_path, "area\n100\n"), ("area", "age"))


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_separated_tables_are_read(tmp_path, delimiter):
    comma = load_table(csv_file(tmp_path, HOUSES, "comma.csv"), "price")
    table = load_table(csv_file(tmp_path, HOUSES.replace(",", delimiter)), "price")
    assert table.feature_names == ("area", "age")
    torch.testing.assert_close(table.X, comma.X)


def test_a_bad_cell_says_how_the_columns_were_split(tmp_path):
    text = "area;age;price\n100;5;300\n80;2,5;200\n"  # a decimal comma in a semicolon table
    assert "'2,5' is not a number" in error(tmp_path, text) and "separated by semicolons" in error(tmp_path, text)


def test_a_value_beyond_float32_is_refused_by_name(tmp_path):
    text = "area,age,price\n100,5,300\n80,20,1e39\n"
    assert "row 3, column 'price': 1e39 is beyond float32's range" in error(tmp_path, text)

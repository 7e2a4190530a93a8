"""CSV tables: the house-price example, standardisation, text columns, missing cells, classes, splits
and folds, the real tables in ../shared/data/tables, and every kind of bad input."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from minidl.data.tables import Encoder, Standardizer, load_table, read_rows
from minidl.errors import ConfigError, DatasetError

TABLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "tables"
needs_tables = pytest.mark.skipif(not TABLES.is_dir(), reason=f"the real tables are not in {TABLES}")

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
    new = read_rows(csv_file(tmp_path, "age,area\n0,60\n39,151\n", "new.csv"), table.encoder)
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


@pytest.mark.parametrize("value", ["inf", "-Infinity"])
def test_inf_is_invalid(tmp_path, value):
    text = f"area,age,price\n100,5,300\n80,20,{value}\n"
    assert f"row 3, column 'price': '{value}' is not a finite number" in error(tmp_path, text)


@pytest.mark.parametrize("value", ["nan", "NA", "N/A"])
def test_nan_and_na_are_missing(tmp_path, value):
    text = f"area,age,price\n100,5,300\n80,{value},200\n"
    assert f"row 3, column 'age' is missing ('{value}')" in error(tmp_path, text)
    no_price = f"area,age,price\n100,5,300\n80,2,{value}\n"
    assert f"row 3, column 'price' (the target) is missing ('{value}')" in error(tmp_path, no_price)


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
        read_rows(csv_file(tmp_path, "area\n100\n"), Encoder.numbers(("area", "age")))


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


PETS = "weight,colour,kind\n" + "".join(
    f"{3 + i % 5},{('black', 'white', 'ginger')[i % 3]},{('cat', 'dog')[i % 2 or i % 7 == 0]}\n" for i in range(40))


def test_text_columns_become_one_input_per_category(tmp_path):
    table = load_table(csv_file(tmp_path, PETS, "pets.csv"), "kind", classify=True)
    assert table.classes == ("cat", "dog") and table.y.dtype == torch.int64 and table.y.shape == (40,)
    assert table.feature_names == ("weight", "colour=black", "colour=ginger", "colour=white")
    assert table.raw_X[:3, 1:].tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]  # black, white, ginger
    assert table.target_standardizer is None
    saved = Encoder.from_dict(json.loads(json.dumps(table.encoder.to_dict())))
    assert saved == table.encoder
    rows = csv_file(tmp_path, "colour,weight\nginger,4\n", "new.csv")
    assert read_rows(rows, saved).tolist() == [[4.0, 0.0, 1.0, 0.0]]


def test_a_category_or_column_training_never_saw_is_refused(tmp_path):
    table = load_table(csv_file(tmp_path, PETS, "pets.csv"), "kind", classify=True)
    with pytest.raises(DatasetError, match=r"row 3, column 'colour': 'blue' is a category the training table never had "
                                           r"\(it had black, ginger, white\)"):
        read_rows(csv_file(tmp_path, "weight,colour\n4,black\n5,blue\n", "new.csv"), table.encoder)
    with pytest.raises(DatasetError, match="the column\\(s\\) 'age', which the model was not trained on"):
        read_rows(csv_file(tmp_path, "weight,colour,age\n4,black,2\n", "new.csv"), table.encoder)
    with pytest.raises(DatasetError, match="row 2, column 'kind': the class 'bird' is not one the training table has"):
        table.rows_of(csv_file(tmp_path, "weight,colour,kind\n4,black,bird\n", "test.csv"))


def test_missing_cells_are_refused_or_filled_with_the_training_statistics(tmp_path):
    text = "weight,colour,kind\n4,black,cat\n,white,dog\n8,NA,cat\n6,white,dog\n"
    with pytest.raises(DatasetError, match="row 3, column 'weight' is empty; .*--fill-missing"):
        load_table(csv_file(tmp_path, text, "pets.csv"), "kind", classify=True)
    table = load_table(csv_file(tmp_path, text, "pets.csv"), "kind", classify=True, fill_missing=True)
    assert table.feature_names == ("weight", "colour=black", "colour=missing", "colour=white")
    assert table.raw_X[:, 0].tolist() == [4.0, 6.0, 8.0, 6.0]  # the mean of 4, 8, 6
    assert table.raw_X[2, 1:].tolist() == [0.0, 1.0, 0.0]
    new = read_rows(csv_file(tmp_path, "weight,colour\nNA,\n", "new.csv"), table.encoder)
    assert new.tolist() == [[6.0, 0.0, 1.0, 0.0]]


def test_a_short_row_is_not_read_as_missing_cells(tmp_path):
    text = "area,age,price\n100,5,300\n80,20\n70,1,1\n"
    with pytest.raises(DatasetError, match="row 3 has 2 values but the header names 3 columns"):
        load_table(csv_file(tmp_path, text), "price", fill_missing=True)


def test_classes_from_whole_numbers_sort_as_numbers(tmp_path):
    table = load_table(csv_file(tmp_path, "x,grade\n1,10\n2,9\n3,10\n4,2\n"), "grade", classify=True)
    assert table.classes == ("2", "9", "10") and table.y.tolist() == [2, 1, 2, 0]
    with pytest.raises(DatasetError, match="not whole"):
        load_table(csv_file(tmp_path, "x,grade\n1,1.5\n2,2\n"), "grade", classify=True)


def test_a_column_of_numbers_and_words_names_the_word(tmp_path):
    assert "row 3, column 'age': 'twenty' is not a number" in error(tmp_path, "area,age,price\n1,5,3\n8,twenty,2\n")


def test_log_target_needs_positive_values(tmp_path):
    table = load_table(csv_file(tmp_path, HOUSES), "price", log_target=True)
    assert table.y[0, 0].item() == pytest.approx(np.log(100 + 2.5 * 60))
    with pytest.raises(DatasetError, match="row 3, column 'price': -1 has no log"):
        load_table(csv_file(tmp_path, "area,price\n1,2\n2,-1\n"), "price", log_target=True)


def test_class_split_is_stratified(tmp_path):
    table = load_table(csv_file(tmp_path, PETS, "pets.csv"), "kind", classify=True)
    train, test = table.split(0.25, seed=3)
    counts = [int((table.y == c).sum()) for c in (0, 1)]
    assert [int((test.y == c).sum()) for c in (0, 1)] == [round(n * 0.25) for n in counts]
    assert len(train.y) + len(test.y) == 40


def test_folds_partition_the_rows(tmp_path):
    table = load_table(csv_file(tmp_path, PETS, "pets.csv"), "kind", classify=True)
    held = [table.fold(i, 5, seed=1)[1].rows.tolist() for i in range(1, 6)]
    assert sorted(sum(held, [])) == list(range(40)) and all(len(rows) == 8 for rows in held)
    train, test = table.fold(2, 5, seed=1)
    assert not set(train.rows.tolist()) & set(test.rows.tolist())
    assert train.standardizer == Standardizer.fit(train.raw_X.double())
    with pytest.raises(ConfigError, match="fold 1 of 41"):
        table.fold(1, 41)


@needs_tables
def test_the_real_penguins_have_text_columns_and_na_cells():
    path = TABLES / "penguins.csv"
    with pytest.raises(DatasetError, match="penguins.csv: row 5, column 'bill_length_mm' is missing \\('NA'\\)"):
        load_table(path, "species", classify=True)
    table = load_table(path, "species", classify=True, fill_missing=True)
    assert table.classes == ("Adelie", "Chinstrap", "Gentoo") and len(table.y) == 344
    assert "island=Biscoe" in table.feature_names and "sex=missing" in table.feature_names
    assert bool(torch.isfinite(table.X).all())


@needs_tables
@pytest.mark.parametrize("name,target,rows,classes", [("iris.csv", "class", 150, 3), ("wine.csv", "class", 178, 3),
                                                      ("windsor-houses.csv", "price", 546, 0)])
def test_the_real_tables_load(name, target, rows, classes):
    table = load_table(TABLES / name, target, classify=bool(classes))
    assert len(table.y) == rows and len(table.classes) == classes
    if name.startswith("windsor"):
        assert "driveway" in table.feature_names and "lotsize" in table.feature_names  # yes/no read as 1/0


# Tables the two CSV engines must read alike: pyarrow's (the fast path) and pandas' C parser (the
# reader of the files pyarrow will not read). Each is (name, bytes of the file).
TRICKY = [
    ("numbers", b"a,b,y\n1,2.5,3\n-4,5e-3,6\n7,8,9\n"),
    ("spaces around numbers", b"a,b,y\n 1,2.5 ,3\n4, 5,6\n"),
    ("missing spellings", b"a,b,y\n1,NA,3\nN/A,nan,6\n,NaN,9\nna,NAN,1\nn/a,2,2\n"),
    ("quoted cells", b'a,b,y\n"1","x,y",3\n"4","NA",6\n"7"," z ",9\n'),
    ("a quoted newline", b'a,note,y\n1,"two\nlines",3\n4,plain,6\n'),
    ("text and true/false", b"island,sex,alive,y\nDream,MALE,True,1\nBiscoe,NA,false,0\nDream,FEMALE,TRUE,1\n"),
    ("dates and times stay text",
     b"when,at,stamp,y\n2020-01-01,12:30:00,2020-01-01 10:00,1\n2020-01-02,13:00:00,2020-01-02T11:30,2\n"),
    ("a column of missing cells", b"a,gap,y\n1,,3\n4,NA,6\n"),
    ("whole numbers, large", b"a,y\n9007199254740993,1\n-12345678901234,2\n"),
    ("a BOM and CRLF", b"\xef\xbb\xbfa,b,y\r\n1,2,3\r\n4,5,6\r\n"),
    ("blank lines", b"a,b,y\n1,2,3\n\n4,5,6\n\n"),
    ("semicolons and decimal points", b"a;b;y\n1.5;x;3\n2.5;w;6\n"),
    ("tabs", b"a\tb\ty\n1\tx y\t3\n2\tw\t6\n"),
    ("yes and no", b"aircon,y\nyes,1\nno,2\n"),
    ("infinity and huge", b"a,y\ninf,1\n1e300,2\n"),
    ("header only", b"a,b,y\n"),
]


@pytest.mark.parametrize("name, data", TRICKY, ids=[name for name, _ in TRICKY])
def test_both_csv_engines_read_the_same_cells(tmp_path, name, data):
    from minidl.data.csv_file import Cells, _header, read_by_arrow, read_by_pandas

    pytest.importorskip("pyarrow", reason="pyarrow (a requirement of minidl) is not installed")
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    names, delimiter = _header(path)
    read = read_by_arrow(path, names, delimiter), read_by_pandas(path, names, delimiter)
    assert read[0] is not None, "pyarrow did not read it"
    views = []
    for columns in read:
        cells = Cells(path, names, columns, delimiter)
        view = {}
        for column in names:
            try:
                kind = "text" if cells.is_text(column) else "number"
                values = cells.texts(column).tolist() if kind == "text" else cells.numbers(column).tolist()
            except DatasetError as e:
                kind, values = "error", str(e)
            view[column] = kind, values, cells.missing(column).tolist()
        views.append((len(cells), view))
    assert repr(views[0]) == repr(views[1])  # repr: a missing number (nan) equals another


@pytest.mark.parametrize("data, message", [
    (b"a,b,y\n1,2,3\n4,5\n", "row 3 has 2 values but the header names 3 columns"),
    (b"a,b,y\n1,2,3\n4,5,6,7\n", "row 3 has 4 values"),
    (b"a,y\n\xff\xfe,1\n", "is not UTF-8 text"),
])
def test_a_file_pyarrow_will_not_read_gets_the_c_parsers_message(tmp_path, data, message):
    from minidl.data.csv_file import read_csv

    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(DatasetError, match=message):
        read_csv(path)

"""Write houses.csv: 200 made-up houses for `minidl train linreg --csv examples/data/houses.csv --target price`.

The prices follow a known line, so a run can be checked against it:

    price = 1.5 area + 10 rooms - 0.8 age - 4 distance_km + 50 + noise (std 8)

area in m², age in years, distance to the centre in km, price in thousands. Python's own
``random`` (its sequence for a seed is fixed across versions) keeps the file the same on every
machine: ``python examples/data/make_houses.py`` rewrites it byte for byte.
"""
import random
import sys
from pathlib import Path

WEIGHTS = {"area": 1.5, "rooms": 10.0, "age": -0.8, "distance_km": -4.0}
BIAS, NOISE, ROWS, SEED = 50.0, 8.0, 200, 0


def houses(rows: int = ROWS, seed: int = SEED) -> str:
    """Return the CSV text of ``rows`` houses: a header, then one line per house."""
    rng = random.Random(seed)
    lines = [",".join([*WEIGHTS, "price"])]
    for _ in range(rows):
        area = round(rng.uniform(40, 200), 1)
        rooms = rng.randint(1, 6)
        age = rng.randint(0, 80)
        distance = round(rng.uniform(0.5, 30), 1)
        x = {"area": area, "rooms": rooms, "age": age, "distance_km": distance}
        price = BIAS + sum(WEIGHTS[k] * v for k, v in x.items()) + rng.gauss(0, NOISE)
        lines.append(",".join([*(str(v) for v in x.values()), f"{price:.1f}"]))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("houses.csv")
    out.write_text(houses())
    print(f"wrote {out}")

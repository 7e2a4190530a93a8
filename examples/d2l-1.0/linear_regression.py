"""Linear Regression: the d2l 1.0 lesson's PyTorch cells on minidl.

From d2l-ai/d2l-en, chapter_linear-regression/linear-regression.md; the one change is the import,
`import minidl.d2l as d2l` for `from d2l import torch as d2l`. Cells are marked `# %%`;
examples/notebooks/d2l-1.0/linear_regression.ipynb holds the same cells.

Run: python examples/d2l-1.0/linear_regression.py
"""
# %%
import minidl.d2l as d2l
import math
import torch
import numpy as np
import time

# %%
n = 10000
a = d2l.ones(n)
b = d2l.ones(n)

# %%
c = d2l.zeros(n)
t = time.time()
for i in range(n):
    c[i] = a[i] + b[i]
f'{time.time() - t:.5f} sec'

# %%
t = time.time()
d = a + b
f'{time.time() - t:.5f} sec'

# %%
def normal(x, mu, sigma):
    p = 1 / math.sqrt(2 * math.pi * sigma**2)
    return p * np.exp(-0.5 * (x - mu)**2 / sigma**2)

# %%
# Use NumPy again for visualization
x = np.arange(-7, 7, 0.01)

# Mean and standard deviation pairs
params = [(0, 1), (0, 2), (3, 1)]
d2l.plot(x, [normal(x, mu, sigma) for mu, sigma in params], xlabel='x',
         ylabel='p(x)', figsize=(4.5, 2.5),
         legend=[f'mean {mu}, std {sigma}' for mu, sigma in params])

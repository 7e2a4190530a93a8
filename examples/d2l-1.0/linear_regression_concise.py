"""Concise Implementation of Linear Regression: the d2l 1.0 lesson's PyTorch cells on minidl.

From d2l-ai/d2l-en, chapter_linear-regression/linear-regression-concise.md; the one change is the import,
`import minidl.d2l as d2l` for `from d2l import torch as d2l`. Cells are marked `# %%`;
examples/notebooks/d2l-1.0/linear_regression_concise.ipynb holds the same cells.

Run: python examples/d2l-1.0/linear_regression_concise.py
"""
# %%
import minidl.d2l as d2l
import numpy as np
import torch
from torch import nn

# %%
class LinearRegression(d2l.Module):
    """The linear regression model implemented with high-level APIs."""
    def __init__(self, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.LazyLinear(1)
        self.net.weight.data.normal_(0, 0.01)
        self.net.bias.data.fill_(0)

# %%
@d2l.add_to_class(LinearRegression)
def forward(self, X):
    return self.net(X)

# %%
@d2l.add_to_class(LinearRegression)
def loss(self, y_hat, y):
    fn = nn.MSELoss()
    return fn(y_hat, y)

# %%
@d2l.add_to_class(LinearRegression)
def configure_optimizers(self):
    return torch.optim.SGD(self.parameters(), self.lr)

# %%
model = LinearRegression(lr=0.03)
data = d2l.SyntheticRegressionData(w=d2l.tensor([2, -3.4]), b=4.2)
trainer = d2l.Trainer(max_epochs=3)
trainer.fit(model, data)

# %%
@d2l.add_to_class(LinearRegression)
def get_w_b(self):
    return (self.net.weight.data, self.net.bias.data)
w, b = model.get_w_b()

# %%
print(f'error in estimating w: {data.w - d2l.reshape(w, data.w.shape)}')
print(f'error in estimating b: {data.b - b}')

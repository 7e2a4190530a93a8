"""Concise Implementation of Softmax Regression: the d2l 1.0 lesson's PyTorch cells on minidl.

From d2l-ai/d2l-en, chapter_linear-classification/softmax-regression-concise.md; the one change is the import,
`import minidl.d2l as d2l` for `from d2l import torch as d2l`. Cells are marked `# %%`;
examples/notebooks/d2l-1.0/softmax_regression_concise.ipynb holds the same cells.

Run: python examples/d2l-1.0/softmax_regression_concise.py
"""
# %%
import os
import minidl.d2l as d2l
import torch
from torch import nn
from torch.nn import functional as F

EPOCHS = int(os.environ.get("MINIDL_EXAMPLE_EPOCHS", 10))  # the book's 10; tests run fewer

# %%
class SoftmaxRegression(d2l.Classifier):
    """The softmax regression model."""
    def __init__(self, num_outputs, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Flatten(),
                                 nn.LazyLinear(num_outputs))

    def forward(self, X):
        return self.net(X)

# %%
@d2l.add_to_class(d2l.Classifier)
def loss(self, Y_hat, Y, averaged=True):
    Y_hat = d2l.reshape(Y_hat, (-1, Y_hat.shape[-1]))
    Y = d2l.reshape(Y, (-1,))
    return F.cross_entropy(
        Y_hat, Y, reduction='mean' if averaged else 'none')

# %%
data = d2l.FashionMNIST(batch_size=256)
model = SoftmaxRegression(num_outputs=10, lr=0.1)
trainer = d2l.Trainer(max_epochs=EPOCHS)
trainer.fit(model, data)

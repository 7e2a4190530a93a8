"""Implementation of Multilayer Perceptrons: the d2l 1.0 lesson's PyTorch cells on minidl.

From d2l-ai/d2l-en, chapter_multilayer-perceptrons/mlp-implementation.md; the one change is the import,
`import minidl.d2l as d2l` for `from d2l import torch as d2l`. Cells are marked `# %%`;
examples/notebooks/d2l-1.0/mlp_implementation.ipynb holds the same cells.

Run: python examples/d2l-1.0/mlp_implementation.py
"""
# %%
import os
import minidl.d2l as d2l
import torch
from torch import nn

EPOCHS = int(os.environ.get("MINIDL_EXAMPLE_EPOCHS", 10))  # the book's 10; tests run fewer

# %%
class MLPScratch(d2l.Classifier):
    def __init__(self, num_inputs, num_outputs, num_hiddens, lr, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma)
        self.b1 = nn.Parameter(torch.zeros(num_hiddens))
        self.W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs) * sigma)
        self.b2 = nn.Parameter(torch.zeros(num_outputs))

# %%
def relu(X):
    a = torch.zeros_like(X)
    return torch.max(X, a)

# %%
@d2l.add_to_class(MLPScratch)
def forward(self, X):
    X = d2l.reshape(X, (-1, self.num_inputs))
    H = relu(d2l.matmul(X, self.W1) + self.b1)
    return d2l.matmul(H, self.W2) + self.b2

# %%
model = MLPScratch(num_inputs=784, num_outputs=10, num_hiddens=256, lr=0.1)
data = d2l.FashionMNIST(batch_size=256)
trainer = d2l.Trainer(max_epochs=EPOCHS)
trainer.fit(model, data)

# %%
class MLP(d2l.Classifier):
    def __init__(self, num_outputs, num_hiddens, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_hiddens),
                                 nn.ReLU(), nn.LazyLinear(num_outputs))

# %%
model = MLP(num_outputs=10, num_hiddens=256, lr=0.1)
trainer.fit(model, data)

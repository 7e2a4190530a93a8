"""The Base Classification Model: the d2l 1.0 lesson's PyTorch cells on minidl.

From d2l-ai/d2l-en, chapter_linear-classification/classification.md; the one change is the import,
`import minidl.d2l as d2l` for `from d2l import torch as d2l`. Cells are marked `# %%`;
examples/notebooks/d2l-1.0/classification.ipynb holds the same cells.

Run: python examples/d2l-1.0/classification.py
"""
# %%
import minidl.d2l as d2l
import torch

# %%
class Classifier(d2l.Module):
    """The base class of classification models."""
    def validation_step(self, batch):
        Y_hat = self(*batch[:-1])
        self.plot('loss', self.loss(Y_hat, batch[-1]), train=False)
        self.plot('acc', self.accuracy(Y_hat, batch[-1]), train=False)

# %%
@d2l.add_to_class(d2l.Module)
def configure_optimizers(self):
    return torch.optim.SGD(self.parameters(), lr=self.lr)

# %%
@d2l.add_to_class(Classifier)
def accuracy(self, Y_hat, Y, averaged=True):
    """Compute the number of correct predictions."""
    Y_hat = d2l.reshape(Y_hat, (-1, Y_hat.shape[-1]))
    preds = d2l.astype(d2l.argmax(Y_hat, axis=1), Y.dtype)
    compare = d2l.astype(preds == d2l.reshape(Y, -1), d2l.float32)
    return d2l.reduce_mean(compare) if averaged else compare

"""Softmax regression, concise (d2l 0.17, section 3.7), on minidl.

Run: python examples/softmax_regression_concise.py
"""
import os

import torch
from torch import nn

import minidl.d2l as d2l

EPOCHS = int(os.environ.get("MINIDL_EXAMPLE_EPOCHS", 10))  # the lesson's 10; tests run fewer

batch_size = 256
train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)

# PyTorch does not implicitly reshape the inputs. Thus we define the flatten
# layer to reshape the inputs before the linear layer in our network
net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)


net.apply(init_weights)

loss = nn.CrossEntropyLoss(reduction='none')

trainer = torch.optim.SGD(net.parameters(), lr=0.1)

num_epochs = EPOCHS
d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer)

"""Multilayer perceptron, concise (the Chinese course's PyTorch port, section 3.10), on minidl.

Run: python examples/mlp_concise.py
"""
import os

import torch
from torch import nn
from torch.nn import init

import minidl.d2l as d2l

EPOCHS = int(os.environ.get("MINIDL_EXAMPLE_EPOCHS", 5))  # the lesson's 5; tests run fewer
torch.manual_seed(0)  # repeatable runs; the book leaves this out (at lr 0.5 the last epoch's score swings)

num_inputs, num_outputs, num_hiddens = 784, 10, 256

net = nn.Sequential(
    d2l.FlattenLayer(),
    nn.Linear(num_inputs, num_hiddens),
    nn.ReLU(),
    nn.Linear(num_hiddens, num_outputs),
)

for params in net.parameters():
    init.normal_(params, mean=0, std=0.01)

batch_size = 256
train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)
loss = torch.nn.CrossEntropyLoss()

optimizer = torch.optim.SGD(net.parameters(), lr=0.5)

num_epochs = EPOCHS
d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, batch_size, None, None, optimizer)

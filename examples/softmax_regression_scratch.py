"""Softmax regression from scratch (the Chinese course's PyTorch port, section 3.6), on minidl.

The softmax and cross-entropy are the lesson's own, written out as the learner writes them.
Run: python examples/softmax_regression_scratch.py
"""
import os

import numpy as np
import torch

import minidl.d2l as d2l

EPOCHS = int(os.environ.get("MINIDL_EXAMPLE_EPOCHS", 5))  # the lesson's 5; tests run fewer

batch_size = 256
train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)

num_inputs = 784
num_outputs = 10

W = torch.tensor(np.random.normal(0, 0.01, (num_inputs, num_outputs)), dtype=torch.float)
b = torch.zeros(num_outputs, dtype=torch.float)

W.requires_grad_(requires_grad=True)
b.requires_grad_(requires_grad=True)


def softmax(X):
    X_exp = X.exp()
    partition = X_exp.sum(dim=1, keepdim=True)
    return X_exp / partition  # broadcasting


def net(X):
    return softmax(torch.mm(X.view((-1, num_inputs)), W) + b)


def cross_entropy(y_hat, y):
    return - torch.log(y_hat.gather(1, y.view(-1, 1)))


print(d2l.evaluate_accuracy(test_iter, net))  # about 0.1 before training: a random guess

num_epochs, lr = EPOCHS, 0.1
d2l.train_ch3(net, train_iter, test_iter, cross_entropy, num_epochs, batch_size, [W, b], lr)

X, y = next(iter(test_iter))

true_labels = d2l.get_fashion_mnist_labels(y.numpy())
pred_labels = d2l.get_fashion_mnist_labels(net(X).argmax(dim=1).numpy())
titles = [true + '\n' + pred for true, pred in zip(true_labels, pred_labels)]

d2l.show_fashion_mnist(X[0:9], titles[0:9])

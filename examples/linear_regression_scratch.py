"""Linear regression from scratch (d2l 0.17, section 3.2), on minidl.

The lesson writes synthetic_data, data_iter, linreg, squared_loss and sgd out and saves them to
d2l; here they come from minidl.d2l. Run: python examples/linear_regression_scratch.py
"""
import os

import torch

import minidl.d2l as d2l

EPOCHS = int(os.environ.get("MINIDL_EXAMPLE_EPOCHS", 3))  # the lesson's 3; tests run fewer

true_w = torch.tensor([2, -3.4])
true_b = 4.2
features, labels = d2l.synthetic_data(true_w, true_b, 1000)
print('features:', features[0], '\nlabel:', labels[0])

batch_size = 10
for X, y in d2l.data_iter(batch_size, features, labels):
    print(X, '\n', y)
    break

w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
b = torch.zeros(1, requires_grad=True)

lr = 0.03
num_epochs = EPOCHS
net = d2l.linreg
loss = d2l.squared_loss

for epoch in range(num_epochs):
    for X, y in d2l.data_iter(batch_size, features, labels):
        l = loss(net(X, w, b), y)  # minibatch loss in `X` and `y`
        # Compute gradient on `l` with respect to [`w`, `b`]
        l.sum().backward()
        d2l.sgd([w, b], lr, batch_size)  # Update parameters using their gradient
    with torch.no_grad():
        train_l = loss(net(features, w, b), labels)
        print(f'epoch {epoch + 1}, loss {float(train_l.mean()):f}')

print(f'error in estimating w: {true_w - w.reshape(true_w.shape)}')
print(f'error in estimating b: {true_b - b}')

"""Datasets, model building and the training loop: plain functions, no web."""

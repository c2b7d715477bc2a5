"""Trainboard: launch, watch and compare small neural-network training runs."""

"""Carts and orders: snapshots, tracked orders, abandonment detection, the recovery report."""

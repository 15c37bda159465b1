"""Wallet passes: Apple Wallet `.pkpass` bundles (apple.py) built from a wallet channel's pass
templates and personalised with Liquid."""

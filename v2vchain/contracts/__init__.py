"""Typed wrappers for the deployed contracts: validated inputs in, decoded events and errors out."""

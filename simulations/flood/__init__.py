"""simulations/flood."""

"""Admin of the growth floor: segments (their condition builder, live count and exports)."""

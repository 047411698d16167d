"""Demo content: synthetic ultrasound phantoms and the `seed_demo` management command."""

"""vidlabel's desktop app (PyQt6). The only package that imports Qt; see `launch.run_app`."""

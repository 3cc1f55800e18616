"""Older import location of the storage backends (dtflw 0.5/0.6 `dtflw.io.*`)."""

"""Offline runtime: runs this SAM application's state machine end to end on an embedded AWS emulation."""

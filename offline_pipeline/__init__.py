"""This project on the offline tool (offline_aws): its CLI, run report, RapidAPI stand-in, and the one
place that assembles stand-in, emulation, deployed template and secret (`stack`)."""

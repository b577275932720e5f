"""An embedded AWS emulation for running a SAM application offline: moto in server mode with hooks that
close its gaps to AWS (`moto_hooks`), a deployer reading templates as SAM translates them, IAM evaluated
for every call made as a role, and real runners for Lambda handlers and Glue scripts.

Nothing here knows the application it runs; `offline_pipeline` is this project's use of it.
"""

"""Project wiring: the task worker (`fundushub worker`, `fundushub manage worker`).

It runs every app's tasks and re-queues the work of dead workers for each way in, so it sits
above them all (an installed app only so that Django finds its management command).
"""

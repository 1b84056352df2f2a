"""Watching a running installation: health probes for load balancers and Prometheus metrics.

Project wiring: it reads every app's rows (uploads, camera, the task queue) and the store's
blobs, and nothing imports it but the URLs and the settings.
"""

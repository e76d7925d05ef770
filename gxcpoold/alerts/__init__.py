"""Webhook alerts: what happened to the pool, POSTed as JSON to the operator's URLs.

kinds.py    the alert kinds and their severities
payload.py  one alert and its JSON body (schema: docs/alerts.md)
watch.py    what becomes an alert (hub events; node, database, listener, payout state)
webhook.py  the sender: bounded queues, timeouts, retries, never blocking
service.py  AlertService and add_alerts, its place in the service tree
"""

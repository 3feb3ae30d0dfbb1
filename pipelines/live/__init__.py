"""Live ingest: curves published over MQTT, committed in micro-batches like imports.

``broker`` runs Curvehouse's own mosquitto when no plant broker is set, ``payload`` turns a
message into validated curves (the import's checks), ``commit`` writes one micro-batch as one
dataset and sorts out duplicates and dead letters, ``listener`` ties them to an MQTT session.
"""

"""Backup and restore of a cluster's state folder (the etcd-snapshot role).

    plan.py      pure: the manifest and its checks, the restore target's checks, snapshot names, pruning
    database.py  the SQLite online backup of the store (a consistent copy while writers run)
    archive.py   the backup file: write one, verify one (before anything is touched), extract one
    restore.py   a verified backup into a state folder
    schedule.py  the running cluster's periodic snapshots (`up --snapshot-interval`), in a thread
"""

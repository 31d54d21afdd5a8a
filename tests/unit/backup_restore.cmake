# tools/backup: restore reads every peer's highest seen id or floor, refuses a partial peer list
# and never leaves a data.mdb that was not raised (backup_restore.c).
ledger_unit_test(backup_restore_test backup_restore_test.c ledger_backup)

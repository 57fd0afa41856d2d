#!/usr/bin/env bash
# Back up the Prevent LMS database, prove that the backup restores, keep the newest few.
#
#   backup.sh BACKUP_FOLDER
#
# Run it daily, on one host, as the user the app runs as and with the app's settings in its
# environment (LMS_DATABASE_URL at least): from a systemd timer whose service has
# EnvironmentFile=/etc/prevent-lms.env (docs/deploy.md, "Backups"), or from cron.
#
# Each run:
#   1. `lms db backup` writes BACKUP_FOLDER/lms-<UTC date and time>.sqlite3 (SQLite) or .pgdump
#      (PostgreSQL), and the row counts of the same snapshot to <that file>.counts.json;
#   2. `lms db restore` restores it into a scratch database: a temporary SQLite file, or a PostgreSQL
#      database on the same server, created and dropped here;
#   3. `lms db compare` compares the restored database's row counts with the backup's;
#   4. only then are all but the newest LMS_BACKUP_KEEP backups deleted.
# Any failure ends the run with a non-zero status and one line starting "backup.sh: FAILED",
# and deletes no backup.
#
# Settings (environment):
#   LMS_BIN                the lms command (default: lms on PATH), e.g. /opt/prevent-lms/bin/lms
#   LMS_DATABASE_URL       the app's database (unset: the app's default SQLite file)
#   LMS_BACKUP_KEEP        how many backups to keep (default 14)
#   LMS_BACKUP_SCRATCH_DB  PostgreSQL: the scratch database's name (default <database>_restore_check);
#                          the role in LMS_DATABASE_URL needs CREATEDB
#   TMPDIR                 SQLite: where the scratch copy goes (room for one more copy of the database)
set -euo pipefail
umask 077 # backups hold people's names and emails: for this user alone

fail() {
    echo "backup.sh: FAILED: $*" >&2
    exit 1
}

[[ $# -eq 1 && -n $1 ]] || fail "usage: backup.sh BACKUP_FOLDER"
folder=$1
lms=${LMS_BIN:-lms}
keep=${LMS_BACKUP_KEEP:-14}
url=${LMS_DATABASE_URL:-}

[[ $keep =~ ^[1-9][0-9]*$ ]] || fail "LMS_BACKUP_KEEP must be a whole number of at least 1, not '$keep'"
command -v "$lms" >/dev/null || fail "cannot run '$lms': set LMS_BIN to the installed lms command (e.g. /opt/prevent-lms/bin/lms)"
mkdir -p -- "$folder" || fail "cannot create the backup folder $folder"
[[ -w $folder ]] || fail "cannot write to the backup folder $folder"

# One run at a time in a folder: a slow run must not meet the next one, nor its pruning.
exec 9>"$folder/.backup.lock"
flock --nonblock 9 || fail "another backup.sh is still running in $folder"
shopt -s nullglob
# What an interrupted run (kill -9, a reboot) may have left half-written.
rm -f -- "$folder"/.lms-*.partial-*

case $url in
    postgresql*) extension=pgdump ;;
    sqlite*|"") extension=sqlite3 ;;
    *) fail "LMS_DATABASE_URL is neither an SQLite nor a PostgreSQL URL" ;;
esac

scratch_dir=""
scratch_name=""
scratch_made=""
if [[ $extension == pgdump ]]; then
    # The app's server and role, another database: the URL with its database name replaced.
    [[ $url =~ ^([^:/]+://[^/?]*)/([^/?]+)(\?.*)?$ ]] || fail "cannot find the database name in LMS_DATABASE_URL"
    server=${BASH_REMATCH[1]} database=${BASH_REMATCH[2]} query=${BASH_REMATCH[3]:-}
    scratch_name=${LMS_BACKUP_SCRATCH_DB:-${database}_restore_check}
    [[ $scratch_name =~ ^[A-Za-z0-9_-]+$ ]] || fail "LMS_BACKUP_SCRATCH_DB may hold only letters, digits, _ and -, not '$scratch_name'"
    [[ $scratch_name != "$database" ]] || fail "LMS_BACKUP_SCRATCH_DB must not name the app's own database"
    scratch_url="$server/$scratch_name$query"
else
    scratch_dir=$(mktemp -d "${TMPDIR:-/tmp}/lms-restore-check.XXXXXX") || fail "cannot make a temporary folder for the restore check"
    scratch_url="sqlite:///$scratch_dir/restore-check.sqlite3"
fi

cleanup() {
    if [[ -n $scratch_dir ]]; then
        rm -rf -- "$scratch_dir"
    fi
    if [[ -n $scratch_made ]]; then
        "$lms" db drop-scratch "$scratch_url" >/dev/null || echo "backup.sh: could not drop the scratch database $scratch_name" >&2
    fi
}
trap cleanup EXIT

file="$folder/lms-$(date -u +%Y-%m-%dT%H%M%SZ).$extension"
counts="$file.counts.json"

"$lms" db backup "$file" --counts "$counts" || fail "could not write the backup $file; no backup was deleted"

if [[ -n $scratch_name ]]; then
    "$lms" db create-scratch "$scratch_url" >/dev/null || fail "could not create the scratch database $scratch_name to check $file"
    scratch_made=1
fi
"$lms" db restore "$file" --into "$scratch_url" >/dev/null || fail "$file did not restore; no backup was deleted"
"$lms" db compare "$counts" "$scratch_url" || fail "$file restored with other row counts than it was taken with; no backup was deleted"
if [[ -n $scratch_made ]]; then
    "$lms" db drop-scratch "$scratch_url" >/dev/null || fail "could not drop the scratch database $scratch_name"
    scratch_made=""
fi

# Names sort by the time in them; only this script's own files are ever deleted.
mapfile -t backups < <(printf '%s\n' "$folder"/lms-[0-9]*Z.sqlite3 "$folder"/lms-[0-9]*Z.pgdump | LC_ALL=C sort)
for ((i = 0; i < ${#backups[@]} - keep; i++)); do
    rm -f -- "${backups[i]}" "${backups[i]}.counts.json" || fail "could not delete the old backup ${backups[i]}"
    echo "Deleted the old backup ${backups[i]}."
done
kept=$((${#backups[@]} < keep ? ${#backups[@]} : keep))
echo "backup.sh: OK: $file restores, with the same row counts; backups kept in $folder: $kept."

# Sourced by the tools' test scripts (run as `script HEED_BINARY`): sets heed (the binary), root
# (the repository) and tmp (a scratch folder removed on exit); exits 77 (ctest's "skipped") when
# /usr/bin/python3 lacks one of the Python modules named as arguments.
heed="$1"
shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
/usr/bin/python3 -c "import $(IFS=,; echo "$*")" 2>/dev/null || { echo "no $*: skipped"; exit 77; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

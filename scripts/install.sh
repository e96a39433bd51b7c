#!/bin/sh
# Installs the edgewatch agent (or collector) as a systemd service from its single executable
# (docs/binary.md): the binary, a config (kept if one is there), the unit, a system user and its
# data folder; then enables and starts it. Idempotent: run it again to upgrade the binary.
#
#   scripts/install.sh [--collector] [--binary FILE] [--config FILE] [--no-start]
#   scripts/install.sh [--collector] --uninstall [--purge]
#
#   --binary FILE  the executable (default: dist/edgewatch-<agent|collector>-linux-<this arch>)
#   --config FILE  the config to install when none is installed yet (default: a minimal one)
#   --no-start     install and enable, do not start
#   --uninstall    stop, disable and remove the binary and the unit; keeps the config and the data
#   --purge        with --uninstall: also the config, the data and the user
#   --root DIR     install under DIR instead of / (for packaging and tests): no user is created and
#                  systemctl is not run; what would be run is printed
set -eu

role=agent
binary=
config=
start=1
uninstall=0
purge=0
root=
while [ $# -gt 0 ]; do
  case $1 in
    --collector) role=collector ;;
    --agent) role=agent ;;
    --binary) binary=$2; shift ;;
    --config) config=$2; shift ;;
    --no-start) start=0 ;;
    --uninstall) uninstall=1 ;;
    --purge) purge=1 ;;
    --root) root=$2; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

here=$(cd "$(dirname "$0")/.." && pwd)
name=edgewatch-$role
bin_path=$root/usr/local/bin/$name
unit_path=$root/etc/systemd/system/$name.service
conf_dir=$root/etc/edgewatch
conf_path=$conf_dir/$role.yaml
data_dir=$root/var/lib/$name
doc_dir=$root/usr/local/share/doc/edgewatch
user=edgewatch

say() { echo "install.sh: $*"; }
# Runs a command on the real system; under --root, only says it.
sys() {
  if [ -n "$root" ]; then say "would run: $*"; else "$@"; fi
}

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (it creates a system user and a systemd unit)" >&2
  exit 1
fi

if [ "$uninstall" -eq 1 ]; then
  if [ -f "$unit_path" ]; then
    sys systemctl disable --now "$name.service" || true
    rm -f "$unit_path"
    sys systemctl daemon-reload
  fi
  rm -f "$bin_path"
  if [ "$purge" -eq 1 ]; then
    rm -rf "$data_dir" "$conf_path"
    rmdir "$conf_dir" 2>/dev/null || true
    # The user goes only when neither service is left.
    if [ ! -e "$root/usr/local/bin/edgewatch-agent" ] && [ ! -e "$root/usr/local/bin/edgewatch-collector" ]; then
      if [ -z "$root" ] && getent passwd "$user" >/dev/null; then userdel "$user" || true; fi
      if [ -z "$root" ] && getent group edgewatch-logs >/dev/null; then groupdel edgewatch-logs || true; fi
    fi
    say "removed $name, its config and its data"
  else
    say "removed $name (config $conf_path and data $data_dir kept; --purge removes them)"
  fi
  exit 0
fi

case $(uname -m) in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "install.sh: no edgewatch build for $(uname -m) (x86_64 and aarch64 only)" >&2; exit 1 ;;
esac
[ -n "$binary" ] || binary=$here/dist/$name-linux-$arch
if [ ! -f "$binary" ]; then
  echo "install.sh: no executable at $binary (npm run build:binary, or --binary FILE)" >&2
  exit 1
fi
unit_src=$here/config/$name.service
[ -f "$unit_src" ] || { echo "install.sh: no unit at $unit_src" >&2; exit 1; }

# The user and the group that may read the inference logs.
if [ -z "$root" ]; then
  getent group edgewatch-logs >/dev/null || groupadd --system edgewatch-logs
  getent passwd "$user" >/dev/null || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
else
  say "would create the system user $user and the group edgewatch-logs"
fi

mkdir -p "$(dirname "$bin_path")" "$(dirname "$unit_path")" "$conf_dir" "$data_dir" "$doc_dir"
# A new binary replaces the old in one rename, so a running service never sees half a file.
install -m 0755 "$binary" "$bin_path.new"
mv -f "$bin_path.new" "$bin_path"
install -m 0644 "$unit_src" "$unit_path"
[ -f "$here/docs/binary.md" ] && install -m 0644 "$here/docs/binary.md" "$doc_dir/binary.md"

if [ -f "$conf_path" ]; then
  say "kept the config at $conf_path"
elif [ -n "$config" ]; then
  install -m 0640 "$config" "$conf_path"
  say "installed the config $config as $conf_path"
elif [ "$role" = agent ]; then
  cat > "$conf_path" <<EOF
# edgewatch agent (every option: config/agent.example.yaml). Edit, then: systemctl restart $name
data_dir: /var/lib/$name
models:
  - name: model
    task: classification
    # The inference logs; give the group edgewatch-logs read access to them.
    logs: [/var/log/inference/*.jsonl]
sync:
  mode: manual
EOF
  chmod 0640 "$conf_path"
  say "wrote a minimal config at $conf_path: set the model's logs and sync, then restart"
else
  cat > "$conf_path" <<EOF
# edgewatch collector (every option: config/collector.yaml). Edit, then: systemctl restart $name
data_dir: /var/lib/$name
mqtt:
  listen: 0.0.0.0:1883
http:
  listen: 127.0.0.1:8080
EOF
  chmod 0640 "$conf_path"
  say "wrote a minimal config at $conf_path"
fi
if [ -z "$root" ]; then
  chown root:"$user" "$conf_path"
  chown "$user":"$user" "$data_dir"
  chmod 0750 "$data_dir"
fi

sys systemctl daemon-reload
sys systemctl enable "$name.service"
if [ "$start" -eq 1 ]; then
  sys systemctl restart "$name.service"
  say "$name installed and started: systemctl status $name; journalctl -u $name"
else
  say "$name installed and enabled (not started)"
fi

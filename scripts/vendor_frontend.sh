#!/usr/bin/env bash
# Fetch the front-end libraries from the npm registry ONCE and commit what they copy.
# Nothing is loaded from a CDN at run time. Re-run only to upgrade (edit the versions).
set -euo pipefail
cd "$(dirname "$0")/.."
LEAFLET=1.9.4
HTMX=2.0.4
ECHARTS=5.6.0
dest=static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent "leaflet@$LEAFLET" "htmx.org@$HTMX" "echarts@$ECHARTS" >/dev/null )
for t in "$tmp"/*.tgz; do mkdir -p "${t%.tgz}" && tar -xzf "$t" -C "${t%.tgz}"; done
rm -rf "$dest/leaflet" "$dest/htmx" "$dest/echarts"
mkdir -p "$dest/leaflet/images" "$dest/htmx" "$dest/echarts"
cp "$tmp"/leaflet-*/package/dist/leaflet.js "$tmp"/leaflet-*/package/dist/leaflet.css "$dest/leaflet/"
cp "$tmp"/leaflet-*/package/dist/images/*.png "$dest/leaflet/images/"
cp "$tmp"/htmx.org-*/package/dist/htmx.min.js "$dest/htmx/"
cp "$tmp"/echarts-*/package/dist/echarts.min.js "$dest/echarts/"
cp "$tmp"/leaflet-*/package/LICENSE "$dest/leaflet/LICENSE"
cp "$tmp"/htmx.org-*/package/LICENSE "$dest/htmx/LICENSE"
cp "$tmp"/echarts-*/package/LICENSE "$dest/echarts/LICENSE"
{
  echo "# Vendored front-end files: fetched from the npm registry by scripts/vendor_frontend.sh"
  echo "leaflet $LEAFLET"
  echo "htmx.org $HTMX"
  echo "echarts $ECHARTS"
  echo
  echo "# sha256"
  (cd "$dest" && find leaflet htmx echarts -type f ! -name LICENSE | sort | xargs sha256sum)
} > "$dest/VERSIONS"
echo "vendored into $dest:"; cat "$dest/VERSIONS"

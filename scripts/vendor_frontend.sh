#!/usr/bin/env bash
# Fetch the front-end libraries from the npm registry ONCE and commit what they copy.
# Nothing is loaded from a CDN at run time. Re-run only to upgrade (edit the versions).
set -euo pipefail
cd "$(dirname "$0")/.."
LEAFLET=1.9.4
HTMX=2.0.4
ECHARTS=5.6.0
SWAGGER_UI=5.35.0
dest=static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent "leaflet@$LEAFLET" "htmx.org@$HTMX" "echarts@$ECHARTS" "swagger-ui-dist@$SWAGGER_UI" >/dev/null )
for t in "$tmp"/*.tgz; do mkdir -p "${t%.tgz}" && tar -xzf "$t" -C "${t%.tgz}"; done
rm -rf "$dest/leaflet" "$dest/htmx" "$dest/echarts" "$dest/swagger-ui"
mkdir -p "$dest/leaflet/images" "$dest/htmx" "$dest/echarts" "$dest/swagger-ui"
cp "$tmp"/leaflet-*/package/dist/leaflet.js "$tmp"/leaflet-*/package/dist/leaflet.css "$dest/leaflet/"
cp "$tmp"/leaflet-*/package/dist/images/*.png "$dest/leaflet/images/"
cp "$tmp"/htmx.org-*/package/dist/htmx.min.js "$dest/htmx/"
cp "$tmp"/echarts-*/package/dist/echarts.min.js "$dest/echarts/"
# /api/v1/docs: the bundle and its stylesheet, without their source-map comments (maps not shipped)
sed '/^\/\/# sourceMappingURL=/d' "$tmp"/swagger-ui-dist-*/package/swagger-ui-bundle.js > "$dest/swagger-ui/swagger-ui-bundle.js"
sed 's#/\*\# sourceMappingURL=[^*]*\*/##' "$tmp"/swagger-ui-dist-*/package/swagger-ui.css > "$dest/swagger-ui/swagger-ui.css"
cp "$tmp"/leaflet-*/package/LICENSE "$dest/leaflet/LICENSE"
cp "$tmp"/htmx.org-*/package/LICENSE "$dest/htmx/LICENSE"
cp "$tmp"/echarts-*/package/LICENSE "$dest/echarts/LICENSE"
cp "$tmp"/swagger-ui-dist-*/package/LICENSE "$dest/swagger-ui/LICENSE"
{
  echo "# Vendored front-end files: fetched from the npm registry by scripts/vendor_frontend.sh"
  echo "leaflet $LEAFLET"
  echo "htmx.org $HTMX"
  echo "echarts $ECHARTS"
  echo "swagger-ui-dist $SWAGGER_UI"
  echo
  echo "# sha256"
  (cd "$dest" && find leaflet htmx echarts swagger-ui -type f ! -name LICENSE | sort | xargs sha256sum)
} > "$dest/VERSIONS"
echo "vendored into $dest:"; cat "$dest/VERSIONS"

#!/bin/sh
# Builds the Debian package and checks it as Debian would: lintian without errors or warnings,
# the expected files inside, the desktop entry and AppStream metainfo valid, the man page
# readable. Fails, naming the Debian package to install, when a checking tool is missing
# (scripts/install-deps.sh installs them all).
set -eu
build="$1"
for pair in lintian:lintian dpkg-deb:dpkg desktop-file-validate:desktop-file-utils \
            appstreamcli:appstream man:man-db cpack:cmake; do
    tool=${pair%%:*}
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "FAIL: $tool is missing: install Debian's ${pair#*:} (scripts/install-deps.sh does)"; exit 1; }
done
# cpack, not the package target: it packages what the build made and never rebuilds while
# other tests run the binaries.
(cd "$build" && cpack -G DEB >/dev/null) || { echo "FAIL: cpack"; exit 1; }
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
deb="$build/retort_${version}_amd64.deb"
[ -f "$deb" ] || { echo "FAIL: $deb was not built"; exit 1; }

echo "== lintian"
out=$(lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v 'running with root privileges' || true)
echo "$out"
if echo "$out" | grep -qE '^[EW]: '; then echo "FAIL: lintian errors or warnings"; exit 1; fi

echo "== contents"
contents=$(dpkg-deb -c "$deb")
for f in usr/bin/retort usr/bin/retort-cli \
         usr/share/applications/org.retort.Retort.desktop \
         usr/share/metainfo/org.retort.Retort.metainfo.xml \
         usr/share/mime/packages/org.retort.Retort.xml \
         usr/share/icons/hicolor/scalable/apps/org.retort.Retort.svg \
         usr/share/icons/hicolor/48x48/apps/org.retort.Retort.png \
         usr/share/icons/hicolor/256x256/apps/org.retort.Retort.png \
         usr/share/man/man1/retort-cli.1.gz usr/share/man/man1/retort.1.gz \
         usr/share/doc/retort/copyright usr/share/doc/retort/changelog.gz; do
    echo "$contents" | grep -q " \./$f\$" || { echo "FAIL: $f is not in the package"; exit 1; }
done
depends=$(dpkg-deb -f "$deb" Depends)
for d in libtorch1.13 libqt6widgets6 libqcustomplot2.1-qt6 libsqlite3-0 qt6-qpa-plugins libqt6svg6; do
    echo "$depends" | grep -q "$d" || { echo "FAIL: Depends lacks $d: $depends"; exit 1; }
done
dpkg-deb -f "$deb" Recommends | grep -q libopenblas0-openmp || { echo "FAIL: Recommends"; exit 1; }

echo "== desktop entry, metainfo, man page"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
desktop-file-validate "$tmp/usr/share/applications/org.retort.Retort.desktop"
appstreamcli validate --no-net "$tmp/usr/share/metainfo/org.retort.Retort.metainfo.xml"
grep -q '^MimeType=application/x-retort-project;' "$tmp/usr/share/applications/org.retort.Retort.desktop" ||
    { echo "FAIL: the desktop entry does not open .retort projects"; exit 1; }
man -l "$tmp/usr/share/man/man1/retort-cli.1.gz" 2>/dev/null | grep -q 'export-model' ||
    { echo "FAIL: the man page does not render"; exit 1; }
"$tmp/usr/bin/retort-cli" --version | grep -q "$version" ||
    { echo "FAIL: the packaged retort-cli does not run"; exit 1; }
echo "OK: $deb"
